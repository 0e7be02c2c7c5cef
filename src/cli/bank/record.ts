/**
 * Records the bank's runs in a trace and writes their timeline page (see timeline.ts). The
 * trace goes to a temporary file beside the page and is removed once drawn.
 */
import { readFileSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { trace, type TraceFile } from 'threadkit';
import { renderTimeline } from '../trace/timeline.ts';
import { writeWhole } from '../trace/command.ts';
import { bankTimeline } from './timeline.ts';
import type { BankRun } from './simulate.ts';

/** Runs `runs` traced and writes the page to `htmlPath`; returns the page's absolute path. */
export async function writeTimeline(htmlPath: string, runs: () => Promise<BankRun[]>): Promise<string> {
  const page = resolve(htmlPath);
  const tracePath = `${page}.${process.pid}.trace.json`;
  trace.start({ path: tracePath });
  let results: BankRun[];
  try {
    results = await runs();
  } finally {
    await trace.stop();
  }
  try {
    const recorded = JSON.parse(readFileSync(tracePath, 'utf8')) as TraceFile;
    writeWhole(page, renderTimeline(bankTimeline(recorded, results)));
  } finally {
    rmSync(tracePath, { force: true });
  }
  return page;
}
