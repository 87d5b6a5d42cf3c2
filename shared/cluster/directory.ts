/**
 * The cluster directory in Redis: which shards are alive and what they hold (the channel-select
 * screen reads it), and which shard holds each online player, with an epoch as a fencing token.
 *
 * Keys (all under one prefix, so tests and labs use their own):
 *   <p>:lease:<shard>    the shard's incarnation id, PX = lease; refreshed by the shard's heartbeat
 *   <p>:shard:<shard>    JSON ShardInfo (address, per-channel member counts), rewritten each heartbeat,
 *                        PX = INFO_TTL_LEASES leases (a killed shard's info goes away by itself)
 *   <p>:player:<id>      "<shard>:<incarnation>:<epoch>": the player's owner
 *   <p>:epoch:<id>       the player's epoch counter (only ever grows)
 *
 * A player entry is live only while its shard's lease still names the same incarnation: a shard
 * that dies (kill -9) stops refreshing one key, and within the lease all of its players' entries
 * read as absent; a restarted shard has a new incarnation, so the old entries are dead at once.
 * No per-player heartbeat is needed, which is what lets a shard hold tens of thousands of idle
 * players for one Redis write per heartbeat.
 *
 * Every write that could undo a newer owner is a compare in Lua: claim always takes a new, larger
 * epoch; release deletes only the caller's own entry; reassert (after a lost lease or a Redis
 * restart) puts an entry back only when nobody newer holds the player.
 */
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';

/**
 * The shard info key outlives the lease by this factor: long enough that a shard killed a moment ago
 * is still listed (down, with its last address) on the channel-select screen, short enough that a
 * shard that never comes back (a test killed mid-run, a cluster shrunk to fewer shards) leaves no
 * key behind for ever. Whether a shard is up is decided by its lease, never by this key.
 */
export const INFO_TTL_LEASES = 12;

export interface ShardInfo {
  shard: number;
  incarnation: string;
  /** host:port of the shard's game port. */
  addr: string;
  capacity: number;
  /** Members per owned channel. */
  channels: Record<string, number>;
  players: number;
  at: number;
}

export interface Owner {
  shard: number;
  incarnation: string;
  epoch: number;
}

export interface ClaimResult {
  epoch: number;
  /** The entry the claim replaced, when it was still live (its shard holds a session to kick). */
  previous: Owner | null;
}

const parseOwner = (v: string | null | undefined): Owner | null => {
  if (!v) return null;
  const m = /^(\d+):([^:]+):(\d+)$/.exec(v);
  return m ? { shard: Number(m[1]), incarnation: m[2], epoch: Number(m[3]) } : null;
};

// KEYS: entry, epoch counter. ARGV: shard, incarnation, minimum epoch, lease key prefix.
const CLAIM = `
local e = redis.call('INCR', KEYS[2])
local min = tonumber(ARGV[3])
if e < min then redis.call('SET', KEYS[2], min) e = min end
local prev = redis.call('GET', KEYS[1])
local live = ''
if prev then
  local s, i = string.match(prev, '^(%d+):([^:]+):')
  if s and redis.call('GET', ARGV[4] .. s) == i then live = prev end
end
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. ARGV[2] .. ':' .. e)
return {e, live}`;

// KEYS: entry. ARGV: lease key prefix. The entry when its shard's lease is live, else ''.
const LOOKUP = `
local v = redis.call('GET', KEYS[1])
if not v then return '' end
local s, i = string.match(v, '^(%d+):([^:]+):')
if s and redis.call('GET', ARGV[1] .. s) == i then return v end
return ''`;

// KEYS: entry. ARGV: the caller's own value.
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

// KEYS: entry, epoch counter. ARGV: value, epoch, lease key prefix.
const REASSERT = `
local cur = redis.call('GET', KEYS[1])
if cur and cur ~= ARGV[1] then
  local s, i, e = string.match(cur, '^(%d+):([^:]+):(%d+)$')
  if e and tonumber(e) > tonumber(ARGV[2]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1])
local n = tonumber(redis.call('GET', KEYS[2]) or '0')
if n < tonumber(ARGV[2]) then redis.call('SET', KEYS[2], ARGV[2]) end
return 1`;

/** A Lua script and its SHA-1: sent by hash (EVALSHA), its text only when Redis does not know it yet. */
interface Script {
  lua: string;
  sha: string;
}
const script = (lua: string): Script => ({ lua, sha: createHash('sha1').update(lua).digest('hex') });
const S_CLAIM = script(CLAIM);
const S_LOOKUP = script(LOOKUP);
const S_RELEASE = script(RELEASE);
const S_REASSERT = script(REASSERT);

export class Directory {
  readonly redis: Redis;

  constructor(
    url: string,
    readonly prefix: string,
    readonly leaseMs: number,
  ) {
    // Commands fail fast while Redis is away (a login is refused rather than left hanging);
    // ioredis keeps reconnecting in the background.
    // Auto-pipelining: the claims of one event-loop turn (a batch of logins) go out in one write.
    this.redis = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true, enableAutoPipelining: true });
    this.redis.on('error', () => {});
  }

  connect(): Promise<void> {
    return this.redis.connect();
  }

  /**
   * Run a script by its hash: a login sends ~60 bytes instead of the script's text, and Redis does
   * not hash the text again. A Redis that does not know the script (first use, after a restart)
   * answers NOSCRIPT, and the text goes once.
   */
  private async run(sc: Script, keys: string[], args: (string | number)[]): Promise<unknown> {
    try {
      return await this.redis.evalsha(sc.sha, keys.length, ...keys, ...args);
    } catch (e) {
      if (!(e as Error).message?.startsWith('NOSCRIPT')) throw e;
      return this.redis.eval(sc.lua, keys.length, ...keys, ...args);
    }
  }

  private key(kind: string, id: number | string): string {
    return `${this.prefix}:${kind}:${id}`;
  }

  private get leasePrefix(): string {
    return `${this.prefix}:lease:`;
  }

  /** Refresh the shard's lease and its info. True when the lease was still ours (false: lost or new). */
  async heartbeat(info: ShardInfo): Promise<boolean> {
    const res = await this.redis
      .multi()
      .set(this.key('lease', info.shard), info.incarnation, 'PX', this.leaseMs, 'GET')
      .set(this.key('shard', info.shard), JSON.stringify(info), 'PX', this.leaseMs * INFO_TTL_LEASES)
      .exec();
    const prev = res?.[0]?.[1];
    return prev === info.incarnation;
  }

  /** A shard going away cleanly: drop its lease so its entries die now rather than at expiry. */
  async resign(shard: number, incarnation: string): Promise<void> {
    await this.run(S_RELEASE, [this.key('lease', shard)], [incarnation]);
  }

  /** Take player `id` for (shard, incarnation) with an epoch larger than any before and at least minEpoch. */
  async claim(id: number, shard: number, incarnation: string, minEpoch: number): Promise<ClaimResult> {
    const r = (await this.run(S_CLAIM, [this.key('player', id), this.key('epoch', id)], [shard, incarnation, minEpoch, this.leasePrefix])) as [
      number,
      string,
    ];
    return { epoch: Number(r[0]), previous: parseOwner(r[1]) };
  }

  /** The live owner of player `id`, or null (offline, or its shard's lease is gone). */
  async lookup(id: number): Promise<Owner | null> {
    return parseOwner((await this.run(S_LOOKUP, [this.key('player', id)], [this.leasePrefix])) as string);
  }

  /** Logout / grace expiry / moved away: delete the entry only if it is still this exact claim. */
  async release(id: number, owner: Owner): Promise<boolean> {
    const v = `${owner.shard}:${owner.incarnation}:${owner.epoch}`;
    return (await this.run(S_RELEASE, [this.key('player', id)], [v])) === 1;
  }

  /** After a lost lease or a Redis restart: put our entry back unless a newer epoch holds the player. */
  async reassert(id: number, owner: Owner): Promise<boolean> {
    const v = `${owner.shard}:${owner.incarnation}:${owner.epoch}`;
    return (await this.run(S_REASSERT, [this.key('player', id), this.key('epoch', id)], [v, owner.epoch, this.leasePrefix])) === 1;
  }

  /** Every shard's info and whether its lease is live (index = shard number). */
  async shards(count: number): Promise<{ info: ShardInfo | null; up: boolean }[]> {
    if (count <= 0) return [];
    const keys: string[] = [];
    for (let s = 0; s < count; s++) keys.push(this.key('shard', s));
    for (let s = 0; s < count; s++) keys.push(this.key('lease', s));
    const v = await this.redis.mget(...keys);
    const out: { info: ShardInfo | null; up: boolean }[] = [];
    for (let s = 0; s < count; s++) {
      let info: ShardInfo | null = null;
      try {
        info = v[s] ? (JSON.parse(v[s]!) as ShardInfo) : null;
      } catch {
        info = null;
      }
      out.push({ info, up: !!info && v[count + s] === info.incarnation });
    }
    return out;
  }

  /** Delete every key under the prefix (tests, labs). */
  async purge(): Promise<number> {
    // Every key first, then one MULTI deleting them all: deleted batch by batch while scanning, a
    // shard re-registering meanwhile could see its lease gone, re-assert its players, and have those
    // new entries deleted by a later batch while its new lease stayed — a directory no restart leaves.
    const keys = new Set<string>();
    let cursor = '0';
    do {
      const [next, found] = await this.redis.scan(cursor, 'MATCH', `${this.prefix}:*`, 'COUNT', 500);
      cursor = next;
      for (const k of found) keys.add(k);
    } while (cursor !== '0');
    if (!keys.size) return 0;
    const all = [...keys];
    const tx = this.redis.multi();
    for (let i = 0; i < all.length; i += 1000) tx.del(...all.slice(i, i + 1000));
    const res = (await tx.exec()) ?? [];
    return res.reduce((n, [err, v]) => n + (err ? 0 : Number(v)), 0);
  }

  async close(): Promise<void> {
    try {
      await this.redis.quit();
    } catch {
      this.redis.disconnect();
    }
  }
}
