/**
 * Statistics and number formatting. Benchmarks report medians (robust to the odd slow run on a
 * shared machine) and p90 where the tail matters (start latency).
 */

export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  // Linear interpolation between closest ranks, as numpy's default.
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export const median = (values: readonly number[]): number => quantile(values, 0.5);
export const p90 = (values: readonly number[]): number => quantile(values, 0.9);

/** Milliseconds with a precision that suits the magnitude. */
export function ms(value: number): string {
  if (!Number.isFinite(value)) return '–';
  if (value >= 100) return `${value.toFixed(0)} ms`;
  if (value >= 10) return `${value.toFixed(1)} ms`;
  return `${value.toFixed(2)} ms`;
}

/** Nanoseconds, switching to µs past 10 000 ns. */
export function ns(value: number): string {
  if (!Number.isFinite(value)) return '–';
  if (value >= 10_000) return `${(value / 1000).toFixed(1)} µs`;
  if (value >= 100) return `${value.toFixed(0)} ns`;
  return `${value.toFixed(1)} ns`;
}

export function seconds(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(3)} s` : '–';
}

/** threadkit / peer: below 1× threadkit is faster (for times), above 1× it is slower. */
export function ratio(threadkit: number, peer: number): string {
  if (!Number.isFinite(threadkit) || !Number.isFinite(peer) || peer <= 0) return '–';
  const r = threadkit / peer;
  return `${r >= 10 ? r.toFixed(0) : r.toFixed(2)}×`;
}

export function mibPerSecond(bytes: number, secondsTaken: number): string {
  return Number.isFinite(secondsTaken) && secondsTaken > 0 ? `${(bytes / 2 ** 20 / secondsTaken).toFixed(0)} MiB/s` : '–';
}
