/**
 * THE command table: the one place a command is defined. Both servers generate their faces from it
 * (REST routes + OpenAPI on the web server, ops on the game server); adding an entry here makes it
 * appear on both with no server edit.
 */
import type { Static } from 'typebox';
import type { CommandDef } from './define.ts';
import { channelJoin, channelLeave, channelList, channelMove, channelSay } from './channel.ts';
import { worldHunt } from './hunt.ts';
import { inventoryGet, itemDiscard, itemGive, itemUse } from './items.ts';
import { ping, playerGet, playerLogin } from './player.ts';
import { questAccept, questComplete, questList } from './quests.ts';
import { shopBuy, shopList, shopSell } from './shop.ts';

/** Keyed by name; the key must equal the command's own name (checked below, at load). */
export const commandDefs = {
  ping,
  'player.login': playerLogin,
  'player.get': playerGet,
  'inventory.get': inventoryGet,
  'item.use': itemUse,
  'item.discard': itemDiscard,
  'item.give': itemGive,
  'shop.list': shopList,
  'shop.buy': shopBuy,
  'shop.sell': shopSell,
  'world.hunt': worldHunt,
  'quest.list': questList,
  'quest.accept': questAccept,
  'quest.complete': questComplete,
  'channel.join': channelJoin,
  'channel.leave': channelLeave,
  'channel.move': channelMove,
  'channel.say': channelSay,
  'channel.list': channelList,
};

export type CommandDefs = typeof commandDefs;
export type CommandName = keyof CommandDefs;
export type CommandInput<N extends CommandName> = Static<CommandDefs[N]['input']>;
export type CommandOutput<N extends CommandName> = Static<CommandDefs[N]['output']>;

for (const [key, def] of Object.entries(commandDefs)) {
  if (key !== def.name) throw new Error(`command table: key ${key} names command ${def.name}`);
}

export const commandList: readonly CommandDef[] = Object.values(commandDefs) as unknown as CommandDef[];
export const commands: ReadonlyMap<string, CommandDef> = new Map(commandList.map((c) => [c.name, c]));
