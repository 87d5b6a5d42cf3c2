import { describe, it } from 'vitest';
import { UringPort, postTo, probeUring } from '../../game-server/io/backends/uring/port.ts';
import { checkedPostTo } from '../../game-server/io/completion-port.ts';
import { describeCompletionPort } from './completion-port.contract.ts';
import { describePortTransport } from './port-transport.contract.ts';

// io_uring runs in CI directly (Linux). Where the kernel forbids it, the skip says why.
let reason = '';
try {
  probeUring();
} catch (err) {
  reason = (err as Error).message;
}

// In CI the suite must run: a kernel that refuses io_uring there is a failure to look at, not a skip.
if (reason !== '' && process.env.CI) {
  it('io_uring is available in CI', () => {
    throw new Error(`io_uring_setup failed in CI: ${reason}`);
  });
}

describe.skipIf(reason !== '')(`uring${reason ? ` (skipped: ${reason})` : ''}`, () => {
  describeCompletionPort('uring', (opts) => new UringPort(opts), {
    postToModule: new URL('../../game-server/io/backends/uring/port.ts', import.meta.url).href,
  });
  describePortTransport('uring', () => new UringPort(), checkedPostTo('uring', postTo));
});
