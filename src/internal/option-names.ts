/**
 * The one check that an options object holds only the names its call knows: a misspelt one
 * (`procesess`, `arg`, or Python's `maxtasksperchild`) would otherwise be ignored in silence and
 * its default used. Used by `Process`/`Thread` (runnable.ts) and every pool and executor.
 */
import { InvalidArgumentError } from '../errors.ts';

/** Throws `InvalidArgumentError` for the first name of `options` not in `known`, with a close known name when there is one. */
export function refuseUnknownOptions(options: object, known: readonly string[], what: string, hint?: Readonly<Record<string, string>>): void {
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const near = known.find((k) => k.toLowerCase() === key.toLowerCase().replaceAll('_', '') || editDistance(k.toLowerCase(), key.toLowerCase()) <= 2);
    const fix = hint?.[key] ?? (near ? `did you mean \`${near}\`?` : undefined);
    throw new InvalidArgumentError(`${what}: unknown option \`${key}\`${fix ? `; ${fix}` : ''} (its options: ${known.join(', ')})`);
  }
}

/** Levenshtein distance, for "did you mean": short strings only. */
function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length]!;
}
