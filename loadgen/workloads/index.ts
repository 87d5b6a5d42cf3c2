/** Every workload by name. Request workloads run through the generic drivers; realtime and sessions have their own. */
import { itemsWorkload } from './items.ts';
import { pingWorkload, readWorkload } from './ping.ts';
import { questsWorkload } from './quests.ts';
import type { RequestWorkload } from './scenario.ts';

export const requestWorkloads: Record<string, RequestWorkload> = {
  ping: pingWorkload,
  read: readWorkload,
  items: itemsWorkload,
  quests: questsWorkload,
};

export const WORKLOAD_NAMES = ['ping', 'read', 'items', 'quests', 'realtime', 'sessions'] as const;
export type WorkloadName = (typeof WORKLOAD_NAMES)[number];

export const WORKLOAD_SUMMARIES: Record<WorkloadName, string> = {
  ping: pingWorkload.summary,
  read: readWorkload.summary,
  items: itemsWorkload.summary,
  quests: questsWorkload.summary,
  realtime: 'channels of K players moving at R moves/s; delivery latency move → each other member (push vs event feed)',
  sessions: 'N concurrent idle authenticated sessions with heartbeats; server RSS per session and connect rate',
};
