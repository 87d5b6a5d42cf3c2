/**
 * Representative outputs of every command, for the floors' wire-only rungs: they answer each route
 * with a body of the size the servers send, without doing the command. Taken once at start by
 * running a short script of real commands on an in-memory store with the shared CommandRunner.
 */
import { TokenSigner } from '../../shared/auth/token.ts';
import { commandDefs } from '../../shared/commands/table.ts';
import { CommandRunner } from '../../shared/runner.ts';
import { MemoryStore } from '../../shared/store/memory-store.ts';

export type Samples = Map<string, unknown>;

export async function commandSamples(): Promise<Samples> {
  const store = new MemoryStore();
  const runner = new CommandRunner({
    store,
    tokens: new TokenSigner('floor-samples-secret-0123456789', 3_600_000),
    rules: { worldSeed: 1, channelCapacity: 100, channelsPerPlace: 4 },
    hashCost: { log2n: 4 },
    realtime: 'store',
    persistEvents: false,
  });
  const out: Samples = new Map();
  const login = (await runner.run('player.login', { name: 'sample', password: 'sample-password' }, null)) as { playerId: number };
  out.set('player.login', login);
  const id = login.playerId;
  const script: [string, Record<string, unknown>][] = [
    ['ping', {}],
    ['player.get', {}],
    ['inventory.get', {}],
    ['world.hunt', { zone: 'meadow' }],
    ['world.hunt', { zone: 'meadow' }],
    ['item.use', { itemId: 'potion_small' }],
    ['shop.buy', { itemId: 'potion_small', qty: 1 }],
    ['shop.sell', { itemId: 'slime_jelly', qty: 1 }],
    ['shop.sell', { itemId: 'rabbit_fur', qty: 1 }],
    ['quest.accept', { questId: 'slime_cleanup' }],
    ['quest.list', {}],
    ['shop.list', {}],
  ];
  for (const [name, input] of script) {
    try {
      out.set(name, runner.runSync(name, input, id));
    } catch {
      // A refused step (no jelly to sell yet) leaves that command with the generic sample below.
    }
  }
  // quest.complete needs a finished quest: its output has the shape of a reward.
  if (!out.has('quest.complete')) out.set(
    'quest.complete', { questId: 'slime_cleanup', gold: 20, xp: 30, items: [], level: 1, repeatable: true }
  );
  for (const name of Object.keys(commandDefs)) if (!out.has(name)) out.set(name, { ok: true, serverTime: Date.now() });
  return out;
}
