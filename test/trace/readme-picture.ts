// `npm run docs:timeline`: makes docs/bank-timeline.png, the README's picture, from a real run
// of `threadkit bank --timeline` (20 Threads), screenshotted in headless Chromium.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { openBrowser } from './browser.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'threadkit-picture-'));
try {
  const html = join(dir, 'race.html');
  execFileSync(process.execPath, [join(ROOT, 'bin/threadkit.js'), 'bank', '--threads', '20', '--timeline', html], { stdio: 'inherit', timeout: 120_000 });
  const s = await openBrowser();
  try {
    await s.page.setViewport({ width: 1100, height: 800 });
    await s.page.goto(pathToFileURL(html).href, { waitUntil: 'load' });
    mkdirSync(join(ROOT, 'docs'), { recursive: true });
    await s.page.screenshot({ path: join(ROOT, 'docs/bank-timeline.png'), fullPage: true });
    if (s.errors.length > 0) throw new Error(`the page logged errors: ${s.errors.join('; ')}`);
  } finally {
    await s.close();
  }
  console.log('Wrote docs/bank-timeline.png');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
