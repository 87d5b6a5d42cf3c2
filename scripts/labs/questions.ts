/**
 * Every question of every lab page, with the figures it relies on, the answer a careful student
 * should reach, and the common wrong answer. One list, three uses:
 *  - the smoke tests check that each question's figures exist in its command's output (checkNeeds),
 *    so no question cites something the lab does not produce;
 *  - test/labs/pages.test.ts checks that every numbered question on a page is listed here;
 *  - render-instructor-notes.ts writes docs/labs/instructor-notes.md from this list and results.json.
 *
 * A figure is a path into the command's figures (scripts/labs/labs.ts): dot-separated keys; `*` is
 * any key or element; `[k=v]` keeps the array elements whose field k is v. In answers, `{{path}}` is
 * replaced by the value(s) the reference run measured.
 */

export interface Question {
  page: string;
  n: number;
  /** The command whose figures answer it (scripts/labs/labs.ts id). */
  cmd: string;
  /** Paths of the figures the question needs; each must resolve to at least one value. */
  needs: string[];
  answer: string;
  wrong: string;
}

export const QUESTIONS: Question[] = [
  // Lab 1
  {
    page: '01-two-restaurants.md', n: 1, cmd: 'lab1', needs: ['checks', 'resume'],
    answer:
      'B reads alice from the shared SQLite store: the token only says who she is (player id, expiry, HMAC), the hunt is a row ' +
      'A wrote. Without the shared store B would need the state itself: a replicated store, or a sticky load balancer sending ' +
      'alice always to A (and losing her when A dies).',
    wrong: '"B got the hunt from the token" — the token carries no game state; decode it: `v1.<id>.<expiry>.<signature>`.',
  },
  {
    page: '01-two-restaurants.md', n: 2, cmd: 'lab1', needs: ['resume'],
    answer:
      'The parked session: player id and name, the channel (town-1) and position (10, 20), the cached player state, and a ' +
      'buffer of pushes missed meanwhile (`replayed`, `dropped` in the resume answer: {{resume}}). After --resume-grace-ms the ' +
      'session is finalised: the player leaves the channel (the others get `channel.left`) and a later resume fails; the stored ' +
      'player (gold, items) stays in the store.',
    wrong: '"The server keeps the TCP connection" — the connection is gone; the session outlives it.',
  },
  {
    page: '01-two-restaurants.md', n: 3, cmd: 'lab1', needs: ['checks'],
    answer:
      'Two web servers with in-memory sessions would each know only their own logins: a request routed to the other one is ' +
      'refused (or needs sticky routing, and a crash loses every session on that instance). The game server that dies loses its ' +
      'sessions, channels, positions and in-flight writes not yet committed; everything acknowledged is in the store (lab 8), ' +
      'and clients must log in again.',
    wrong: '"Nothing is lost when the game server dies" — the sessions and channel membership live only in memory.',
  },
  {
    page: '01-two-restaurants.md', n: 4, cmd: 'lab1', needs: ['pushes'],
    answer:
      "The dine-in restaurant (the game server). Carol's screen shows {{pushes}}: bob's `channel.join` caused the first, his " +
      "`channel.move` the second; carol asked for neither.",
    wrong: 'Pointing at `< channel.join` on bob\'s screen — that is the answer to bob\'s own request, not a push.',
  },
  // Lab 2
  {
    page: '02-measure.md', n: 1, cmd: 'lab2-items',
    needs: [
      'summary.[variant=depth=1].figures.bytesPerOp.median',
      'summary.[target=web].figures.bytesPerOp.median',
    ],
    answer:
      'Web bytes/op minus game bytes/op at depth 1 (web vs game: {{summary.[variant=depth=1].figures.bytesPerOp.median}}). In ' +
      'lab 1\'s transcript the biggest request header is `authorization: Bearer <token>` (~80 bytes), then `host`; on the ' +
      'answer the rate-limit trio, `content-type: application/json; charset=utf-8` and `date`. A keep-alive client sends no ' +
      '`connection: close`, so lab 2\'s requests are a little smaller than lab 1\'s.',
    wrong:
      'Counting the JSON body as overhead — bodies are about the same size in JSON and MessagePack; the difference is the ' +
      'header text.',
  },
  {
    page: '02-measure.md', n: 2, cmd: 'lab2-items',
    needs: [
      'ratios.[ratio=game/web bytes per op].spread.median',
      'ratios.[ratio=game/web server CPU per op].spread.median',
    ],
    answer:
      'Compare the two fractions, each without units, at each depth, brackets included: game/web bytes per op (depth 1, then 4) ' +
      '{{ratios.[ratio=game/web bytes per op].spread}}; game/web CPU per op {{ratios.[ratio=game/web server CPU per op].spread}}. ' +
      'The bytes fraction is set by the two formats and does not move with the depth. The CPU fraction moves with the load: ' +
      'where its bracket contains the bytes fraction (depth 1 in our run) the two are the same within the noise; where it lies ' +
      'below (depth 4: batching lowers the game server\'s CPU per op, not the web server\'s), HTTP inflates the CPU more than ' +
      'the bytes. HTTP/2 would cut the bytes (HPACK sends repeated headers as table indexes) but not the CPU of token ' +
      'verification, validation and JSON on every request — it adds framing and compression work.',
    wrong:
      'Comparing the bytes/op column with the µs/op column directly ("the bytes are the bigger number") — different units; ' +
      'only the unitless game/web fractions compare. Or calling a difference inside the brackets an effect.',
  },
  {
    page: '02-measure.md', n: 3, cmd: 'lab2-items',
    needs: [
      'ratios.[ratio=game/web ops/s].spread.median',
      'ratios.[ratio=game/web server CPU per op].spread.median',
    ],
    answer:
      'Throughput is bounded by the whole machine, not by the server alone: the load generator, both drivers and SQLite share ' +
      'the two cores, and the closed loop waits for answers. If the server\'s CPU per op were all that mattered, ops/s ratio ≈ ' +
      '1 ÷ CPU ratio. Game/web ops/s (depth 1, then 4): {{ratios.[ratio=game/web ops/s].spread}}; game/web CPU per op: ' +
      '{{ratios.[ratio=game/web server CPU per op].spread}}. The ops/s ratio falls short of 1 ÷ the CPU ratio: clearly at ' +
      'depth 4; at depth 1 only at the medians, the brackets overlapping. The rest of each op\'s cost (the load generator\'s ' +
      'own work, the kernel\'s TCP stack at both ends) does not shrink in the same proportion as the server\'s CPU.',
    wrong: '"The measurement is wrong" — it measures two different things: server cost and machine throughput.',
  },
  {
    page: '02-measure.md', n: 4, cmd: 'lab2-items',
    needs: [
      'summary.[variant=depth=4].figures.opsPerSec.median',
      'summary.[variant=depth=1].figures.opsPerSec.median',
    ],
    answer:
      'Read depth 4 ÷ depth 1 per server, brackets included (ops/s, web / game: depth 1 ' +
      '{{summary.[variant=depth=1].figures.opsPerSec}}; depth 4 {{summary.[variant=depth=4].figures.opsPerSec}}). ' +
      'The game server gains, well outside its brackets: its answers may leave in any order and a completion batch carries ' +
      'several requests per connection. The web server\'s brackets at the two depths overlap: no gain it can show. HTTP/1.1 ' +
      'pipelining must answer in request order on one connection, so a slow request holds the ones behind ' +
      'it (head-of-line blocking); the INSUFFICIENT refusals at depth 4 are the load generator\'s wrong guesses, not failures.',
    wrong:
      'Comparing with a depth-1 run from another time — the machine\'s noise between two runs can exceed the effect; use the ' +
      'rounds of one sweep.',
  },
  // Lab 3
  {
    page: '03-push-vs-poll.md', n: 1, cmd: 'lab3-sweep',
    needs: [
      'points.[feed=poll].p50Ms',
      'points.[feed=poll].requestsPerEvent',
      'points.[feed=long-poll].p50Ms',
      'points.[feed=long-poll].requestsPerEvent',
      'match.longPollP50Ms.max',
    ],
    answer:
      'The sweep prints it under its table. Reference run: polling every {{match.poll.ms}} ms delivers at p50 ' +
      '{{match.poll.p50Ms}} ms, inside long-poll\'s {{match.longPollP50Ms.min}}–{{match.longPollP50Ms.max}} ms over its waits, ' +
      'at {{match.poll.requestsPerEvent}} requests per event against long-poll\'s {{match.longPollRequestsPerEvent.min}}–' +
      '{{match.longPollRequestsPerEvent.max}}. Only the shortest interval gets there, at many times long-poll\'s requests per ' +
      'event — polls that mostly come back empty.',
    wrong: 'Reading the 50 ms poll as "close enough" — its p50 is still several times long-poll\'s.',
  },
  {
    page: '03-push-vs-poll.md', n: 2, cmd: 'lab3-sweep', needs: ['points.[feed=long-poll].p50Ms', 'points.[feed=long-poll].setting'],
    answer:
      'A long-poll is answered as soon as an event is written; the wait is only the longest it may be held (p50 at waits ' +
      '{{points.[feed=long-poll].setting}} ms: {{points.[feed=long-poll].p50Ms}} ms). A short wait hurts when the channel is ' +
      'quiet: requests time out empty and are re-sent (more requests per event), and an event written between two polls waits ' +
      'for the next request to arrive.',
    wrong: '"A 10 s wait means events arrive up to 10 s late" — the answer leaves at the first event.',
  },
  {
    page: '03-push-vs-poll.md', n: 3, cmd: 'lab3-sweep', needs: ['points.[feed=long-poll].p50Ms'],
    answer:
      'An event written on instance A wakes only A\'s pending long-polls; a client parked on B sees it when B re-checks the ' +
      'store, every --events-poll-ms (50 ms): on average ~25 ms more, up to 50 ms, for about half of the deliveries behind a ' +
      'load balancer — latency the single-instance sweep does not show.',
    wrong: '"The store notifies every instance" — SQLite has no notification; B polls it.',
  },
  {
    page: '03-push-vs-poll.md', n: 4, cmd: 'lab3-realtime',
    needs: [
      'summary.[target=web].figures.p50Ms.median',
      'summary.[target=game].figures.p50Ms.median',
      'summary.[target=web].figures.movesSentPct.median',
    ],
    answer:
      'p50 ms, web / game / gameC (the C client\'s view of the same pushes): 20 players ' +
      '{{summary.[variant=channel-size=20].figures.p50Ms}}; 100 players {{summary.[variant=channel-size=100].figures.p50Ms}}. ' +
      'At 20 players both sides send every move, and a long-polled event arrives about ten milliseconds after a pushed one: ' +
      'a request round trip, a store read and the web server\'s work per answer. At 100 players `moves sent %` (web, 20 then ' +
      '100 players: {{summary.[target=web].figures.movesSentPct}}) shows the web side saturated: it sent about two thirds of ' +
      'the moves asked, while events received stayed at 100 % (every move it did send reached every member). Its latency there ' +
      'is the queue, not long-poll; the game side sent everything at both sizes.',
    wrong:
      'Reading the 100-player long-poll latency as the cost of long-poll — it is the cost of saturation; or reading "events ' +
      'received 100 %" as "kept up" — it counts the events of the moves that were sent.',
  },
  {
    page: '03-push-vs-poll.md', n: 5, cmd: 'lab3-sweep', needs: ['points.[feed=poll].p50Ms'],
    answer:
      'Polling every 800 ms (p50 ≈ 400 ms) suits turn-based or slow genres: a farming or card game, an auction house, chat in a ' +
      'lobby. A shooter or an action MMORPG cannot: a guest there waits tens of milliseconds at most; it needs push.',
    wrong: '"No game can poll" — many web games do, when the genre tolerates the wait.',
  },
  // Lab 4
  {
    page: '04-staff-and-ratios.md', n: 1, cmd: 'lab4-staff', needs: ['settings', 'concurrency.message'],
    answer:
      'See background.md\'s table: --max-users; --channel-capacity and --channels-per-place; logic+network on completion ' +
      'workers, admin on the main thread, the store behind --store/--db-path; --workers; one owner thread per port, ' +
      'cross-worker work posted (--concurrency > 1 refused: {{concurrency.message}}); --io; push + group commit per batch, ' +
      '--heartbeat-ms, send-queue limits; --db-sync and the ledger rows.',
    wrong: 'Putting --concurrency as "number of threads" — it is refused above 1; threads are --workers.',
  },
  {
    page: '04-staff-and-ratios.md', n: 2, cmd: 'lab4-staff', needs: ['rows.*.opsPerSec', 'rows.*.p99Ms'],
    answer:
      'On 2 cores shared with the load generator, more workers do not buy throughput (ops/s for --workers 1, 2, 4: ' +
      '{{rows.*.opsPerSec}}; p99 ms: {{rows.*.p99Ms}}). One worker is at least as good as two: one port gets the biggest ' +
      'batches and group commits, no cross-worker posts, and no extra thread competing for a core. Each row is the median of ' +
      'interleaved rounds with its min–max: where two rows\' brackets overlap, their difference is noise. With more ' +
      'cores than the load generator needs, workers ≈ free cores.',
    wrong: '"More workers are always faster" — each worker needs a core; here they compete with the client.',
  },
  {
    page: '04-staff-and-ratios.md', n: 3, cmd: 'lab4-staff', needs: ['concurrency.message'],
    answer:
      'It gives up the port\'s load balancing (any idle thread taking the next completion, LIFO keeping few threads hot, the ' +
      'limit replacing a blocked thread). It gains: one thread owns a session, so no locks on it, its cache lines stay on one ' +
      'core, and one player\'s commands run in order without coordination.',
    wrong: '"Nothing: N ports × 1 thread is the same as 1 port × N threads" — a busy port cannot lend its work to an idle worker.',
  },
  {
    page: '04-staff-and-ratios.md', n: 4, cmd: 'lab4-staff',
    needs: [
      'rows.*.perWorker.*.completionsPerWake',
      'rows.*.perWorker.*.commandsPerGroupCommit',
    ],
    answer:
      'A group commit is one SQLite transaction per completion batch: its fixed cost (BEGIN/COMMIT, the WAL append and its ' +
      'sync) is shared by every write of the batch. Commands per commit follow completions per wake ' +
      '({{rows.*.perWorker.*.commandsPerGroupCommit}} per commit for {{rows.*.perWorker.*.completionsPerWake}} per wake, per ' +
      'worker).',
    wrong: '"Bigger batches make each write faster" — each write costs the same; the commit is what is shared.',
  },
  // Lab 5
  {
    page: '05-inside-the-port.md', n: 1, cmd: 'lab5-capture',
    needs: [
      'phases.[name=rare].summary.*.wakes',
      'phases.[name=rare].summary.*.completions',
    ],
    answer:
      'Two wakes per ping (rare phase: wakes {{phases.[name=rare].summary.*.wakes}} for completions ' +
      '{{phases.[name=rare].summary.*.completions}}, per worker): one for the recv that brought the request, one for the send ' +
      'completion of the answer the handler issued.',
    wrong: '"One wake per ping" — the send completes later and is delivered as its own completion.',
  },
  {
    page: '05-inside-the-port.md', n: 2, cmd: 'lab5-capture', needs: ['phases.[name=rare].summary.*.wakes'],
    answer:
      'The worker that owns the pinging player\'s connection takes every completion; the other one only waits (wakes per worker ' +
      'in the rare phase: {{phases.[name=rare].summary.*.wakes}}): one thread serves a sparse stream, the other stays parked — ' +
      'what LIFO achieves among the threads of one port.',
    wrong: '"The workers take turns" — completions go to the port of the connection\'s owner, always the same one.',
  },
  {
    page: '05-inside-the-port.md', n: 3, cmd: 'lab5-capture', needs: ['phases.[name=frequent].summary.*.maxBatch'],
    answer:
      'Largest batch: {{phases.[name=frequent].summary.*.maxBatch}} (per worker). One wait that returns n completions costs one ' +
      'system call instead of n; but the first completion of the batch waits while the others are handled, and sends issued for ' +
      'it leave only at the end of the batch (with the group commit).',
    wrong: '"Bigger batches are free" — the first request\'s latency grows with the batch.',
  },
  {
    page: '05-inside-the-port.md', n: 4, cmd: 'lab5-capture', needs: ['phases.[name=frequent].summary.*.posts'],
    answer:
      'Worker 1\'s sessions belong to worker 1\'s thread: calling its code from worker 0 would need locks on every session. A ' +
      'post is a packet in worker 1\'s own FIFO queue (posts per worker: {{phases.[name=frequent].summary.*.posts}}), handled ' +
      'by its thread between its I/O completions; the queue keeps posts in the order they were sent, and after the completions ' +
      'already queued.',
    wrong: '"Posts are faster than a call" — they are not; they are safe without locks.',
  },
  // Lab 6
  {
    page: '06-backends.md', n: 1, cmd: 'lab6-echo', needs: ['backends.*.cpuUsPerRt.median', 'backends.*.syscallsPerRt.median'],
    answer:
      'CPU per round trip (libuv, uring): {{backends.*.cpuUsPerRt.median}} µs; system calls per round trip: ' +
      '{{backends.*.syscallsPerRt.median}}. libuv: an epoll_wait shared by the ready sockets, then a read(2) and a write(2) per ' +
      'round trip; uring: a fraction of one io_uring_enter per round trip, which submits and reaps many at once. The kernel\'s ' +
      'socket work (the recv and the send) is the same on both; what uring saves is about two kernel entries and exits per round ' +
      'trip, a few hundred ns to ~1 µs each — a part of the gap in CPU per round trip, not all of it: the rest is what libuv does ' +
      'in JS per readable socket (stream objects, buffers, callbacks).',
    wrong: '"uring makes no system calls" — it makes fewer; io_uring_enter is still one.',
  },
  {
    page: '06-backends.md', n: 2, cmd: 'lab6-game',
    needs: [
      'summary.[workload=ping].figures.serverCpuUsPerOp.median',
      'summary.[workload=items].figures.serverCpuUsPerOp.median',
    ],
    answer:
      'Server CPU µs per op, libuv then uring: ping {{summary.[workload=ping].figures.serverCpuUsPerOp}}; items ' +
      '{{summary.[workload=items].figures.serverCpuUsPerOp}}. Ping keeps 16 requests in flight per connection (--ping-depth), ' +
      'so one read or one io_uring_enter carries many frames: the system calls per op are few on both backends and the two ' +
      'come out within each other\'s brackets (noise). Items keeps one in flight, like the echo at --inflight 1: each op pays ' +
      'libuv\'s read, write and JS stream work, and uring\'s saving shows outside the brackets (about a dozen µs per op in our ' +
      'run), against handlers, a transaction and SQLite that cost tens of µs on both, so as a ratio it stays well below the ' +
      'echo\'s. The backend\'s cost is per system call and per readiness event, not per op.',
    wrong: 'Reading ops/s as the backend\'s effect — on a shared machine it measures the machine.',
  },
  {
    page: '06-backends.md', n: 3, cmd: 'lab6-echo', needs: ['backends.*.completionsPerWait.median'],
    answer:
      'No (completions per wait, libuv then uring: {{backends.*.completionsPerWait.median}}). A big batch means fewer waits, ' +
      'but the first completion waits for the rest to be handled, and a batch that is big because the thread fell behind is a ' +
      'symptom, not a gain. Fewer, cheaper calls per operation is the goal; batch size is one way there.',
    wrong: '"libuv batches more, so it is more efficient" — its CPU per round trip is higher.',
  },
  {
    page: '06-backends.md', n: 4, cmd: 'lab6-wine', needs: ['lines'],
    answer:
      'It adds control of the port: WSARecv into its own buffer (no zero-byte read then a second copy), sends straight from the ' +
      'answer, AcceptEx, skipping packets for operations that completed at once, and batches it sizes itself (the Wine line: ' +
      'completions per dequeue); and it is where the course\'s model is visible (keys, posts, the five lists). It does not ' +
      'change the threading: still one thread per port here, ordering per connection, and Wine\'s figures are not Windows\' ' +
      'figures.',
    wrong: '"It makes Node multi-threaded" — each port still has one owner thread; more threads are more workers.',
  },
  // Lab 7
  {
    page: '07-add-a-command.md', n: 1, cmd: 'lab7-craft', needs: ['checks'],
    answer:
      'Without the table: a route with its schema and auth hook, an OpenAPI entry, a TCP op in the dispatch with its own ' +
      'validation, the error mapping on both faces, docs, and tests for each — five or six places, in two servers, that must ' +
      'agree. Here: one file and two lines (the checks show each face picked it up).',
    wrong: 'Counting only the handler — the faces are most of the work.',
  },
  {
    page: '07-add-a-command.md', n: 2, cmd: 'lab7-craft', needs: ['checks'],
    answer:
      'A write joins the completion batch\'s group commit: it runs inside the batch\'s transaction and its answer is sent only ' +
      'after that commit returns (lab 8). A read runs against the cache/store and can answer without waiting for a commit.',
    wrong: '"Writes get their own transaction on the game server" — they share the batch\'s.',
  },
  {
    page: '07-add-a-command.md', n: 3, cmd: 'lab7-craft', needs: ['checks'],
    answer:
      'The quest catalog (a new objective kind and a quest using it), the World\'s objective tracking (count crafts), the craft ' +
      'handler calling the progress hook, and tests. Neither server changes: quest.progressed pushes and routes come from the ' +
      'table and the World.',
    wrong: '"Add a quest.craft route to the web server" — nothing under web-server/ or game-server/ changes.',
  },
  {
    page: '07-add-a-command.md', n: 4, cmd: 'lab7-craft', needs: ['ledger'],
    answer:
      'So the same handler serves both faces and every store, and every change goes through the World, which writes the ledger ' +
      'rows (the `ledger` lines: {{ledger}}) in the command\'s transaction; a handler with a socket or a store could bypass the ' +
      'rules, the ledger and idempotency.',
    wrong: '"For speed" — it is for correctness and reuse.',
  },
  // Lab 8
  {
    page: '08-the-ledger.md', n: 1, cmd: 'lab8-ledger', needs: ['lostAcknowledged', 'auditExit'],
    answer:
      'An answer promises the change is kept. Sent before the commit, a crash between the two loses an acknowledged write: the ' +
      'client believes it has the gold, the store does not. Sent after, the worst case is a committed write whose answer was ' +
      'lost (lost acknowledged here: {{lostAcknowledged}}).',
    wrong: '"The order does not matter with WAL" — WAL keeps commits, not answers sent before them.',
  },
  {
    page: '08-the-ledger.md', n: 2, cmd: 'lab8-ledger', needs: ['inFlightAtKill', 'storedUnacknowledged'],
    answer:
      'In flight at the kill: {{inFlightAtKill}}; stored without an answer: {{storedUnacknowledged}}. The rest were never ' +
      'committed. A client that got no answer resends with the same operation id (opId / Idempotency-Key): the server returns ' +
      'the stored result if it was committed, or runs it once if not.',
    wrong: '"Resend the write" without an operation id — it may apply twice.',
  },
  {
    page: '08-the-ledger.md', n: 3, cmd: 'lab8-ledger', needs: ['dbSync'],
    answer:
      'full fsyncs the WAL at every commit: it survives a power loss or a kernel crash, which normal (this run: {{dbSync}}) ' +
      'does not. The cost is one fsync (~0.1–10 ms by device) per commit; group commit pays it once per batch, not per write.',
    wrong: '"normal can lose data on a process crash" — it cannot; the WAL write is done before the commit returns.',
  },
  {
    page: '08-the-ledger.md', n: 4, cmd: 'lab8-ledger', needs: ['ackedHunts'],
    answer:
      'Per client the web server has at most the one request in flight and answers after its own commit, the game server a ' +
      'batch per worker; both lose only unanswered writes. The game server loses its sessions too (clients log in again); the ' +
      'web server has no sessions to lose — the token still works on a restarted server.',
    wrong: '"The game server loses acknowledged writes because it batches" — answers leave after the batch\'s commit.',
  },
  // Lab 9
  {
    page: '09-limits.md', n: 1, cmd: 'lab9-limits', needs: ['seen.frameTooLarge', 'seen.channelFull'],
    answer:
      'FRAME_TOO_LARGE: the server will not read the body, so it cannot find the next frame\'s length prefix: the byte stream ' +
      'is lost, only closing is safe. CHANNEL_FULL is a rule refusing one well-formed request: the connection and session are ' +
      'fine.',
    wrong: '"To punish the client" — it is about framing, not policy.',
  },
  {
    page: '09-limits.md', n: 2, cmd: 'lab9-sessions', needs: ['sessions.targets.game.rssPerSessionBytes'],
    answer:
      '4 GiB ÷ {{sessions.targets.game.rssPerSessionBytes}} bytes per idle session. Before memory: the file-descriptor limit ' +
      '(RLIMIT_NOFILE), the ephemeral ports of one client address, heartbeats per second (sessions ÷ heartbeat interval, each a ' +
      'wake-up), the accept/login rate at a mass reconnect, and the kernel\'s socket buffers (not in the process RSS).',
    wrong: 'Dividing by the RSS of the whole process — it includes Node\'s baseline; use the per-session increase.',
  },
  {
    page: '09-limits.md', n: 3, cmd: 'lab9-limits', needs: ['seen.serverFull'],
    answer:
      'They get SERVER_FULL ({{seen.serverFull}}) and nothing else. A lobby in front would hold them: issue a queue ticket, ' +
      'tell each its position, admit one when a slot frees (or route to another shard), with a heartbeat on the queue ' +
      'connection.',
    wrong: '"Just raise --max-users" — the limit protects the machine; past it everyone suffers.',
  },
  {
    page: '09-limits.md', n: 4, cmd: 'lab9-limits', needs: ['seen.channelFull'],
    answer:
      'One move costs K−1 sends: the work per second of a channel grows as K² × moves per player per second. Doubling K ' +
      'quadruples the channel\'s push traffic (lab 3: events/s = K(K−1)R), so capacity bounds CPU and bandwidth, not only the ' +
      'crowd on screen.',
    wrong: '"K only matters to the players" — the fan-out is the server\'s cost.',
  },
  // Lab 10
  {
    page: '10-waiters.md', n: 1, cmd: 'lab10-model', needs: ['rows.[scenario=rare].servedBy'],
    answer:
      'Served by {{rows.[scenario=rare].servedBy}}: the thread that just finished is back on top of the stack and takes the next ' +
      'packet while its stack, its code path and its data are still in the cache; threads 0–2 stay blocked, so the kernel may ' +
      'page their stacks out and the scheduler never touches them. FIFO would rotate through all four: every packet is handled ' +
      'by the thread that has been asleep the longest (cold cache, possibly swapped-out stack, a full context switch each time).',
    wrong: '"Taking turns is fairer" — the threads are interchangeable workers; fairness among them buys nothing and costs caches.',
  },
  {
    page: '10-waiters.md', n: 2, cmd: 'lab10-model', needs: ['rows.[scenario=burst].maxRunning', 'rows.[scenario=burst].maxQueued'],
    answer:
      'Because two threads are already released and the limit is 2 (max running {{rows.[scenario=burst].maxRunning}}, max ' +
      'queued {{rows.[scenario=burst].maxQueued}}): KiInsertQueue only hands a packet to a waiter while fewer than the limit ' +
      'run. Waking more would only make the runnable threads share the cores by time-slicing. With --concurrency 0 the limit is ' +
      'the number of processors, 2 with --cpus 2: the same picture. One per processor keeps every core busy with no more ' +
      'context switches than needed; paused threads still let another run.',
    wrong: '"The port is too slow to wake them" — it chooses not to: the queue holds packets while the running count is at the limit.',
  },
  {
    page: '10-waiters.md', n: 3, cmd: 'lab10-model', needs: ['rows.[scenario=blocking].pausedSeen', 'rows.[scenario=blocking].servedBy'],
    answer:
      'A paused thread uses no CPU: if it still counted, the limit would be reached by threads that are asleep in a blocking ' +
      'call while the cores idle. With limit 1 the five other packets would wait, one after the other, for each 16 ms sleep: ' +
      'the handlers would run strictly one at a time. Counting it out releases the next waiter at the block (served by ' +
      '{{rows.[scenario=blocking].servedBy}} at limit 1, 2, 0: four threads hold packets while one runs).',
    wrong: '"Paused threads are counted, that is why the limit is low" — the model releases thread 2 at the instant thread 3 blocks.',
  },
  {
    page: '10-waiters.md', n: 4, cmd: 'lab10-model', needs: ['rows.[scenario=blocking].maxRunning'],
    answer:
      'A thread returning from a blocking call holds a half-done request (and maybe locks): making it wait would add latency ' +
      'and risk deadlock, so KiUnlinkThread counts it again whatever the count; the overshoot is short because no waiter is ' +
      'released while running ≥ limit (max running {{rows.[scenario=blocking].maxRunning}} at limits 1, 2, 0). The instant: ' +
      '33 ms at limit 1 — thread 2 finishes packet 1 and calls the wait; thread 3 (which took packet 4 at 31 ms without sleeping) ' +
      'runs, so running = 1 = limit, and thread 2 sleeps with packet 5 queued until thread 1 finishes at 35 ms.',
    wrong: '"The limit is a hard cap" — only on releases from the wait; resumes are not held back.',
  },
  {
    page: '10-waiters.md', n: 5, cmd: 'lab10-model', needs: ['rows.[scenario=rare].servedBy'],
    answer:
      'It gives up the shared stack: each worker waits on its own port, so a rare packet for worker 2 wakes worker 2 even if ' +
      'worker 3 is warm and idle, and a worker blocked in a handler cannot be replaced by another thread (no pausing, no ' +
      'limit). It gains that a session\'s state (decoder, player cache, channels) lives in one JS isolate, never shared, never ' +
      'locked, and each connection is always served by the thread whose cache holds its state — LIFO\'s benefit by ' +
      'construction (rare: {{rows.[scenario=rare].servedBy}}).',
    wrong: '"N ports is just a worse shared port" — a shared port needs every connection\'s state in shared memory (the lab server does).',
  },
  {
    page: '10-waiters.md', n: 6, cmd: 'lab10-iocp', needs: ['runs.[scenario=rare].servedBy', 'runs.[scenario=burst].maxRunning'],
    answer:
      'Under Wine 8.0 rare packets went to {{runs.[scenario=rare].servedBy}} (FIFO) and a burst ran up to ' +
      '{{runs.[scenario=burst].maxRunning}} threads with limit 2. A Wine-only student would conclude that waiters are woken ' +
      'LIFO is false (claim 1), and that the port keeps at most NumberOfConcurrentThreads running is false (claim 2); and, with ' +
      'no limit, that pausing a blocked thread matters (claim 3) would show nothing. Wine implements the API, not the kernel\'s ' +
      'scheduling policy.',
    wrong: '"Wine has a bug in our code path" — its server/completion.c documents both differences.',
  },
  {
    page: '10-waiters.md', n: 7, cmd: 'lab10-epoll', needs: ['runs.[scenario=rare].order', 'runs.[scenario=burst].maxRunning'],
    answer:
      'epoll has no NumberOfConcurrentThreads: --concurrency only sets the limit of the model the run is held against. ' +
      'epoll_wait puts an exclusive waiter at the head of the wait queue, so rare packets go to the last waiter ' +
      '({{runs.[scenario=rare].order}}); but each ready item wakes a waiter regardless of how many run, so a burst ran ' +
      '{{runs.[scenario=burst].maxRunning}} threads at once. The replay reports those packets as `limit` divergences: the model ' +
      'would have kept them queued.',
    wrong: '"epoll ignored the flag by mistake" — there is nothing to pass it to; the kernel has no running count for epoll.',
  },
  {
    page: '10-waiters.md', n: 8, cmd: 'lab10-ports',
    needs: ['summary.*.opsPerSec.median', 'summary.*.cpuUsPerOp.median', 'summary.*.wakesPerOp.median', 'ratios.*.sharedOverPorts.median'],
    answer:
      'Shared/ports ops/s at 1, 2, 4 threads: {{ratios.*.sharedOverPorts.median}}; wakes per op (shared, ports per thread ' +
      'count): {{summary.*.wakesPerOp.median}}; µs CPU per op: {{summary.*.cpuUsPerOp.median}}. On uniform echo neither wins ' +
      'by throughput beyond the spread of the rounds; what differs clearly is wakes per op, higher on the shared port as the ' +
      'threads grow: each per-port thread\'s wait returns the ready connections of its own port in a batch, nothing is ' +
      'shared between cores, and no connection\'s state moves between caches; the shared instance spreads the ready ' +
      'connections over the waiting threads and every thread contends for the one instance. With one thread the two are ' +
      'the same server. The shared port wins when handlers block or take long and unevenly: a thread stuck in a 400 ms call ' +
      'holds up only its own request, the others take the next connections (test/io/waiters/epoll-lab.test.ts), while with ' +
      'per-thread ports every connection of that thread waits.',
    wrong: '"More threads on one port must be faster" — on short uniform requests the shared port adds contention and wakes, not capacity.',
  },
  // Lab 11
  {
    page: '11-more-counters.md', n: 1, cmd: 'lab11-scale',
    needs: ['items.targets.web-lb1.opsPerSec', 'items.targets.web-lb3.opsPerSec', 'items.ratios.web-lb3/web-lb1 ops/s'],
    answer:
      'web-lb3/web-lb1 is {{items.ratios.web-lb3/web-lb1 ops/s}}: about one, not three. One Node instance already keeps close to a ' +
      'core busy, the load generator takes most of the other, and HAProxy and Redis run on the same two cores: three instances ' +
      'share the CPU one instance had, plus the switching between them. The store is shared too — one SQLite file takes one ' +
      'writer at a time, whichever process it comes from. More counters pay when each brings its own cores (another machine) ' +
      'and the store keeps up (PostgreSQL).',
    wrong: '"Three instances, three times the throughput" — only with three times the cores and a store that is not the bottleneck.',
  },
  {
    page: '11-more-counters.md', n: 2, cmd: 'lab11-scale',
    needs: ['items.ratios.web-lb1/web ops/s (HAProxy hop)', 'items.ratios.web-lb1/web p99 (HAProxy hop)'],
    answer:
      'web-lb1 is the same single instance as web with HAProxy in front: ops/s ×{{items.ratios.web-lb1/web ops/s (HAProxy hop)}}, ' +
      'p99 ×{{items.ratios.web-lb1/web p99 (HAProxy hop)}}. Every request is parsed and forwarded once more, by a process that ' +
      'competes for the same two cores; the connections to the instance are kept alive and reused, so there is no handshake per ' +
      'request. On its own core, HAProxy forwards a request in tens of microseconds.',
    wrong: '"The load balancer is free" — it is a second HTTP server on the path of every request.',
  },
  {
    page: '11-more-counters.md', n: 3, cmd: 'lab11-scale',
    needs: ['items.ratios.web-lb3 CPU share instances', 'items.ratios.web-lb3 CPU share haproxy'],
    answer:
      'Of the topology\'s CPU the instances take {{items.ratios.web-lb3 CPU share instances}}, HAProxy ' +
      '{{items.ratios.web-lb3 CPU share haproxy}}, Redis the rest (one PUBLISH per event-loop turn that committed events; rate ' +
      'limits are off in the compare). The instances\' time is the same per-request work as one instance: Fastify, schemas, ' +
      'the token, the store.',
    wrong: '"Redis is the cost of scaling out" — it carries only the doorbell here; the instances do the work.',
  },
  {
    page: '11-more-counters.md', n: 4, cmd: 'lab11-failover',
    needs: ['killToDownMs', 'retriedStatuses', 'resentOps'],
    answer:
      'HAProxy marked it DOWN {{killToDownMs}} ms after the kill: two failed health checks 500 ms apart. Before that, a new ' +
      'connection to the dead port is refused at once and HAProxy sends the request to another instance (retry-on conn-failure, ' +
      'redispatch): the client sees nothing. Only requests already sent to the dead instance got an error ({{retriedStatuses}}), ' +
      'and the clients resent those {{resentOps}} operations with the same Idempotency-Key.',
    wrong: '"Clients saw errors until the health check noticed" — refused connections are retried by HAProxy itself.',
  },
  {
    page: '11-more-counters.md', n: 5, cmd: 'lab11-failover',
    needs: ['twice', 'lost', 'auditOk'],
    answer:
      'The Idempotency-Key is the operation id: it is stored with the result in the same transaction as the write. A write that ' +
      'committed on the killed instance before it could answer is found by the resend on another instance — the store is shared ' +
      '— which returns the first result and changes nothing ({{twice}} applied twice). An answer is only sent after the commit, ' +
      'so nothing acknowledged can be missing ({{lost}} lost); the audit matched every balance to its ledger ({{auditOk}}).',
    wrong: '"HAProxy retried the broken requests" — it retries only refused connections (the request never reached a server); ' +
      'a request cut mid-way may have committed, and only a client with its key can retry it safely.',
  },
  {
    page: '11-more-counters.md', n: 6, cmd: 'lab11-failover',
    needs: ['wakeDoorbell.medianMs', 'wakeStoreRecheck.medianMs', 'pollMs'],
    answer:
      'With the doorbell, instance 1 publishes after its commit and instance 2 wakes the parked poll at once: median ' +
      '{{wakeDoorbell.medianMs}} ms. With Redis down, the poll is woken by instance 2\'s own re-check of the store every ' +
      '{{pollMs}} ms: median {{wakeStoreRecheck.medianMs}} ms. Nothing is lost either way: the event is a row with an increasing ' +
      'id and the client\'s cursor says which it has seen; the doorbell only says "look now".',
    wrong: '"Events travel through Redis" — Redis carries a wake-up, not the event; losing it costs time, not data.',
  },
  // Lab 12
  {
    page: '12-more-dining-rooms.md', n: 1, cmd: 'lab12-shards', needs: ['channelsPerShard'],
    answer:
      'Each process computes the owner of a channel from the channel id and K alone (rendezvous hashing: the shard with the ' +
      'highest hash of channel#shard wins), so there is no table to replicate. Channels per shard: {{channelsPerShard}} — ' +
      'uneven at 16 channels, since hashing balances only on average. Going to K+1 moves only the channels the new shard wins ' +
      '(about 1/(K+1)); every other channel keeps its owner, and its players notice nothing.',
    wrong: '"channel i goes to shard i mod K" — then adding a shard moves almost every channel, and every player in them.',
  },
  {
    page: '12-more-dining-rooms.md', n: 2, cmd: 'lab12-shards', needs: ['move.moveMs', 'move.leftOk', 'move.joinedOk'],
    answer:
      'The move ({{move.moveMs}} ms) is: WRONG_SHARD from the old shard (which saves the position first), a new TCP connection ' +
      'to the address in the error, session.resume with the token (a new claim in Redis: a larger epoch, the store fence ' +
      'raised, a kick published to the old shard), then channel.join there. The old shard learns over the bus and ends its ' +
      'session: its members see channel.left; the new channel\'s members see channel.joined. The epoch is what stops the old ' +
      'shard, if it is slow to hear, from writing the player over the new owner: its save meets a newer fence and is refused.',
    wrong: '"the old shard forwards the session to the new one" — nothing is forwarded; the store carries the state.',
  },
  {
    page: '12-more-dining-rooms.md', n: 3, cmd: 'lab12-shards', needs: ['pushes.withinP99Ms', 'pushes.acrossP99Ms'],
    answer:
      'Within one shard the push is written after the give\'s commit, in the same process (p99 {{pushes.withinP99Ms}} ms). ' +
      'Across shards it takes a directory lookup and a PUBLISH to the owner\'s inbox, then the owner\'s delivery (p99 ' +
      '{{pushes.acrossP99Ms}} ms): two Redis round trips more. Pub/sub keeps nothing: a push published while the owner shard ' +
      'is reconnecting is lost. The gift is not — it is in the store; a client resyncs with inventory.get after a resume or ' +
      'a reconnect (docs/shards.md).',
    wrong: '"a lost message loses the item" — the bus only carries the notification; the store is the truth.',
  },
  {
    page: '12-more-dining-rooms.md', n: 4, cmd: 'lab12-shards', needs: ['kill.loginAgainAfterMs', 'kill.lostAcknowledged', 'kill.undeliverablePushes'],
    answer:
      'The directory still names the dead shard until its lease lapses (--lease-ms), so a login elsewhere would kick a ' +
      'session nobody can kick; it waits for the entry to read as dead: {{kill.loginAgainAfterMs}} ms here. Pushes sent ' +
      'meanwhile reach no subscriber and are counted ({{kill.undeliverablePushes}}). Nothing acknowledged was lost ' +
      '(lostAcknowledged {{kill.lostAcknowledged}}): every answer came after its commit. A shorter lease frees players sooner ' +
      'but makes a slow shard look dead — and then the fence is what keeps it from writing.',
    wrong: '"the player can log in again at once" — not while another shard may still hold a live session of it.',
  },
  {
    page: '12-more-dining-rooms.md', n: 5, cmd: 'lab12-sessions',
    needs: ['perShard.*.sessions', 'heldByShards', 'dropped', 'perShard.*.rssPerSessionBytes', 'connectRate', 'pingP99Ms'],
    answer:
      'The shards hold {{perShard.*.sessions}} sessions ({{heldByShards}} in all; {{dropped}} dropped — first check that every ' +
      'session is still there: a session whose heartbeats stop for the shards\' idle limit is closed) at ' +
      '{{perShard.*.rssPerSessionBytes}} bytes of RSS per session; the connect rate ' +
      '({{connectRate}}/s) includes a Redis claim and a store fence per login; the ping through the crowd has p99 ' +
      '{{pingP99Ms}} ms. Max concurrent users is now shards × the per-shard limit, and the per-process file limit (20,000 here) ' +
      'caps each factor — also on the load generator, which needs several processes.',
    wrong: '"one bigger process would do" — not past the per-process file limit, and not past one core.',
  },
];

/** Values at a path (see the header for the syntax); undefined and null left out. */
export function resolvePath(root: unknown, path: string, keepNull = false): unknown[] {
  let cur: unknown[] = [root];
  for (const seg of splitPath(path)) {
    const next: unknown[] = [];
    const filter = /^\[([\w]+)=(.+)\]$/.exec(seg);
    for (const v of cur) {
      if (v === null || v === undefined) continue;
      if (filter) {
        if (Array.isArray(v)) next.push(...v.filter((e) => e && String((e as Record<string, unknown>)[filter[1]]) === filter[2]));
      } else if (seg === '*') {
        if (typeof v === 'object') next.push(...Object.values(v as object));
      } else if (typeof v === 'object') {
        next.push((v as Record<string, unknown>)[seg]);
      }
    }
    cur = next;
  }
  return cur.filter((v) => v !== undefined && (keepNull || v !== null));
}

/** Split on dots outside [..] (filter values may hold dots or slashes). */
function splitPath(path: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of path) {
    if (ch === '[') depth++;
    if (ch === ']') depth--;
    if (ch === '.' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.filter(Boolean);
}

/**
 * Throws when a question of command `id` needs a figure its run did not produce. A figure set to null
 * was produced and withheld by the command itself (an RSS reading that did not settle in a short smoke
 * run prints why and records no number): it counts as produced here; the reference results must carry
 * real values (the pages test resolves without nulls).
 */
export function checkNeeds(id: string, figures: Record<string, unknown>): void {
  const missing = QUESTIONS.filter((q) => q.cmd === id).flatMap((q) => q.needs.filter((p) => resolvePath(figures,
    p, true).length === 0).map((p) => `${q.page} Q${q.n}: ${p}`));
  if (missing.length) throw new Error(`figures the questions need are missing:\n${missing.join('\n')}`);
}

/** The numbered questions of a page (the list under "## Questions"). */
export function pageQuestions(markdown: string): number[] {
  const sec = /## Questions\n([\s\S]*?)(\n## |$)/.exec(markdown);
  if (!sec) return [];
  return [...sec[1].matchAll(/^(\d+)\. /gm)].map((m) => Number(m[1]));
}
