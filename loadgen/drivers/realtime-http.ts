/**
 * The realtime driver's HTTP side: each member polls the event feed (long-poll, or a plain poll
 * every pollIntervalMs) on one keep-alive client; moves are REST commands.
 */
import { EVENTS_MAX_LIMIT, EVENTS_PATH } from '../../shared/commands/rest-face.ts';
import { httpLogin } from './http-driver.ts';
import { HttpJsonClient } from './http-client.ts';
import { sleep } from './driver.ts';
import type { Member, MemberHooks, MemberSide, SidePlan } from './realtime-side.ts';
import { wallNow } from './realtime-side.ts';
import { httpOutcome } from './wire.ts';

/** The event feed and the most events one poll asks for. */
/** Members set up at once. */
const BATCH = 20;

export interface FeedPlan {
  feed: 'long-poll' | 'poll';
  pollIntervalMs: number;
  longPollWaitMs: number;
}

const transport = (e: unknown) => ({ ok: false, code: 'TRANSPORT', kind: 'transport', message: (e as Error).message }) as const;

export async function openHttpMembers(plan: SidePlan & FeedPlan, hooks: MemberHooks): Promise<MemberSide> {
  const client = new HttpJsonClient(plan.target.host, plan.target.port);
  const base = `http://${plan.target.host}:${plan.target.port}`;
  const members: Member[] = [];
  /** Each member's token, to leave its channel at the end. */
  const tokens: string[] = [];
  const failures: string[] = [];
  let stopping = false;

  const feedLoop = async (token: string) => {
    let cursor: number | undefined;
    while (!stopping) {
      const wait = plan.feed === 'long-poll' ? plan.longPollWaitMs : 0;
      const q = `waitMs=${wait}` + (cursor === undefined ? '' : `&after=${cursor}`) + `&limit=${EVENTS_MAX_LIMIT}`;
      hooks.countRequest();
      const t0 = performance.now();
      let r: { status: number; text: string };
      try {
        r = await client.request('GET', `${EVENTS_PATH}?${q}`, token);
      } catch (e) {
        if (!stopping) hooks.record('events.poll', transport(e), null);
        await sleep(100);
        continue;
      }
      const recv = wallNow();
      const o = httpOutcome(r.status, r.text);
      hooks.record('events.poll', o, (performance.now() - t0) * 1000);
      if (!o.ok) {
        await sleep(100);
        continue;
      }
      cursor = o.body.cursor;
      for (const ev of o.body.events as { name: string; body: { tag?: number } }[]) {
        if (ev.name === 'channel.moved') hooks.onEvent(ev.body?.tag, recv);
      }
      if (plan.feed === 'poll') await sleep(plan.pollIntervalMs);
    }
  };

  const openOne = async (index: number) => {
    const channel = plan.channels[Math.floor(index / plan.channelSize)];
    try {
      const token = await httpLogin(base, `${plan.namePrefix}${index}`, plan.password);
      const j = await client.command('channel.join', { channel }, token);
      if (j.status !== 200) throw new Error(`join ${channel}: HTTP ${j.status} ${j.text.slice(0, 120)}`);
      tokens.push(token);
      members.push({
        index,
        channel,
        nextAt: 0,
        move(tag, x, y) {
          const sentAt = performance.now();
          hooks.countRequest();
          client.command('channel.move', { x, y, tag }, token).then(
            (r) => {
              const o = httpOutcome(r.status, r.text);
              hooks.onMoveDone(tag, o.ok, o, sentAt);
            },
            (e) => hooks.onMoveDone(tag, false, transport(e), sentAt),
          );
        },
      });
      void feedLoop(token);
    } catch (e) {
      failures.push(`player ${index}: ${(e as Error).message}`);
    }
  };
  for (let i = 0; i < plan.total; i += BATCH) {
    await Promise.all(Array.from({ length: Math.min(BATCH, plan.total - i) }, (_, k) => openOne(i + k)));
  }
  return {
    members,
    failures,
    bytes: () => client.bytes(),
    async close() {
      stopping = true;
      await Promise.allSettled(tokens.map((t) => client.command('channel.leave', {}, t)));
      client.close();
    },
  };
}
