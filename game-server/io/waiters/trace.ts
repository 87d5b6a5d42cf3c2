/**
 * The waiters trace: what happens to the threads that wait on ONE completion port, recorded the same way
 * by the model (a deterministic simulation of the kernel object's five lists) and by real threads
 * (epoll shared by N threads on Linux, GetQueuedCompletionStatusEx on one IOCP handle under Windows/Wine),
 * so the two can be replayed against each other and drawn on one time axis.
 *
 * Time is microseconds from the start of the run. Thread ids are 0..threads-1 in the order the threads
 * were started; the poster (the thread that queues packets) is -1.
 */

export type WaiterEventKind =
  /** The thread entered the port's wait (GetQueuedCompletionStatus / epoll_wait): it joins the waiting stack. */
  | 'wait'
  /** The thread returned from the wait with `packets` (ids, in the order it took them): it is released. */
  | 'wake'
  /** The thread, while handling `packet`, started a blocking call (a kernel sleep standing in for a database call). */
  | 'block'
  /** The blocking call returned. */
  | 'resume'
  /** The thread finished handling `packet`. */
  | 'finish'
  /** The poster queued `packet` (PostQueuedCompletionStatus / an eventfd write). thread = -1. */
  | 'post';

export interface WaiterEvent {
  t: number;
  thread: number;
  kind: WaiterEventKind;
  /** 'block' | 'resume' | 'finish' | 'post': the packet concerned. */
  packet?: number;
  /** 'wake': the packets taken by this wake. */
  packets?: number[];
}

export type WaitersBackend = 'model' | 'epoll' | 'iocp';
export type WaitersScenario = 'rare' | 'burst' | 'blocking';

export interface WaitersRun {
  backend: WaitersBackend;
  /** process.platform of the run; 'win32' under Wine too. */
  platform: string;
  /** Wine's version string when the run was under Wine (wine_get_version), else absent. */
  wine?: string;
  threads: number;
  /** NumberOfConcurrentThreads; 0 = the number of processors. epoll has no limit: it reports 0 and says so. */
  concurrency: number;
  scenario: WaitersScenario;
  events: WaiterEvent[];
}
