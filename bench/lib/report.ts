/**
 * What every suite shares: its options (`--quick`), progress on stderr, and its result as a
 * markdown section on stdout (run.ts collects those into one report and RESULTS.md).
 */
import { setTimeout as sleepMs } from 'node:timers/promises';

export interface SuiteOptions {
  /** A fast smoke run: fewer repetitions, smaller sizes. */
  quick: boolean;
  /** Extra `--name=value` flags, for suite-specific knobs. */
  flags: Map<string, string>;
}

export function parseOptions(argv = process.argv.slice(2)): SuiteOptions {
  const flags = new Map<string, string>();
  for (const arg of argv) {
    const m = /^--([^=]+)(?:=(.*))?$/.exec(arg);
    if (m) flags.set(m[1]!, m[2] ?? 'true');
  }
  return { quick: flags.has('quick'), flags };
}

export const sleep = (msValue: number): Promise<unknown> => sleepMs(msValue);

/** Progress for the person waiting; stderr, so stdout stays clean markdown. */
export function progress(message: string): void {
  process.stderr.write(`  · ${message}\n`);
}

/** A markdown table; every row must have as many cells as `head`. */
export function table(head: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  const rule = head.map((_, i) => (i === 0 ? '---' : '---:'));
  return [line(head), line(rule), ...rows.map(line)].join('\n');
}

/** Builds one suite's markdown section. */
export class Section {
  readonly #parts: string[] = [];

  constructor(title: string, intro: string) {
    this.#parts.push(`## ${title}`, intro);
  }

  add(text: string): this {
    this.#parts.push(text);
    return this;
  }

  table(head: readonly string[], rows: ReadonlyArray<readonly string[]>): this {
    return this.add(table(head, rows));
  }

  /** A peer or case that could not run, with the reason, so a missing number is never silent. */
  skip(what: string, why: string): this {
    return this.add(`> **Skipped:** ${what}: ${why}`);
  }

  /** Runs one case; if it throws, the section says so and the suite goes on with the next. */
  async attempt(what: string, body: () => Promise<void>): Promise<void> {
    try {
      await body();
    } catch (err) {
      this.skip(what, `failed: ${(err as Error)?.message ?? String(err)}`);
    }
  }

  toString(): string {
    return this.#parts.join('\n\n') + '\n';
  }

  /** Writes the section to stdout; the suite's last act. */
  print(): void {
    process.stdout.write(this.toString());
  }
}

/** Median-friendly repetition: `warmup` untimed calls, then `reps` timed ones (ms each). */
export async function repeat(reps: number, warmup: number, fn: () => Promise<unknown> | unknown): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const out: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
  }
  return out;
}
