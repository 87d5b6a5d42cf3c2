/**
 * The subset of vitest's API the I/O contracts use, on Windows node without vitest: describe / it /
 * hooks come from node:test, `expect` is vitest's own (@vitest/expect on chai), bundled by esbuild
 * (scripts/wine/build-tests.mjs aliases 'vitest' to this file).
 *
 * Stricter than vitest on purpose: a test that makes no expect() call fails ("asserts nothing"),
 * and skip / todo / only are refused (the Wine run must never silently skip).
 */
import * as nodeTest from 'node:test';
import * as chai from 'chai';
import {
  JestAsymmetricMatchers, JestChaiExpect, JestExtend, ASYMMETRIC_MATCHERS_OBJECT, GLOBAL_EXPECT, customMatchers, getState,
  setState,
} from '@vitest/expect';

chai.use(JestExtend);
chai.use(JestChaiExpect);
chai.use(JestAsymmetricMatchers);

const TEST_TIMEOUT_MS = Number(process.env.WINE_TEST_TIMEOUT_MS ?? 60_000);
let assertions = 0;

type ExpectFn = ((value: unknown, message?: string) => Chai.Assertion) & Record<string, unknown>;
const expectImpl = ((value: unknown, message?: string) => {
  assertions++;
  return chai.expect(value, message);
}) as ExpectFn;
Object.assign(expectImpl, chai.expect);
Object.assign(expectImpl, (globalThis as Record<symbol, unknown>)[ASYMMETRIC_MATCHERS_OBJECT as unknown as symbol]);
(globalThis as Record<symbol, unknown>)[GLOBAL_EXPECT as unknown as symbol] = expectImpl;
setState({ assertionCalls: 0, isExpectingAssertions: false, expectedAssertionsNumber: null, currentTestName: '' }, expectImpl as never);
expectImpl.getState = () => getState(expectImpl as never);
expectImpl.setState = (s: object) => setState(s, expectImpl as never);
expectImpl.extend = (m: object) => (chai.expect as unknown as { extend: (e: unknown, m: object) => void }).extend(expectImpl, m);
(expectImpl.extend as (m: object) => void)(customMatchers);
export const expect = expectImpl as unknown as typeof import('vitest').expect;

type Fn = () => unknown;

function wrap(name: string, fn: Fn): () => Promise<void> {
  return async () => {
    const before = assertions;
    await fn();
    if (assertions === before) throw new Error(`test "${name}" made no assertion (a test that asserts nothing is a defect)`);
  };
}

function refuse(what: string): never {
  throw new Error(`vitest-shim: ${what} is refused under Wine (tests must run, never be skipped)`);
}

interface ItFn {
  (name: string, fn: Fn, timeout?: number): void;
  skip: (...a: unknown[]) => never;
  only: (...a: unknown[]) => never;
  todo: (...a: unknown[]) => never;
  skipIf: (...a: unknown[]) => never;
  runIf: (...a: unknown[]) => never;
}

const itImpl = ((name: string, fn: Fn, timeout?: number) => {
  void nodeTest.it(name, { timeout: timeout ?? TEST_TIMEOUT_MS }, wrap(name, fn));
}) as ItFn;
itImpl.skip = () => refuse('it.skip');
itImpl.only = () => refuse('it.only');
itImpl.todo = () => refuse('it.todo');
itImpl.skipIf = () => refuse('it.skipIf');
itImpl.runIf = () => refuse('it.runIf');
export const it = itImpl;
export const test = itImpl;

interface DescribeFn {
  (name: string, fn: () => void): void;
  skip: (...a: unknown[]) => never;
  only: (...a: unknown[]) => never;
}
const describeImpl = ((name: string, fn: () => void) => {
  void nodeTest.describe(name, fn);
}) as DescribeFn;
describeImpl.skip = () => refuse('describe.skip');
describeImpl.only = () => refuse('describe.only');
export const describe = describeImpl;

const hook = (fn: Fn) => async (): Promise<void> => void (await fn());
export const beforeEach = (fn: Fn, timeout?: number) => nodeTest.beforeEach(hook(fn), { timeout: timeout ?? TEST_TIMEOUT_MS });
export const afterEach = (fn: Fn, timeout?: number) => nodeTest.afterEach(hook(fn), { timeout: timeout ?? TEST_TIMEOUT_MS });
export const beforeAll = (fn: Fn, timeout?: number) => nodeTest.before(hook(fn), { timeout: timeout ?? TEST_TIMEOUT_MS });
export const afterAll = (fn: Fn, timeout?: number) => nodeTest.after(hook(fn), { timeout: timeout ?? TEST_TIMEOUT_MS });

/** Any other vitest export the contracts start using fails the bundle loudly at run time. */
export const vi = new Proxy({}, { get: (_t, p) => refuse(`vi.${String(p)}`) });
