/**
 * Events commands emit for players other than (or as well as) the caller. The game server pushes
 * them as `{ ev, body }` frames; the web server stores them for the event feed.
 */
import Type, { type Static, type TSchema } from 'typebox';

const Id = Type.Integer();

export const EventSchemas = {
  'item.received': Type.Object({ from: Id, fromName: Type.String(), item: Type.String(), qty: Type.Integer() }),
  'quest.progressed': Type.Object({ questId: Type.String(), progress: Type.Array(Type.Integer()), done: Type.Boolean() }),
  'channel.joined': Type.Object({ channel: Type.String(), playerId: Id, name: Type.String(), x: Type.Number(), y: Type.Number() }),
  'channel.left': Type.Object({ channel: Type.String(), playerId: Id }),
  'channel.moved': Type.Object({
    channel: Type.String(),
    playerId: Id,
    x: Type.Number(),
    y: Type.Number(),
    /** Echo of the mover's optional tag (the load generator puts a send timestamp there). */
    tag: Type.Optional(Type.Number()),
  }),
  'channel.said': Type.Object({ channel: Type.String(), playerId: Id, name: Type.String(), text: Type.String() }),
} as const satisfies Record<string, TSchema>;

export type EventName = keyof typeof EventSchemas;
export type EventBody<N extends EventName> = Static<(typeof EventSchemas)[N]>;

/** Events that can be dropped for a slow reader without breaking its view (the next one supersedes). */
export const DROPPABLE_EVENTS: ReadonlySet<string> = new Set(['channel.moved']);

export type EventTarget = { player: number } | { channel: string; except?: number };

export interface DomainEvent {
  target: EventTarget;
  name: EventName;
  body: unknown;
}
