/**
 * What shards (and the web tier) say to each other over the bus: one inbox per shard
 * (`<prefix>:inbox:<shard>`), and one channel every shard listens to (`<prefix>:wrote`). JSON,
 * since the bodies are the domain's event bodies.
 */
export type BusMessage =
  /** A domain event for a player the sender believes is online on the receiving shard. */
  | { t: 'ev'; player: number; name: string; body: unknown; sentAt: number }
  /** One session per player: the player was claimed with `epoch` elsewhere; older sessions go. */
  | { t: 'kick'; player: number; epoch: number; by: number }
  /**
   * Broadcast on `<prefix>:wrote`: `by` (a process id: the web tier, or a shard writing a player it
   * does not hold) committed writes to these players; a shard caching one of them reads its row again.
   */
  | { t: 'wrote'; by: string; players: number[] };

export const encodeBusMessage = (m: BusMessage): string => JSON.stringify(m);

export function decodeBusMessage(raw: string): BusMessage | null {
  try {
    const m = JSON.parse(raw) as BusMessage;
    if (!m || typeof m !== 'object') return null;
    if ((m.t === 'ev' || m.t === 'kick') && Number.isSafeInteger(m.player)) return m;
    if (m.t === 'wrote' && typeof m.by === 'string' && Array.isArray(m.players) && m.players.every(Number.isSafeInteger)) return m;
  } catch {
    // a foreign or broken message on our inbox: ignored (counted by the caller)
  }
  return null;
}
