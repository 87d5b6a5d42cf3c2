/**
 * The I/O-core conformance suites against the real IOCP backend, for Windows node (under Wine here).
 * Bundled by scripts/wine/build-tests.mjs (vitest → ./vitest-shim.ts) and run by scripts/wine/run-tests.ts.
 * Not a vitest file (it cannot run on Linux): it is named *.wine.ts so vitest's include skips it.
 */
import { describe } from 'vitest';
import { IocpPort, MAX_CONCURRENCY, postTo } from '../../game-server/io/backends/iocp/port.ts';
import { checkedPostTo } from '../../game-server/io/completion-port.ts';
import { describeCompletionPort } from '../io/completion-port.contract.ts';
import { describePortTransport } from '../io/port-transport.contract.ts';
import { describeIocpSpecific } from './iocp-specific.ts';
import './waiters.wine.ts';
import './iocp-lab.wine.ts';

if (process.platform !== 'win32') throw new Error('iocp.wine.ts runs under Windows node only (scripts/wine/run-tests.ts)');

// Both completion paths: with FILE_SKIP_COMPLETION_PORT_ON_SUCCESS (the default: an operation that
// succeeds at once is reported without a packet) and without it (every completion through the queue).
// Both receive paths: zero-byte recvs reading into the port's arena (the default) and a buffer per recv.
function contracts(skipOnSuccess: boolean, zeroByteRecv = true): void {
  describeCompletionPort('iocp', (opts) => new IocpPort({ ...opts, skipOnSuccess, zeroByteRecv }), {
    // The backend bundled on its own next to this bundle (a worker thread imports it to post).
    postToModule: new URL('./iocp-port.mjs', import.meta.url).href,
    maxConcurrency: MAX_CONCURRENCY,
  });
  describePortTransport('iocp', () => new IocpPort({ skipOnSuccess, zeroByteRecv }), checkedPostTo('iocp', postTo));
}
describe('iocp, skip-on-success (default)', () => contracts(true));
describe('iocp, every completion through the queue (skipOnSuccess: false)', () => contracts(false));
describe('iocp, a buffer per pending recv (zeroByteRecv: false)', () => contracts(true, false));

describeIocpSpecific();
