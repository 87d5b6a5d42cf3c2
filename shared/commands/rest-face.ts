/**
 * The rules of the command table's REST face, written once for the web server (which builds routes
 * from them) and for the load generator (which builds requests from them):
 *  - `{param}` segments of a command's `http.path` are input fields taken from the path;
 *  - the other input fields travel in the querystring for GET and DELETE, in a JSON body otherwise.
 * Also the event feed's route, which is not a command but every HTTP client polls it.
 */
import type { CommandDef } from './define.ts';

/** The event feed (HTTP cannot push): `GET EVENTS_PATH?after=<cursor>&waitMs=<n>&limit=<n>`. */
export const EVENTS_PATH = '/v1/me/events';
/** Its operation name (metrics label and OpenAPI operationId). */
export const EVENTS_OPERATION = 'events.poll';
/** Largest `limit` a poll may ask for (events per answer). */
export const EVENTS_MAX_LIMIT = 500;
/** The `limit` when a poll does not give one. */
export const EVENTS_DEFAULT_LIMIT = 100;

export type RestSource = 'querystring' | 'body';
export type PathSegment = string | { param: string };

export interface RestFace {
  method: CommandDef['http']['method'];
  /** The path as written in the table (`/v1/me/items/{itemId}/use`). */
  path: string;
  /** The path with Fastify's `:param` syntax (`/v1/me/items/:itemId/use`). */
  routeUrl: string;
  /** Literal text and `{param}`s in order, for filling the path from an input. */
  segments: PathSegment[];
  /** Input fields taken from the path, in path order. */
  pathFields: string[];
  /** Where the remaining input fields travel. */
  restFrom: RestSource;
}

const PARAM = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** GET and DELETE carry no body: their non-path fields are in the querystring. */
export function restSourceOf(method: string): RestSource {
  return method === 'GET' || method === 'DELETE' ? 'querystring' : 'body';
}

export function restFace(http: CommandDef['http']): RestFace {
  const segments: PathSegment[] = [];
  const pathFields: string[] = [];
  let last = 0;
  for (const m of http.path.matchAll(PARAM)) {
    if (m.index > last) segments.push(http.path.slice(last, m.index));
    segments.push({ param: m[1] });
    pathFields.push(m[1]);
    last = m.index + m[0].length;
  }
  if (last < http.path.length) segments.push(http.path.slice(last));
  return {
    method: http.method,
    path: http.path,
    routeUrl: http.path.replace(PARAM, ':$1'),
    segments,
    pathFields,
    restFrom: restSourceOf(http.method),
  };
}

/** The concrete path for an input (path fields URI-encoded). */
export function fillPath(face: RestFace, input: Record<string, unknown>): string {
  let path = '';
  for (const s of face.segments) path += typeof s === 'string' ? s : encodeURIComponent(String(input[s.param]));
  return path;
}
