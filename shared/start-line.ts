/**
 * The one line a server prints on stdout once it accepts connections, written and read here only:
 *
 *   NAME listening on PROTO://HOST:PORT (key value, key value, ...)
 *
 * e.g. `game-server listening on tcp://127.0.0.1:7777 (io uring, workers 2, admin http://127.0.0.1:9100)`.
 * Launchers (the load generator, the tests, the labs) wait for it to learn where the server listens.
 */

export interface StartLine {
  /** The server's name: game-server, web-server, tcp-floor… */
  server: string;
  url: string;
  proto: string;
  /** Without the brackets of an IPv6 address. */
  host: string;
  port: number;
  /** The parenthesised `key value` pairs (a value may hold spaces: `store` → `sqlite data/game.sqlite`). */
  details: Record<string, string>;
}

/** Matches a start line anywhere in a line of output; group 1 the name, 2 the URL. */
export const START_LINE_RE = /([\w-]+) listening on ([a-z]+:\/\/(?:[\d.]+|\[[^\]]+\]|[a-z0-9.-]+):\d+)(?: \(([^)]*)\))?/i;

/** `host` as it goes in a URL (IPv6 in brackets). */
function urlHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

export function formatStartLine(
  server: string,
  proto: string,
  host: string,
  port: number,
  details: Record<string, string | number> = {},
): string {
  const pairs = Object.entries(details).map(([k, v]) => `${k} ${v}`);
  return `${server} listening on ${proto}://${urlHost(host)}:${port}${pairs.length ? ` (${pairs.join(', ')})` : ''}`;
}

/** The start line in `text` (one line or a whole output), or null. */
export function parseStartLine(text: string): StartLine | null {
  const m = START_LINE_RE.exec(text);
  if (!m) return null;
  const u = /^([a-z]+):\/\/(.+):(\d+)$/i.exec(m[2])!;
  const details: Record<string, string> = {};
  if (m[3]) {
    for (const pair of m[3].split(', ')) {
      const sp = pair.indexOf(' ');
      if (sp > 0) details[pair.slice(0, sp)] = pair.slice(sp + 1);
    }
  }
  return { server: m[1], url: m[2], proto: u[1], host: u[2].replace(/^\[|\]$/g, ''), port: Number(u[3]), details };
}
