// Headless Chromium for the viewer tests: the Debian package, driven by puppeteer-core, with a
// fresh profile and nothing that reaches the network.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const INSTALL = 'apt-get update && apt-get install -y chromium';

/** Why the browser tests cannot run here, or undefined when they can (with CI=true they always must). */
export function browserMissing(): string | undefined {
  if (existsSync(CHROMIUM) || process.env.CI === 'true') return undefined;
  return `Chromium is not installed at ${CHROMIUM}; install it with: ${INSTALL}`;
}

export interface Session {
  browser: Browser;
  page: Page;
  /** Console errors and uncaught page errors seen so far. */
  errors: string[];
  close(): Promise<void>;
}

export async function openBrowser(): Promise<Session> {
  const profile = mkdtempSync(join(tmpdir(), 'threadkit-chromium-'));
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: 60_000,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--user-data-dir=${profile}`,
    ],
  });
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(String((e as Error).message ?? e)));
  // The page must be self-contained: any request beyond the file itself is an error.
  await page.setRequestInterception(true);
  page.on('request', (r) => {
    if (r.url().startsWith('file:') || r.url().startsWith('data:')) return void r.continue();
    errors.push(`network request: ${r.url()}`);
    void r.abort();
  });
  return {
    browser,
    page,
    errors,
    async close() {
      const proc = browser.process();
      await browser.close().catch(() => proc?.kill('SIGKILL'));
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
