import { LibuvPort, postTo } from '../../game-server/io/backends/libuv/port.ts';
import { checkedPostTo } from '../../game-server/io/completion-port.ts';
import { describeCompletionPort } from './completion-port.contract.ts';
import { describePortTransport } from './port-transport.contract.ts';

describeCompletionPort('libuv', (opts) => new LibuvPort(opts), {
  postToModule: new URL('../../game-server/io/backends/libuv/port.ts', import.meta.url).href,
});

describePortTransport('libuv', () => new LibuvPort(), checkedPostTo('libuv', postTo));
