/**
 * The light realtime client, in C: one epoll thread holds every member's game connection, logs
 * each in and joins its channel, sends channel.move at the paced rate (tag = send time, CLOCK_MONOTONIC
 * µs) and timestamps every channel.moved push on receipt. It does no msgpack decoding beyond finding
 * the frame's first key, `id`, `ok` and `tag`, so its own cost per push is a read and a scan.
 * Compiled on first use into the OS temp dir when `cc` exists (as loadgen/bench/io-echo-client.c.ts).
 *
 * Usage: rt-client <host> <port> <members> <channel> <moves/s> <warmup s> <seconds> <name prefix> <password> <latency file>
 * Prints "window-start" and "window-end" lines as the measured window opens and closes, then one JSON
 * line of counts; writes the window's delivery latencies (µs, uint32 native order) to the latency file.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const RT_CLIENT_C = String.raw`
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUF (1 << 20)
#define RING 4096
typedef struct { int fd; unsigned char *in; size_t have; uint64_t next_at; uint32_t seq; uint64_t tag_of[RING]; } member_t;

static uint64_t now_us(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000u + t.tv_nsec / 1000; }
static uint64_t cpu_us(void) { struct rusage r; getrusage(RUSAGE_SELF, &r);
  return (uint64_t)(r.ru_utime.tv_sec + r.ru_stime.tv_sec) * 1000000u + r.ru_utime.tv_usec + r.ru_stime.tv_usec; }
static void die(const char *m) { fprintf(stderr, "rt-client: %s (%s)\n", m, strerror(errno)); exit(1); }

/* ---- the few msgpack shapes we send ---- */
static unsigned char *p_map(unsigned char *p, int n) { *p++ = 0x80 | n; return p; }
static unsigned char *p_str(unsigned char *p, const char *s) {
  size_t n = strlen(s);
  if (n < 32) *p++ = 0xa0 | n; else { *p++ = 0xd9; *p++ = (unsigned char)n; }
  memcpy(p, s, n); return p + n;
}
static unsigned char *p_uint(unsigned char *p, uint64_t v) {
  if (v < 128) { *p++ = (unsigned char)v; return p; }
  if (v <= 0xffffffffu) { *p++ = 0xce; uint32_t b = htonl((uint32_t)v); memcpy(p, &b, 4); return p + 4; }
  *p++ = 0xcf; for (int i = 7; i >= 0; i--) *p++ = (unsigned char)(v >> (i * 8)); return p;
}
static size_t frame_done(unsigned char *start, unsigned char *end) { uint32_t n = htonl((uint32_t)(end - start - 4)); memcpy(start, &n,
  4); return end - start; }

/* ---- reading: a number after a key, the first key, ok ---- */
static int read_num(const unsigned char *p, const unsigned char *end, double *out) {
  if (p >= end) return 0;
  unsigned c = *p;
  if (c < 0x80) { *out = c; return 1; }
  if (c >= 0xe0) { *out = (int8_t)c; return 1; }
  uint64_t v = 0; int n = 0;
  switch (c) {
    case 0xcc: n = 1; break; case 0xcd: n = 2; break; case 0xce: n = 4; break; case 0xcf: n = 8; break;
    case 0xcb: { if (p + 9 > end) return 0; uint64_t b = 0; for (int i = 1; i <= 8; i++) b = (b << 8) | p[i]; double d; memcpy(&d, &b,
      8); *out = d; return 1; }
    case 0xca: { if (p + 5 > end) return 0; uint32_t b = 0; for (int i = 1; i <= 4; i++) b = (b << 8) | p[i]; float fl; memcpy(&fl, &b,
      4); *out = fl; return 1; }
    default: return 0;
  }
  if (p + 1 + n > end) return 0;
  for (int i = 1; i <= n; i++) v = (v << 8) | p[i];
  *out = (double)v; return 1;
}
static const unsigned char *find_key(const unsigned char *p, const unsigned char *end, const char *key) {
  size_t k = strlen(key);
  for (; p + 1 + k <= end; p++) if (*p == (0xa0 | k) && memcmp(p + 1, key, k) == 0) return p + 1 + k;
  return NULL;
}
/* Is the frame's first key "ev" (a push) rather than "id" (a response)? */
static int is_push(const unsigned char *b, size_t n) {
  size_t o = (b[0] >= 0x80 && b[0] <= 0x8f) ? 1 : (b[0] == 0xde ? 3 : 5);
  return n > o + 2 && b[o] == 0xa2 && b[o + 1] == 'e' && b[o + 2] == 'v';
}
static int is_ok(const unsigned char *b, size_t n) { const unsigned char *v = find_key(b, b + n, "ok");
  return v && v < b + n && *v == 0xc3; }

static void write_all(int fd, const unsigned char *b, size_t n) {
  while (n) { ssize_t w = write(fd, b, n); if (w < 0) { if (errno == EINTR) continue; die("write"); } b += w; n -= (size_t)w; }
}
/* Blocking read of one whole frame into buf; returns its length. */
static size_t read_frame(int fd, unsigned char *buf) {
  size_t got = 0, need = 4;
  while (got < need) {
    ssize_t r = read(fd, buf + got, need - got);
    if (r <= 0) die("read during setup");
    got += (size_t)r;
    if (got == 4 && need == 4) { uint32_t n; memcpy(&n, buf, 4); need = 4 + ntohl(n); if (need > BUF) die("frame too large"); }
  }
  memmove(buf, buf + 4, need - 4);
  return need - 4;
}
/* Send a request and wait for its response (pushes met on the way are skipped); 1 when ok. */
static int call(int fd, unsigned char *buf, unsigned char *req, size_t n) {
  write_all(fd, req, n);
  for (;;) { size_t m = read_frame(fd, buf); if (!is_push(buf, m)) return is_ok(buf, m); }
}

int main(int argc, char **argv) {
  if (argc != 11) { fprintf(stderr,
    "usage: rt-client host port members channel moves_per_s warmup_s seconds prefix password latfile\n"); return 2; }
  const char *host = argv[1], *port = argv[2], *channel = argv[4], *prefix = argv[8], *password = argv[9], *latfile = argv[10];
  int members = atoi(argv[3]); double rate = atof(argv[5]), warm = atof(argv[6]), secs = atof(argv[7]);
  struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *ai;
  if (getaddrinfo(host, port, &hints, &ai) != 0) die("getaddrinfo");
  member_t *m = calloc(members, sizeof(member_t));
  unsigned char *tmp = malloc(BUF), req[512];
  int ep = epoll_create1(0);
  for (int i = 0; i < members; i++) {
    int fd = socket(ai->ai_family, SOCK_STREAM, 0), one = 1;
    if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) die("connect");
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    size_t n = read_frame(fd, tmp);
    if (!is_push(tmp, n) || !find_key(tmp, tmp + n, "welcome")) { fprintf(stderr, "rt-client: member %d: no welcome\n", i); return 1; }
    char name[64]; snprintf(name, sizeof name, "%s%d", prefix, i);
    unsigned char *p = req + 4; p = p_map(p, 3); p = p_str(p, "id"); p = p_uint(p, 1); p = p_str(p, "op"); p = p_str(p, "player.login");
    p = p_str(p, "body"); p = p_map(p, 2); p = p_str(p, "name"); p = p_str(p, name); p = p_str(p, "password"); p = p_str(p, password);
    if (!call(fd, tmp, req, frame_done(req, p))) { fprintf(stderr, "rt-client: login %s refused\n", name); return 1; }
    p = req + 4; p = p_map(p, 3); p = p_str(p, "id"); p = p_uint(p, 2); p = p_str(p, "op"); p = p_str(p, "channel.join");
    p = p_str(p, "body"); p = p_map(p, 1); p = p_str(p, "channel"); p = p_str(p, channel);
    if (!call(fd, tmp, req, frame_done(req, p))) { fprintf(stderr, "rt-client: join %s refused\n", channel); return 1; }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    m[i].fd = fd; m[i].in = malloc(BUF); m[i].seq = 10;
    struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  }
  printf("ready\n"); fflush(stdout);
  uint64_t base = now_us(), interval = (uint64_t)(1e6 / rate);
  uint64_t win_start = base + (uint64_t)(warm * 1e6), win_end = win_start + (uint64_t)(secs * 1e6), stop_at = win_end + 500000;
  for (int i = 0; i < members; i++) m[i].next_at = base + interval * i / members;
  size_t lat_cap = 1 << 20, lat_n = 0; uint32_t *lat = malloc(lat_cap * 4);
  unsigned long moves = 0, moves_ok = 0, move_err = 0, events = 0, bytes_in = 0, bytes_out = 0, x = 1;
  uint64_t cpu0 = 0, cpu1 = 0; int opened = 0, closed = 0;
  struct epoll_event evs[256];
  for (;;) {
    uint64_t now = now_us();
    if (!opened && now >= win_start) { opened = 1; cpu0 = cpu_us(); printf("window-start\n"); fflush(stdout); }
    if (!closed && now >= win_end) { closed = 1; cpu1 = cpu_us(); printf("window-end\n"); fflush(stdout); }
    if (now >= stop_at) break;
    uint64_t soonest = stop_at;
    for (int i = 0; i < members; i++) {
      while (now < win_end && m[i].next_at <= now) {
        uint64_t tag = now_us();
        x = x * 1103515245 + 12345;
        unsigned char *p = req + 4; p = p_map(p, 3); p = p_str(p, "id"); p = p_uint(p, m[i].seq); p = p_str(p, "op"); p = p_str(p,
          "channel.move");
        p = p_str(p, "body"); p = p_map(p, 3); p = p_str(p, "x"); p = p_uint(p, (x >> 8) % 1000); p = p_str(p, "y"); p = p_uint(p,
          (x >> 20) % 1000);
        p = p_str(p, "tag"); p = p_uint(p, tag);
        size_t n = frame_done(req, p);
        write_all(m[i].fd, req, n);
        m[i].tag_of[m[i].seq % RING] = tag;
        m[i].seq++;
        if (tag >= win_start && tag < win_end) { moves++; bytes_out += n; }
        m[i].next_at += interval;
      }
      if (m[i].next_at < soonest) soonest = m[i].next_at;
    }
    now = now_us();
    int timeout = soonest > now ? (int)((soonest - now + 999) / 1000) : 0;
    int k = epoll_wait(ep, evs, 256, timeout);
    if (k < 0 && errno != EINTR) die("epoll_wait");
    uint64_t recv = now_us();
    int in_win = recv >= win_start && recv < win_end + 500000;
    for (int e = 0; e < k; e++) {
      member_t *c = &m[evs[e].data.u32];
      for (;;) {
        ssize_t r = read(c->fd, c->in + c->have, BUF - c->have);
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        if (r <= 0) { fprintf(stderr, "rt-client: connection closed by the server\n"); return 1; }
        if (in_win) bytes_in += (unsigned long)r;
        c->have += (size_t)r;
        size_t off = 0;
        while (c->have - off >= 4) {
          uint32_t n; memcpy(&n, c->in + off, 4); n = ntohl(n);
          if (c->have - off < 4 + (size_t)n) break;
          unsigned char *b = c->in + off + 4;
          if (is_push(b, n)) {
            const unsigned char *t = find_key(b, b + n, "tag"); double tag;
            if (t && find_key(b, b + n, "channel.moved") && read_num(t, b + n, &tag) && tag >= win_start && tag < win_end) {
              events++;
              if (lat_n == lat_cap) { lat_cap *= 2; lat = realloc(lat, lat_cap * 4); }
              lat[lat_n++] = (uint32_t)(recv - (uint64_t)tag);
            }
          } else {
            const unsigned char *iv = find_key(b, b + n, "id"); double id;
            if (iv && read_num(iv, b + n, &id)) {
              uint64_t tag = c->tag_of[(uint32_t)id % RING];
              if (tag >= win_start && tag < win_end) { if (is_ok(b, n)) moves_ok++; else move_err++; }
            }
          }
          off += 4 + n;
        }
        memmove(c->in, c->in + off, c->have - off);
        c->have -= off;
      }
    }
  }
  /* Leave the channels, so the server frees their places now rather than after the resume grace (the next
     round fills the same channels). Skipped on a connection holding a partial frame (its stream is not at a frame start). */
  for (int i = 0; i < members; i++) {
    if (m[i].have) continue;
    fcntl(m[i].fd, F_SETFL, fcntl(m[i].fd, F_GETFL) & ~O_NONBLOCK);
    unsigned char *p = req + 4; p = p_map(p, 3); p = p_str(p, "id"); p = p_uint(p, 3); p = p_str(p, "op"); p = p_str(p, "channel.leave");
    p = p_str(p, "body"); p = p_map(p, 0);
    call(m[i].fd, tmp, req, frame_done(req, p));
  }
  FILE *lf = fopen(latfile, "wb");
  if (!lf || fwrite(lat, 4, lat_n, lf) != lat_n) die("latency file");
  fclose(lf);
  printf("{\"moves\":%lu,\"movesOk\":%lu,\"moveErrors\":%lu,\"events\":%lu,"
         "\"windowUs\":%llu,\"cpuUs\":%llu,\"bytesIn\":%lu,\"bytesOut\":%lu}\n",
         moves, moves_ok, move_err, events, (unsigned long long)(win_end - win_start), (unsigned long long)(cpu1 - cpu0), bytes_in,
           bytes_out);
  return 0;
}
`;

/** Path of the compiled client, or null (with the reason) when no C compiler works. */
export function buildRtClient(): { path: string } | { path: null; reason: string } {
  const hash = createHash('sha256').update(RT_CLIENT_C).digest('hex').slice(0, 12);
  const dir = join(tmpdir(), 'lg-rt-client');
  const bin = join(dir, `rt-client-${hash}`);
  if (existsSync(bin)) return { path: bin };
  try {
    mkdirSync(dir, { recursive: true });
    const src = join(dir, `rt-client-${hash}-${process.pid}.c`);
    writeFileSync(src, RT_CLIENT_C);
    // Built under a private name and renamed: two compares building at once never run a half-written binary.
    const part = `${bin}.${process.pid}`;
    execFileSync(process.env.CC ?? 'cc', ['-O2', '-Wall', '-o', part, src], { stdio: 'pipe' });
    execFileSync('mv', ['-f', part, bin]);
    return { path: bin };
  } catch (err) {
    return { path: null, reason: `cannot build the C client: ${(err as Error).message.split('\n')[0]}` };
  }
}
