/** The worker's counters (served per worker on the admin port's /metrics by the supervisor). */

export interface CoreMetrics {
  worker: number;
  sessionsLive: number;
  sessionsParked: number;
  playersOnline: number;
  connectionsAccepted: number;
  framesIn: number;
  framesOut: number;
  bytesIn: number;
  bytesOut: number;
  errors: Record<string, number>;
  pushesDropped: number;
  pushesBufferedForResume: number;
  slowDisconnects: number;
  idleDisconnects: number;
  serverFull: number;
  resumes: number;
  groupCommits: number;
  groupCommitCommands: number;
  groupCommitMax: number;
  cacheReloads: number;
  postsOut: number;
  postsIn: number;
}

/** The counters the modules bump; gauges (sessions, players, cache reloads) are read at snapshot time. */
export type Counters = Omit<CoreMetrics, 'sessionsLive' | 'sessionsParked' | 'playersOnline' | 'cacheReloads'>;

export function newCounters(worker: number): Counters {
  return {
    worker,
    connectionsAccepted: 0,
    framesIn: 0,
    framesOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    errors: {},
    pushesDropped: 0,
    pushesBufferedForResume: 0,
    slowDisconnects: 0,
    idleDisconnects: 0,
    serverFull: 0,
    resumes: 0,
    groupCommits: 0,
    groupCommitCommands: 0,
    groupCommitMax: 0,
    postsOut: 0,
    postsIn: 0,
  };
}

export function countError(counters: Counters, code: string): void {
  counters.errors[code] = (counters.errors[code] ?? 0) + 1;
}
