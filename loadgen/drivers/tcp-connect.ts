/**
 * How the load generator opens game connections with the one client library: no keepalive pings and
 * no request timers (the drivers pace and count every request themselves), and setup failures worded
 * with their error code so a refusal (SERVER_FULL) shows as such in the report.
 */
import { GameClient, GameError } from '../../game-server/client/client.ts';

export function connectLoadClient(host: string, port: number, timeoutMs = 10_000): Promise<GameClient> {
  return GameClient.connect({ host, port, keepalive: false, maxFrameBytes: 1 << 20, connectTimeoutMs: timeoutMs });
}

/** player.login that throws on refusal. */
export async function loadLogin(conn: GameClient, name: string, password: string): Promise<void> {
  try {
    await conn.call('player.login', { name, password });
  } catch (e) {
    throw new Error(`login ${name}: ${failureText(e)}`);
  }
}

export function failureText(e: unknown): string {
  return e instanceof GameError ? `${e.code}: ${e.message}` : (e as Error).message;
}
