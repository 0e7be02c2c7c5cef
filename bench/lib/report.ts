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

  /**
   * Runs one case under a time limit; if it throws or runs past the limit, the section says so
   * (with what the case was doing) and the suite goes on with the next.
   */
  async attempt(what: string, body: (step: Step) => Promise<void>, limitMs = CASE_LIMIT_MS): Promise<void> {
    try {
      await withTimeLimit(what, limitMs, body);
    } catch (err) {
      this.skip(what, `failed: ${(err as Error)?.message ?? String(err)}`);
    }
  }

  /**
   * Closes a peer (a pool's `destroy()`, a worker's `terminate()`) under a time limit. One that
   * does not close is reported and left behind: the suite goes on, and `finish()` ends the
   * program whatever is still running.
   */
  async cleanup(what: string, close: () => Promise<unknown> | unknown, limitMs = CLEANUP_LIMIT_MS): Promise<void> {
    try {
      await withTimeLimit(`closing ${what}`, limitMs, async () => void (await close()));
    } catch (err) {
      this.add(`> **Cleanup failed:** ${(err as Error)?.message ?? String(err)} (left running until the suite ends)`);
    }
  }

  toString(): string {
    return this.#parts.join('\n\n') + '\n';
  }

  /** Writes the section to stdout; the suite's last act. */
  print(): void {
    process.stdout.write(this.toString());
  }

  /**
   * Prints the section and ends the program, even if a peer left a worker, a child or a timer
   * running (a pool that did not close must not keep the suite from ending).
   */
  finish(): never {
    this.print();
    process.exit(0);
  }
}

/** The default time limit of one case of a suite (`attempt`), and of closing one peer. */
export const CASE_LIMIT_MS = 5 * 60_000;
export const CLEANUP_LIMIT_MS = 10_000;

/** What a step is doing now, so that a step past its time limit can say where it stopped. */
export interface Step {
  doing(what: string): void;
}

/** A step that ran past its time limit. */
export class StepTimeoutError extends Error {
  override name = 'StepTimeoutError';
}

/**
 * Runs `body` and settles within `limitMs`: with its result, or with a StepTimeoutError that
 * names the step and what it was doing. The body is not stopped (a promise cannot be); the
 * caller reports it and cleans up. The timer is ref'd on purpose: a peer whose promise never
 * settles while nothing else keeps the loop alive must still end in an error, not in an exit.
 */
export async function withTimeLimit<T>(what: string, limitMs: number, body: (step: Step) => Promise<T>): Promise<T> {
  let doing = 'starting';
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t0 = performance.now();
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new StepTimeoutError(
            `${what}: no result within ${(limitMs / 1000).toFixed(limitMs < 10_000 ? 1 : 0)} s (it was ${doing}, ${((performance.now() - t0) / 1000).toFixed(1)} s in)`,
          ),
        ),
      limitMs,
    );
  });
  try {
    return await Promise.race([body({ doing: (now) => void (doing = now) }), expired]);
  } finally {
    clearTimeout(timer);
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
