/** The realtime driver's TCP side: one game connection per member; channel.moved arrives as a push. */
import type { GameClient } from '../../game-server/client/client.ts';
import { wallNow, type Member, type MemberHooks, type MemberSide, type SidePlan } from './realtime-side.ts';
import { connectLoadClient, failureText, loadLogin } from './tcp-connect.ts';
import { tcpOutcome } from './wire.ts';

/** Members set up at once. */
const BATCH = 50;

export async function openTcpMembers(plan: SidePlan, hooks: MemberHooks): Promise<MemberSide> {
  const conns: GameClient[] = [];
  const members: Member[] = [];
  const failures: string[] = [];
  const openOne = async (index: number) => {
    const channel = plan.channels[Math.floor(index / plan.channelSize)];
    try {
      const c = await connectLoadClient(plan.target.host, plan.target.port);
      conns.push(c);
      await loadLogin(c, `${plan.namePrefix}${index}`, plan.password);
      await c.call('channel.join', { channel }).catch((e) => {
        throw new Error(`join ${channel}: ${failureText(e)}`);
      });
      c.onPush = (ev, body) => {
        if (ev === 'channel.moved') hooks.onEvent((body as { tag?: unknown } | undefined)?.tag, wallNow());
      };
      members.push({
        index,
        channel,
        nextAt: 0,
        move(tag, x, y) {
          const sentAt = performance.now();
          hooks.countRequest();
          c.request('channel.move', { x, y, tag }, (f) => {
            const o = tcpOutcome(f);
            hooks.onMoveDone(tag, o.ok, o, sentAt);
          });
        },
      });
    } catch (e) {
      failures.push(`player ${index}: ${failureText(e)}`);
    }
  };
  for (let i = 0; i < plan.total; i += BATCH) {
    await Promise.all(Array.from({ length: Math.min(BATCH, plan.total - i) }, (_, k) => openOne(i + k)));
  }
  return {
    members,
    failures,
    bytes() {
      let read = 0;
      let written = 0;
      for (const c of conns) {
        read += c.bytesRead;
        written += c.bytesWritten;
      }
      return { read, written };
    },
    async close() {
      await Promise.allSettled(conns.map((c) => c.call('channel.leave', {})));
      conns.forEach((c) => void c.close());
    },
  };
}
