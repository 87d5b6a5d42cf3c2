/**
 * Figures over interleaved rounds: the median and the spread (min–max) of each, and the test a
 * reader needs before trusting a ratio: is its spread larger than its effect?
 */
export interface Spread {
  median: number;
  min: number;
  max: number;
  /** Rounds that gave a value. */
  n: number;
}

export function spreadOf(values: (number | null | undefined)[]): Spread | null {
  const v = values.filter((x): x is number => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  const mid = v.length >> 1;
  const median = v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
  return { median, min: v[0], max: v[v.length - 1], n: v.length };
}

/**
 * A ratio's effect is its distance from 1; its noise is the width of its min–max over rounds. When
 * the noise is wider than the effect, the rounds do not agree on even the direction of the ratio.
 */
export function noisy(r: Spread | null): boolean {
  if (!r || r.n < 2) return false;
  return r.max - r.min > Math.abs(r.median - 1);
}

/** Index of the round whose value is the median (the lower one for an even count). */
export function medianIndex(values: number[]): number {
  const order = values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  return order[(order.length - 1) >> 1]?.[1] ?? 0;
}

export const fmtSpread = (s: Spread | null, f: (n: number) => string): string =>
  !s ? '-' : s.n < 2 || s.min === s.max ? f(s.median) : `${f(s.median)} (${f(s.min)}–${f(s.max)})`;
