import { LibuvPort } from '../../game-server/io/backends/libuv/port.ts';
import { describeCompletionPort } from './completion-port.contract.ts';

describeCompletionPort('libuv', (opts) => new LibuvPort(opts), {
  postToModule: new URL('../../game-server/io/backends/libuv/port.ts', import.meta.url).href,
});
