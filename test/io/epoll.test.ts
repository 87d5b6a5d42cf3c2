import { describe, expect, it } from 'vitest';
import { checkedPostTo, Op } from '../../game-server/io/completion-port.ts';
import { selectBackend } from '../../game-server/io/select-backend.ts';
import { EpollPort, postTo } from '../../game-server/io/backends/epoll/port.ts';
import { describeCompletionPort } from './completion-port.contract.ts';
import { describePortTransport } from './port-transport.contract.ts';

// epoll exists on every Linux kernel this project runs on: no probe, no skip there.
describe.runIf(process.platform === 'linux')('epoll', () => {
  describeCompletionPort('epoll', (opts) => new EpollPort(opts), {
    postToModule: new URL('../../game-server/io/backends/epoll/port.ts', import.meta.url).href,
  });
  describePortTransport('epoll', () => new EpollPort(), checkedPostTo('epoll', postTo));

  it('--io epoll selects it, and its postTo reaches its port', async () => {
    const sel = await selectBackend('epoll');
    expect(sel.backend).toBe('epoll');
    expect(sel.reason).toBe('io backend epoll (--io epoll)');
    const port = sel.createPort();
    try {
      const got = new Promise<number>((resolve) => port.start((b) => b.forEach((c) => c.op === Op.Post && resolve(c.bytes))));
      sel.postTo(port.address(), 9, 1234);
      expect(await got).toBe(1234);
    } finally {
      await port.shutdown();
    }
  });
});
