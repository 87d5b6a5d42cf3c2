/** ping: the smallest op, no auth, no store; each stack's floor. */
import type { Op, PlayerScenario, RequestWorkload } from './scenario.ts';

const PING: Op<'ping'> = { name: 'ping', input: {} };

export const pingWorkload: RequestWorkload = {
  name: 'ping',
  kind: 'request',
  summary: 'ping only (no auth, no store): each stack\'s floor',
  auth: false,
  floors: true,
  player(): PlayerScenario {
    return { next: () => PING, done() {}, resetInflight() {} };
  },
};

/** read: inventory.get only (authenticated read from the store or the session cache). */
export const readWorkload: RequestWorkload = {
  name: 'read',
  kind: 'request',
  summary: 'inventory.get only: an authenticated read (compared with the floors)',
  auth: true,
  floors: true,
  player(): PlayerScenario {
    const op: Op<'inventory.get'> = { name: 'inventory.get', input: {} };
    return { next: () => op, done() {}, resetInflight() {} };
  },
};
