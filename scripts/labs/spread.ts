/** Median and spread of one figure over rounds (nulls left out). */
export interface Spread {
  n: number;
  median: number | null;
  min: number | null;
  max: number | null;
  sum: number;
  values: (number | null)[];
}

export function spread(values: (number | null | undefined)[]): Spread {
  const v = values.map((x) => (x === undefined || x === null || !Number.isFinite(x) ? null : x));
  const s = v.filter((x): x is number => x !== null).sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length === 0 ? null : s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return { n: s.length, median, min: s[0] ?? null, max: s[s.length - 1] ?? null, sum: s.reduce((a, b) => a + b, 0), values: v };
}
