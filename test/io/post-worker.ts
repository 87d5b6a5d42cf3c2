/**
 * Worker for the cross-thread post case: loads a backend's `postTo` and posts `count` numbered
 * packets to the given port address, then reports done.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { PortAddress, PostTo } from '../../game-server/io/completion-port.ts';

const { module, exportName, address, count, key } = workerData as {
  module: string;
  exportName: string;
  address: PortAddress;
  count: number;
  key: number;
};
const mod = (await import(module)) as Record<string, unknown>;
const postTo = mod[exportName] as PostTo;
for (let i = 0; i < count; i++) postTo(address, key, i, { seq: i, from: 'worker', text: `packet ${i}` });
parentPort!.postMessage('done');
