/** Worker for reuse-port.test.ts: owns a LibuvPort listening with reusePort on the given port. */
import { parentPort, workerData } from 'node:worker_threads';
import { Op, Status } from '../../game-server/io/completion-port.ts';
import { LibuvPort } from '../../game-server/io/backends/libuv/port.ts';

const p = new LibuvPort();
const { device, port } = await p.listen({ host: '127.0.0.1', port: (workerData as { port: number }).port, reusePort: true }, 1);
let accepted = 0;
p.start((batch) => {
  for (const c of batch) {
    if (c.op === Op.Accept && c.status === Status.Ok) {
      accepted++;
      p.accept(device);
    }
  }
});
for (let i = 0; i < 4; i++) p.accept(device);
parentPort!.on('message', () => parentPort!.postMessage({ accepted }));
parentPort!.postMessage({ port });
