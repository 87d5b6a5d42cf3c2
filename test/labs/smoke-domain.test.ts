// Smoke runs of labs 7–9 (add a command, the ledger, limits): each page command, shrunk.
import { budget, runSmoke } from './run-lab.ts';
import { describe, expect, it } from 'vitest';

describe('labs 7–9, smoke', () => {
  it('lab 7: item.craft added in a scratch copy shows up on both servers and passes its tests', { timeout: budget('lab7-craft') },
    async () => {
    const f = (await runSmoke('lab7-craft')).figures as { checks: string[]; craft: string; ledger: string[] };
    expect(f.checks.length).toBe(8);
    // the craft's own ledger rows: jelly out, potion in, one operation id
    expect(f.ledger.length).toBe(2);
    expect(new Set(f.ledger.map((l) => (JSON.parse(l.slice('ledger '.length)) as { opId: string }).opId)).size).toBe(1);
    expect(f.checks.every((c) => c.startsWith('ok '))).toBe(true);
    expect(f.checks.join('\n')).toContain('operationId item.craft');
    expect(f.craft).toContain('"itemId":"potion_small"');
  });

  it('lab 8: kill -9 mid-write loses nothing acknowledged and the audit passes', { timeout: budget('lab8-ledger') }, async () => {
    const f = (await runSmoke('lab8-ledger')).figures as {
       ackedHunts: number; lostAcknowledged: number; tooMany: number; auditExit: number; audit: string };
    expect(f.ackedHunts).toBeGreaterThan(0);
    expect(f.lostAcknowledged).toBe(0);
    expect(f.tooMany).toBe(0);
    expect(f.auditExit).toBe(0);
    expect(f.audit).toMatch(/^audit OK/);
  });

  it('lab 9: each limit answers with its own error code', { timeout: budget('lab9-limits') }, async () => {
    const f = (await runSmoke('lab9-limits')).figures as { seen: Record<string, string>; errorsByCode: Record<string, number> };
    expect(f.seen.serverFull).toMatch(/^SERVER_FULL/);
    expect(f.seen.channelFull).toMatch(/^CHANNEL_FULL/);
    expect(f.seen.frameTooLarge).toMatch(/^FRAME_TOO_LARGE.*closed/);
    expect(f.seen.badFrame).toMatch(/^BAD_FRAME.*closed/);
    expect(f.errorsByCode).toMatchObject({ SERVER_FULL: 1, CHANNEL_FULL: 1, FRAME_TOO_LARGE: 1, BAD_FRAME: 1 });
  });
});
