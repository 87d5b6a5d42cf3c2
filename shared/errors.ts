/**
 * The one table of error codes. Each server maps a code onto its own wire form: the web server
 * onto an HTTP status and an application/problem+json body, the game server onto an error frame.
 * docs/errors.md documents every code; test/internals/errors.test.ts checks both ways.
 */
export const ErrorCodes = {
  INVALID: { status: 400, title: 'Invalid input' },
  UNAUTHORIZED: { status: 401, title: 'Not authenticated' },
  FORBIDDEN: { status: 403, title: 'Not allowed' },
  NOT_FOUND: { status: 404, title: 'Not found' },
  CONFLICT: { status: 409, title: 'Conflicting state' },
  INSUFFICIENT: { status: 422, title: 'Not enough gold or items' },
  INVENTORY_FULL: { status: 422, title: 'Inventory full' },
  RATE_LIMITED: { status: 429, title: 'Too many requests' },
  CHANNEL_FULL: { status: 409, title: 'Channel full' },
  SERVER_FULL: { status: 503, title: 'Server full' },
  UNKNOWN_OP: { status: 404, title: 'Unknown operation' },
  FRAME_TOO_LARGE: { status: 413, title: 'Frame too large' },
  BAD_FRAME: { status: 400, title: 'Undecodable frame' },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'Payload too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported media type' },
  SHUTTING_DOWN: { status: 503, title: 'Server shutting down' },
  WRONG_SHARD: { status: 421, title: 'Channel held by another shard' },
  SESSION_REPLACED: { status: 409, title: 'Session replaced by a newer login' },
  UNAVAILABLE: { status: 503, title: 'Store or cluster directory unavailable' },
  INTERNAL: { status: 500, title: 'Internal error' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof ErrorCodes;
export const errorCodeList = Object.keys(ErrorCodes) as ErrorCode[];

/** A rule of the domain said no. Handlers throw it; both servers turn it into their error form. */
export class DomainError extends Error {
  readonly code: ErrorCode;
  readonly details?: unknown;
  constructor(code: ErrorCode, message: string, details?: unknown) {
    super(message);
    this.name = 'DomainError';
    this.code = code;
    this.details = details;
  }
}

export function isDomainError(e: unknown): e is DomainError {
  return e instanceof DomainError;
}

export function fail(code: ErrorCode, message: string, details?: unknown): never {
  throw new DomainError(code, message, details);
}
