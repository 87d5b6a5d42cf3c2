import Type from 'typebox';
import { WORLD_SIZE } from '../catalog.ts';
import { fail } from '../errors.ts';
import { defineCommand } from './define.ts';

const ChannelId = Type.String({ minLength: 3, maxLength: 40, pattern: '^[a-z]+-[0-9]+$' });
const Coord = Type.Number({ minimum: 0, maximum: WORLD_SIZE });

export const channelJoin = defineCommand({
  name: 'channel.join',
  summary: 'Enter a channel (leaving the current one). Members get channel.joined. CHANNEL_FULL at capacity.',
  auth: true,
  kind: 'realtime',
  input: Type.Object({ channel: ChannelId }, { additionalProperties: false }),
  output: Type.Object({ channel: Type.String(), x: Type.Number(), y: Type.Number() }),
  http: { method: 'PUT', path: '/v1/me/channel' },
  handler(ctx, input) {
    const w = ctx.world;
    const p = w.actor();
    const old = p.channel;
    if (old === input.channel) return { channel: old, x: p.x, y: p.y };
    w.setChannel(p, input.channel);
    if (old) w.emit({ channel: old, except: p.id }, 'channel.left', { channel: old, playerId: p.id });
    w.emit({ channel: input.channel, except: p.id }, 'channel.joined', {
      channel: input.channel,
      playerId: p.id,
      name: p.name,
      x: p.x,
      y: p.y,
    });
    return { channel: input.channel, x: p.x, y: p.y };
  },
});

export const channelLeave = defineCommand({
  name: 'channel.leave',
  summary: 'Leave the current channel. Members get channel.left.',
  auth: true,
  kind: 'realtime',
  input: Type.Object({}, { additionalProperties: false }),
  output: Type.Object({ left: Type.Union([Type.String(), Type.Null()]) }),
  http: { method: 'DELETE', path: '/v1/me/channel' },
  handler(ctx) {
    const w = ctx.world;
    const p = w.actor();
    const old = p.channel;
    if (old) {
      w.setChannel(p, null);
      w.emit({ channel: old, except: p.id }, 'channel.left', { channel: old, playerId: p.id });
    }
    return { left: old };
  },
});

export const channelMove = defineCommand({
  name: 'channel.move',
  summary: 'Move within the current channel. Members get channel.moved (tag is echoed, for latency probes).',
  auth: true,
  kind: 'realtime',
  input: Type.Object({ x: Coord, y: Coord, tag: Type.Optional(Type.Number()) }, { additionalProperties: false }),
  output: Type.Object({ x: Type.Number(), y: Type.Number() }),
  http: { method: 'POST', path: '/v1/me/channel/moves' },
  handler(ctx, input) {
    const w = ctx.world;
    const p = w.actor();
    if (!p.channel) fail('CONFLICT', 'not in a channel');
    p.x = input.x;
    p.y = input.y;
    const body =
      input.tag === undefined
        ? { channel: p.channel, playerId: p.id, x: p.x, y: p.y }
        : { channel: p.channel, playerId: p.id, x: p.x, y: p.y, tag: input.tag };
    w.emit({ channel: p.channel, except: p.id }, 'channel.moved', body);
    return { x: p.x, y: p.y };
  },
});

export const channelSay = defineCommand({
  name: 'channel.say',
  summary: 'Say something to the current channel. Members get channel.said.',
  auth: true,
  kind: 'realtime',
  input: Type.Object({ text: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false }),
  output: Type.Object({ channel: Type.String() }),
  http: { method: 'POST', path: '/v1/me/channel/messages' },
  handler(ctx, input) {
    const w = ctx.world;
    const p = w.actor();
    if (!p.channel) fail('CONFLICT', 'not in a channel');
    w.emit({ channel: p.channel, except: p.id }, 'channel.said', { channel: p.channel, playerId: p.id, name: p.name, text: input.text });
    return { channel: p.channel };
  },
});

const ChannelRow = Type.Object({
  channel: Type.String(),
  place: Type.String(),
  shard: Type.Integer({ minimum: 0 }),
  addr: Type.Union([Type.String(), Type.Null()]),
  up: Type.Boolean(),
  members: Type.Integer({ minimum: 0 }),
  capacity: Type.Integer({ minimum: 0 }),
  crowded: Type.Boolean(),
  full: Type.Boolean(),
});

export const channelList = defineCommand({
  name: 'channel.list',
  summary:
    "The channel-select screen: every channel with its shard's address (host:port), members, capacity, crowded and full. " +
    'Sharded: read from the cluster directory (refreshed each shard heartbeat).',
  auth: false,
  kind: 'read',
  input: Type.Object({}, { additionalProperties: false }),
  output: Type.Object({ channels: Type.Array(ChannelRow) }),
  http: { method: 'GET', path: '/v1/channels' },
  handler(ctx) {
    return { channels: ctx.world.listChannels() };
  },
});
