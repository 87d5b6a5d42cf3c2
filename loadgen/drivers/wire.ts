/**
 * How one scenario operation looks on each wire, and how each wire's answer becomes an OpOutcome.
 * HTTP: the command table's REST face (shared/commands/rest-face.ts). TCP: `{id, op, body}` frames.
 */
import { CLIENT_ERROR_CODES } from '../../game-server/client/client.ts';
import { commandDefs } from '../../shared/commands/table.ts';
import { fillPath, restFace, type RestFace } from '../../shared/commands/rest-face.ts';
import { ErrorCodes } from '../../shared/errors.ts';
import type { Op, OpOutcome } from '../workloads/scenario.ts';

const routes = new Map<string, RestFace>();
for (const [name, def] of Object.entries(commandDefs)) routes.set(name, restFace(def.http));

export interface HttpRequestSpec {
  method: string;
  path: string;
  /** JSON body (POST and PUT with fields besides the path's). */
  body?: string;
}

export function httpRequestFor(op: Op): HttpRequestSpec {
  const r = routes.get(op.name);
  if (!r) throw new Error(`no route for ${op.name}`);
  const input = op.input as Record<string, unknown>;
  let path = fillPath(r, input);
  const rest: Record<string, unknown> = {};
  let n = 0;
  for (const k in input) {
    if (r.pathFields.includes(k)) continue;
    rest[k] = input[k];
    n++;
  }
  if (r.restFrom === 'querystring') {
    if (n) path += '?' + new URLSearchParams(Object.entries(rest).map(([k, v]) => [k, String(v)])).toString();
    return { method: r.method, path };
  }
  // A POST with nothing left to send may omit the body.
  return n ? { method: r.method, path, body: JSON.stringify(rest) } : { method: r.method, path };
}

const NOT_DOMAIN = [
  'INTERNAL', 'SHUTTING_DOWN', 'UNAVAILABLE', 'BAD_FRAME', 'FRAME_TOO_LARGE', 'UNKNOWN_OP', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE',
];
const DOMAIN_CODES = new Set(Object.keys(ErrorCodes).filter((c) => !NOT_DOMAIN.includes(c)));
const CODE_BY_STATUS = new Map<number, string>();
for (const [code, e] of Object.entries(ErrorCodes)) if (!CODE_BY_STATUS.has(e.status)) CODE_BY_STATUS.set(e.status, code);

/** A domain rule said no (counted apart from server and transport failures). */
export function isDomainCode(code: string): boolean {
  return DOMAIN_CODES.has(code);
}

/** Classify an HTTP response. */
export function httpOutcome(status: number, bodyText: string): OpOutcome {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a JSON body of any command, read field by field below
  let body: any;
  try {
    body = bodyText.length ? JSON.parse(bodyText) : undefined;
  } catch {
    return { ok: false, code: `HTTP_${status}`, kind: 'server', message: `undecodable body: ${bodyText.slice(0, 80)}` };
  }
  if (status >= 200 && status < 300) return { ok: true, body };
  const code: string = typeof body?.code === 'string' ? body.code : (CODE_BY_STATUS.get(status) ?? `HTTP_${status}`);
  const kind = status >= 500 || !isDomainCode(code) ? 'server' : 'domain';
  return { ok: false, code, kind, message: body?.detail ?? body?.message, details: body?.details ?? body };
}

/** Classify a TCP response frame `{id, ok, body | error}`. */
export function tcpOutcome(frame: unknown): OpOutcome {
  const f = frame as { ok?: unknown; body?: unknown; error?: string | { code?: unknown; message?: string; details?: unknown } } | null;
  if (f && f.ok === true) return { ok: true, body: f.body };
  const err = f?.error;
  const raw = typeof err === 'string' ? err : typeof err?.code === 'string' ? err.code : 'BAD_RESPONSE';
  // The client library's own codes (connection lost, no answer in time) are transport failures.
  const code = CLIENT_ERROR_CODES.has(raw) ? 'TRANSPORT' : raw;
  const kind = code === 'TRANSPORT' ? 'transport' : isDomainCode(code) ? 'domain' : 'server';
  return typeof err === 'string' ? { ok: false, code, kind } : { ok: false, code, kind, message: err?.message, details: err?.details };
}
