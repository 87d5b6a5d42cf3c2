/** A small keep-alive JSON client on node:http that counts the bytes of every socket it opens. */
import http from 'node:http';
import net, { type Socket } from 'node:net';
import type { Op } from '../workloads/scenario.ts';
import { httpRequestFor } from './wire.ts';

class CountingAgent extends http.Agent {
  readonly opened: Socket[] = [];
  constructor() {
    super({ keepAlive: true, maxSockets: Infinity });
  }
}
// createConnection is part of the Agent contract but not in the typings.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
(CountingAgent.prototype as any).createConnection = function (this: CountingAgent, opts: net.NetConnectOpts, cb?: () => void) {
  const s = net.createConnection(opts, cb);
  s.setNoDelay(true);
  this.opened.push(s);
  return s;
};

export class HttpJsonClient {
  private readonly agent = new CountingAgent();
  requests = 0;
  constructor(
    readonly host: string,
    readonly port: number,
  ) {}

  request(method: string, path: string, token?: string, body?: unknown, timeoutMs = 60_000): Promise<{ status: number; text: string }> {
    return this.send(method, path, token, body === undefined ? undefined : JSON.stringify(body), timeoutMs);
  }

  /** A command of the table, on its REST route (method and path from the table, as the web server serves it). */
  command(name: string, input: object, token?: string): Promise<{ status: number; text: string }> {
    const spec = httpRequestFor({ name, input } as Op);
    return this.send(spec.method, spec.path, token, spec.body);
  }

  private send(
    method: string,
    path: string,
    token: string | undefined,
    payload: string | undefined,
    timeoutMs = 60_000,
  ): Promise<{ status: number; text: string }> {
    this.requests++;
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = {};
      if (token) headers.authorization = `Bearer ${token}`;
      if (payload !== undefined) headers['content-type'] = 'application/json';
      const req = http.request({ host: this.host, port: this.port, method, path, headers, agent: this.agent }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      });
      req.setTimeout(timeoutMs, () => req.destroy(new Error('request timed out')));
      req.on('error', reject);
      req.end(payload);
    });
  }

  bytes(): { read: number; written: number } {
    let read = 0;
    let written = 0;
    for (const s of this.agent.opened) {
      read += s.bytesRead;
      written += s.bytesWritten;
    }
    return { read, written };
  }

  close(): void {
    this.agent.destroy();
  }
}
