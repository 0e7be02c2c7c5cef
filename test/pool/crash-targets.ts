// Targets for crash.test.ts (a pool worker imports them by name): tiny tasks that note in a file
// that they ran, and one among them that kills its worker.
import { appendFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** How the doomed task kills its worker; `exit-after-await` first awaits, as an async task would. */
export type Death = 'sigkill' | 'exit' | 'exit-after-await';

/**
 * What task `i` gives when it runs to the end, by `i % 8`: values of every kind a result comes
 * back as (a primitive, a string long or odd, an object of plain data, one with a shared part or
 * of a built-in class, a thrown error).
 */
export function outcomeOf(i: number): unknown {
  switch (i % 8) {
    case 0:
      return i;
    case 1:
      return `s${i}`;
    case 2:
      return { i, list: [i, 'x', null, undefined, true], nested: { deep: [{}] } };
    case 3:
      throw new RangeError(`e${i}`);
    case 4:
      return `${'long '.repeat(20)}${i} \ud800 é`;
    case 5:
      return new Map([[i, new Date(i)]]);
    case 6: {
      const shared = { i };
      return [shared, shared];
    }
    default:
      return -0;
  }
}

/** Task `doomed` kills its worker; every other appends its index to `log`, then gives `outcomeOf(i)`. */
export function noteThenMaybeDie(i: number, doomed: number, death: Death, log: string): unknown {
  if (i === doomed) {
    if (death === 'sigkill') process.kill(process.pid, 'SIGKILL');
    if (death === 'exit') process.exit(9);
    return sleep(1).then(() => process.exit(9));
  }
  appendFileSync(log, `${i}\n`);
  return outcomeOf(i);
}

/** Notes that it ran in `log`, and returns 8 MB: a result a child writes out over many turns (`size` smaller, to measure it as tiny first). */
export function bigNoted(i: number, log: string, size = 8_000_000): string {
  appendFileSync(log, `${i}\n`);
  return 'x'.repeat(size);
}
