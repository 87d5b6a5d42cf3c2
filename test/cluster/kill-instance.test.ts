/**
 * kill -9 of one web instance under load, through HAProxy. Players write (gives, buys, sells), each
 * operation with its own Idempotency-Key; a client that gets no answer (HAProxy's 502/503/504 when
 * the instance died under its request, a broken connection) retries the SAME key until it gets one.
 * Afterwards, on the shared store:
 *  - HAProxy took the dead instance out and the load carried on on the others;
 *  - every acknowledged operation is in the ledger, and nothing else is (refusals wrote nothing);
 *  - no operation was applied twice: each op id has exactly its own two rows (give: −1 and +1;
 *    buy/sell: the gold row and the item row), however many times it was sent;
 *  - the ledger audit passes (gold and stacks equal their ledger sums, gives conserved).
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../shared/rng.ts';
import { auditCluster, call, CLUSTER_TIMEOUT, ledgerRowsByOp, login, sleep, waitFor, withCluster } from './helpers.ts';

const PLAYERS = 6;
const ITEM = 'potion_small';
const RETRYABLE = new Set([502, 503, 504]);

interface Tally {
  acked: Set<string>;
  refused: Set<string>;
  /** Sends beyond the first, and operations that needed one. */
  resends: number;
  retriedOps: number;
  unresolved: string[];
}

describe('cluster: kill -9 of one instance under load', () => {
  it('HAProxy routes around it; retries with the Idempotency-Key apply nothing twice; nothing acknowledged is lost',
    { timeout: CLUSTER_TIMEOUT }, async () => {
    await withCluster({ web: 3, webArgs: ['--no-rate-limit'] }, async (c) => {
      const players: { name: string; playerId: number; token: string }[] = [];
      for (let i = 0; i < PLAYERS; i++) players.push({ name: `killer${i}`, ...(await login(c.url, `killer${i}`)) });
      const t: Tally = { acked: new Set(), refused: new Set(), resends: 0, retriedOps: 0, unresolved: [] };
      let stop = false;
      const rng = new Rng(7);
      const loops = players.map(async (p, i) => {
        const mine = new Rng(rng.int(0, 2 ** 31));
        const partner = players[(i + 1) % players.length];
        for (let n = 0; n < 50_000 && !stop; n++) {
          const r = mine.next();
          const key = `kill-${p.playerId}-${n}`;
          const [path, body] = r < 0.5 ? [`/v1/me/items/${ITEM}/give`, { qty: 1, to: partner.name }] : r < 0.75 ?
            [`/v1/shop/${ITEM}/buy`, { qty: 1 }] : [`/v1/shop/${ITEM}/sell`, { qty: 1 }];
          let done = false;
          for (let attempt = 0; attempt < 60 && !done; attempt++) {
            if (attempt === 1) t.retriedOps++;
            if (attempt > 0) {
              t.resends++;
              await sleep(50);
            }
            let status: number;
            try {
              status = (await call(c.url, 'POST', path, { token: p.token, body, key, timeoutMs: 10_000 })).status;
            } catch {
              continue; // no answer at all: the same key again
            }
            if (RETRYABLE.has(status)) continue;
            if (status === 200) t.acked.add(key);
            else t.refused.add(key);
            done = true;
          }
          if (!done) t.unresolved.push(key);
        }
      });
      // The kill lands once the load is flowing (30 acknowledged), not after a fixed delay…
      expect(await waitFor(() => t.acked.size >= 30, 15_000), 'load running before the kill').toBe(true);
      const victim = c.instances[1];
      victim.proc.kill('SIGKILL');
      await c.haproxy.waitStates(['web2'], 'DOWN', 15_000);
      const ackedAtKill = t.acked.size;
      // …and the load goes on until the survivors have acknowledged a good number more.
      await waitFor(() => t.acked.size >= ackedAtKill + 30, 15_000);
      stop = true;
      await Promise.all(loops);

      expect(t.unresolved).toEqual([]);
      expect(t.acked.size, 'the load carried on after the kill').toBeGreaterThan(ackedAtKill);
      const inLedger = await ledgerRowsByOp(c, ['give', 'buy', 'sell']);
      const missing = [...t.acked].filter((k) => !inLedger.has(k));
      expect(missing, 'acknowledged but not in the ledger').toEqual([]);
      const unacked = [...inLedger.keys()].filter((k) => k.startsWith('kill-') && !t.acked.has(k));
      expect(unacked, 'in the ledger but never acknowledged').toEqual([]);
      const twice = [...inLedger].filter(([, n]) => n !== 2);
      expect(twice, 'operations with other than their two rows (applied twice?)').toEqual([]);
      const a = auditCluster(c);
      expect(a.problems).toEqual([]);
      expect(a.ok).toBe(true);
      // What the kill cost the clients (logged for the lab; not asserted: it depends on timing).
      process.stderr.write(`kill test: ${t.acked.size} acked, ${t.refused.size} refused, ${t.retriedOps} ops resent (${t.resends} sends)\n`);
    });
  });
});
