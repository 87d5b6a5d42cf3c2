/**
 * The REST face of the command table as Fastify routes: one per command, with no per-command code.
 * The face's rules (path params, querystring or body) are shared/commands/rest-face.ts; here the
 * command's input schema is split into params/querystring/body schemas by property name, so each
 * part is validated on its own and still refuses unknown fields.
 */
import Type, { type TSchema } from 'typebox';
import type { CommandDef } from '../../shared/commands/define.ts';
import { restFace, type RestSource } from '../../shared/commands/rest-face.ts';

export type InputPart = 'params' | 'querystring' | 'body';

export interface CommandRouteShape {
  /** Fastify URL (`/v1/me/items/:itemId/use`). */
  url: string;
  method: CommandDef['http']['method'];
  /** Where the non-path fields are read from. */
  restFrom: RestSource;
  params?: TSchema;
  querystring?: TSchema;
  body?: TSchema;
  /** Field names per part, for building the runner's input back. */
  pathFields: string[];
  restFields: string[];
}

/** Split a command's input schema along its HTTP face. Throws if the path names a field the input does not have. */
export function routeShape(def: CommandDef): CommandRouteShape {
  const input = def.input as TSchema & { type?: string; properties?: Record<string, TSchema>; additionalProperties?: unknown };
  if (input.type !== 'object') throw new Error(`${def.name}: input schema must be an object`);
  const props = input.properties ?? {};
  const face = restFace(def.http);
  const { pathFields, restFrom } = face;
  for (const f of pathFields) if (!(f in props)) throw new Error(`${def.name}: path segment {${f}} is not an input field`);
  const restFields = Object.keys(props).filter((k) => !pathFields.includes(k));
  const strict = input.additionalProperties === false;
  // Re-wrapping the same property schemas keeps their Optional marks, so `required` comes out right.
  const pick = (names: string[]) =>
    Type.Object(Object.fromEntries(names.map((n) => [n, props[n]])), strict ? { additionalProperties: false } : {});
  const shape: CommandRouteShape = {
    url: face.routeUrl,
    method: def.http.method,
    restFrom,
    pathFields,
    restFields,
  };
  if (pathFields.length) shape.params = pick(pathFields);
  shape[restFrom] = pick(restFields);
  return shape;
}

/** Rebuild the runner's input from the validated request parts. */
export function inputFrom(shape: CommandRouteShape, params: unknown, rest: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const p = (params ?? {}) as Record<string, unknown>;
  const r = (rest ?? {}) as Record<string, unknown>;
  for (const f of shape.pathFields) out[f] = p[f];
  for (const f of shape.restFields) if (r[f] !== undefined) out[f] = r[f];
  return out;
}

/** The tag a command is listed under in the OpenAPI document: the part of its name before the dot. */
export function tagOf(name: string): string {
  const i = name.indexOf('.');
  return i < 0 ? 'misc' : name.slice(0, i);
}
