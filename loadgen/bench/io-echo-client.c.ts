/**
 * The light load client of loadgen/bench/io-echo.ts, in C (epoll, one thread per group of
 * connections, batched writes), compiled on first use into the OS temp dir when `cc` exists.
 *
 * Usage of the binary: client <port> <conns> <inflight> <payload> <threads> <warmup_s> <seconds>
 * Prints "mark <round trips>" after the warm-up and "end <round trips>" at the end; verifies that
 * every echoed frame header carries the payload length it sent.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CLIENT_C = String.raw`
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int port, conns, inflight, payload, nthreads;
static volatile int stop;
typedef struct { _Atomic unsigned long count; char pad[56]; } counter_t;
static counter_t *counters;

typedef struct { int fd; unsigned acc; unsigned char hdr[4]; unsigned hdrFill; } conn_t;

static void *run(void *arg) {
  int t = (int)(long)arg;
  int mine = conns / nthreads + (t < conns % nthreads ? 1 : 0);
  int F = 4 + payload;
  unsigned char *batch = malloc((size_t)F * inflight);
  for (int i = 0; i < inflight; i++) {
    unsigned char *f = batch + (size_t)i * F;
    f[0] = payload >> 24; f[1] = payload >> 16; f[2] = payload >> 8; f[3] = payload;
    memset(f + 4, 'a' + (i % 26), payload);
  }
  int ep = epoll_create1(0);
  conn_t *cs = calloc(mine, sizeof(conn_t));
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
  inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  for (int i = 0; i < mine; i++) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) { perror("connect"); exit(2); }
    cs[i].fd = fd;
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &cs[i] };
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    if (write(fd, batch, (size_t)F * inflight) != (ssize_t)F * inflight) { perror("write"); exit(2); }
  }
  unsigned char buf[65536];
  struct epoll_event evs[64];
  while (!stop) {
    int n = epoll_wait(ep, evs, 64, 100);
    for (int e = 0; e < n; e++) {
      conn_t *c = evs[e].data.ptr;
      ssize_t r = read(c->fd, buf, sizeof buf);
      if (r <= 0) { if (r < 0 && errno == EAGAIN) continue; fprintf(stderr, "server closed\n"); exit(3); }
      /* verify frame headers on the fly: the byte at each frame start must be the length */
      unsigned pos = 0;
      unsigned off = c->acc;
      while (pos < (unsigned)r) {
        if (off < 4) {
          unsigned char want = (unsigned char)(payload >> (8 * (3 - off)));
          if (buf[pos] != want) { fprintf(stderr, "bad frame header byte\n"); exit(4); }
          pos++; off++;
        } else {
          unsigned take = (unsigned)F - off;
          if (take > (unsigned)r - pos) take = (unsigned)r - pos;
          pos += take; off += take;
        }
        if (off == (unsigned)F) off = 0;
      }
      unsigned total = c->acc + (unsigned)r;
      unsigned done = total / F;
      c->acc = total % F;
      if (done) {
        atomic_fetch_add_explicit(&counters[t].count, done, memory_order_relaxed);
        ssize_t w = write(c->fd, batch, (size_t)F * done);
        if (w != (ssize_t)F * done) { fprintf(stderr, "short write\n"); exit(5); }
      }
    }
  }
  return NULL;
}

static unsigned long total(void) {
  unsigned long s = 0;
  for (int i = 0; i < nthreads; i++) s += atomic_load(&counters[i].count);
  return s;
}

int main(int argc, char **argv) {
  if (argc != 8) { fprintf(stderr, "usage: client port conns inflight payload threads warmup seconds\n"); return 1; }
  port = atoi(argv[1]); conns = atoi(argv[2]); inflight = atoi(argv[3]); payload = atoi(argv[4]);
  nthreads = atoi(argv[5]); double warm = atof(argv[6]); double secs = atof(argv[7]);
  counters = aligned_alloc(64, sizeof(counter_t) * nthreads);
  memset(counters, 0, sizeof(counter_t) * nthreads);
  pthread_t th[64];
  for (int i = 0; i < nthreads; i++) pthread_create(&th[i], NULL, run, (void *)(long)i);
  struct timespec w = { (time_t)warm, (long)((warm - (time_t)warm) * 1e9) };
  nanosleep(&w, NULL);
  printf("mark %lu\n", total()); fflush(stdout);
  struct timespec s = { (time_t)secs, (long)((secs - (time_t)secs) * 1e9) };
  nanosleep(&s, NULL);
  printf("end %lu\n", total()); fflush(stdout);
  stop = 1;
  for (int i = 0; i < nthreads; i++) pthread_join(th[i], NULL);
  return 0;
}
`;

/** Path of the compiled client, or null (with the reason) when no C compiler works. */
export function buildCClient(): { path: string } | { path: null; reason: string } {
  const hash = createHash('sha256').update(CLIENT_C).digest('hex').slice(0, 12);
  const dir = join(tmpdir(), 'io-echo-client');
  const bin = join(dir, `client-${hash}`);
  if (existsSync(bin)) return { path: bin };
  try {
    mkdirSync(dir, { recursive: true });
    const src = join(dir, `client-${hash}.c`);
    writeFileSync(src, CLIENT_C);
    execFileSync(process.env.CC ?? 'cc', ['-O2', '-pthread', '-o', bin, src], { stdio: 'pipe' });
    return { path: bin };
  } catch (err) {
    return { path: null, reason: `cannot build the C client: ${(err as Error).message.split('\n')[0]}` };
  }
}
