/**
 * RLIMIT_NOFILE of this process, read and raised through libc (koffi): 20,000 sessions need more
 * descriptors than a default `ulimit -n` of 1024. Children (the servers) inherit the raised limit.
 */
import koffi from 'koffi';

const RLIMIT_NOFILE = 7;
let fns: { get: (r: number, out: unknown) => number; set: (r: number, v: unknown) => number; rlimit: unknown } | null = null;

function libc() {
  if (!fns) {
    const lib = koffi.load('libc.so.6');
    const rlimit = koffi.struct('lg_rlimit', { cur: 'uint64', max: 'uint64' });
    fns = {
      rlimit,
      get: lib.func('int getrlimit(int, _Out_ lg_rlimit *)') as (r: number, out: unknown) => number,
      set: lib.func('int setrlimit(int, const lg_rlimit *)') as (r: number, v: unknown) => number,
    };
  }
  return fns;
}

export function getNofile(): { soft: number; hard: number } {
  const out = { cur: 0, max: 0 };
  if (libc().get(RLIMIT_NOFILE, out) !== 0) throw new Error('getrlimit failed');
  return { soft: Number(out.cur), hard: Number(out.max) };
}

/**
 * Raise the soft limit to at least `want` (and the hard limit too when allowed: root). Returns the
 * limits before and after; never throws (a refusal leaves the limits as they were).
 */
export function raiseNofile(want: number): { before: { soft: number; hard: number }; after: { soft: number; hard: number }; note: string } {
  const before = getNofile();
  let note = '';
  if (before.soft < want) {
    const hard = Math.max(before.hard, want);
    if (libc().set(RLIMIT_NOFILE, { cur: want, max: hard }) !== 0) {
      // Not root: only up to the hard limit.
      if (libc().set(RLIMIT_NOFILE, { cur: Math.min(want, before.hard), max: before.hard }) !== 0) note = 'setrlimit refused';
      else note = `raised only to the hard limit ${before.hard}`;
    }
  }
  return { before, after: getNofile(), note };
}
