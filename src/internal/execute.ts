/**
 * The worker's half of a run: import what the plan names, rebuild the arguments, and hand back
 * a call that starts the target. Shared by thread carriers and child processes.
 */
import { decodeAsync } from './codec.ts';
import type { RunPlan } from './run-messages.ts';
import { loadTarget } from './target.ts';

/** Resolves to a function that starts the run and returns what the target returned (maybe a promise). */
export async function prepare(plan: RunPlan): Promise<() => unknown> {
  switch (plan.kind) {
    case 'none':
      return () => undefined;
    case 'function': {
      const fn = await loadTarget(plan.ref!);
      const args = (await decodeAsync(plan.payload)) as unknown[];
      return () => fn(...args);
    }
    case 'instance': {
      const cls = await loadTarget(plan.ref!);
      const fields = (await decodeAsync(plan.payload)) as Record<string, unknown>;
      const self = Object.assign(Object.create(cls.prototype as object) as { run(): unknown }, fields);
      // The rebuilt object never ran its constructor, so the base class's own state is absent:
      // give it the run's name and daemon flag, which `run()` code commonly reads.
      Object.defineProperties(self, {
        name: { value: plan.name, enumerable: false },
        daemon: { value: plan.daemon, enumerable: false },
      });
      return () => self.run();
    }
  }
}

/** How Python reports an uncaught error in a thread or process: a header line, then the traceback. */
export function formatUncaught(header: string, err: unknown): string {
  const text = err instanceof Error ? (err.stack ?? `${err.name}: ${err.message}`) : String(err);
  return `${header}\n${text}\n`;
}

/** Process flags that must not pass to a worker or child: they would rerun a test, a REPL or a debugger port. */
export function childExecArgv(execArgv: readonly string[]): string[] {
  const dropped = /^--(test|watch|inspect|eval|print|input-type|interactive|check|prof)/;
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i]!;
    if (arg === '-e' || arg === '-p' || arg === '-r' || arg === '-i' || arg === '-c') {
      if (arg === '-e' || arg === '-p' || arg === '-r') i++;
      continue;
    }
    if (dropped.test(arg)) continue;
    out.push(arg);
  }
  return out;
}
