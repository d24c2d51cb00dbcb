/*
 * The bench's C reference for the mixer's per-packet cost: it receives the callers' RTP
 * and sends each caller one 20 ms PCMU packet per tick, with no mixing, decoding or
 * jitter buffer, in batches through recvmmsg/sendmmsg. What it costs is what moving
 * the same packets through the kernel costs; the mixer's CPU next to it shows what the
 * rest of the mixer adds (`bun run bench --scenarios media,echo`, BENCHMARKS.md).
 *
 *   rtp-echo HOST BASE_PORT SOCKETS
 *
 * Binds SOCKETS UDP sockets on BASE_PORT.. (the reference UAS names one of them in each
 * call's SDP answer, never two calls from the same source on one socket, like the
 * mixer's shared sockets). A caller is known by the socket and the address and port
 * its packets come from (symmetric RTP); it is sent to while it was heard in the last
 * 2 s. Prints "ready" once bound; on SIGTERM prints its counters to stderr and exits.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define SLOT 2048
#define FRAME_NS 20000000L
#define PAYLOAD 160
#define MAX_SOCKETS 1024
#define MAX_PEERS 16384
#define HASH_SIZE 32768 /* a power of two, twice MAX_PEERS */
#define SILENT_TICKS 100 /* 2 s */

struct peer {
  struct sockaddr_in addr;
  int sock;
  uint32_t ssrc;
  uint16_t seq;
  uint32_t ts;
  long heard; /* tick of the last packet */
};

static struct peer peers[MAX_PEERS];
static int npeers;
static int hash[HASH_SIZE]; /* peer index + 1; 0 is empty (peers are never removed, only go quiet) */
static int *by_sock[MAX_SOCKETS];
static int by_sock_len[MAX_SOCKETS];
static int by_sock_cap[MAX_SOCKETS];

static unsigned char rx_data[BATCH][SLOT];
static struct iovec rx_iov[BATCH];
static struct sockaddr_in rx_addr[BATCH];
static struct mmsghdr rx_msgs[BATCH];

static unsigned char tx_data[BATCH][12 + PAYLOAD];
static struct iovec tx_iov[BATCH];
static struct mmsghdr tx_msgs[BATCH];

static volatile sig_atomic_t stop;
static void on_term(int sig) { (void)sig; stop = 1; }

static unsigned slot_of(int sock, uint32_t addr, uint16_t port) {
  uint64_t k = ((uint64_t)(unsigned)sock << 48) ^ ((uint64_t)addr << 16) ^ port;
  k *= 0x9E3779B97F4A7C15ull;
  return (unsigned)(k >> 40) & (HASH_SIZE - 1);
}

/* The peer of this socket and source, added when new (or -1 when the table is full). */
static int find_peer(int sock, const struct sockaddr_in *a) {
  unsigned h = slot_of(sock, a->sin_addr.s_addr, a->sin_port);
  for (;;) {
    int i = hash[h];
    if (i == 0) break;
    struct peer *p = &peers[i - 1];
    if (p->sock == sock && p->addr.sin_addr.s_addr == a->sin_addr.s_addr && p->addr.sin_port == a->sin_port) return i - 1;
    h = (h + 1) & (HASH_SIZE - 1);
  }
  if (npeers == MAX_PEERS) return -1;
  int i = npeers++;
  peers[i].addr = *a;
  peers[i].sock = sock;
  peers[i].ssrc = (uint32_t)random() ^ ((uint32_t)random() << 16);
  peers[i].seq = (uint16_t)random();
  peers[i].ts = (uint32_t)random();
  peers[i].heard = -SILENT_TICKS;
  hash[h] = i + 1;
  if (by_sock_len[sock] == by_sock_cap[sock]) {
    by_sock_cap[sock] = by_sock_cap[sock] ? 2 * by_sock_cap[sock] : 64;
    by_sock[sock] = realloc(by_sock[sock], sizeof(int) * (size_t)by_sock_cap[sock]);
    if (!by_sock[sock]) abort();
  }
  by_sock[sock][by_sock_len[sock]++] = i;
  return i;
}

/* Sends the first q of tx_msgs; returns how many left. */
static unsigned long send_batch(int fd, int q) {
  unsigned long sent = 0;
  int done = 0;
  while (done < q) {
    int r = sendmmsg(fd, tx_msgs + done, (unsigned)(q - done), 0);
    if (r <= 0) {
      done++; /* an unreachable peer (ICMP) or a full buffer: skip that one */
      continue;
    }
    done += r;
    sent += (unsigned long)r;
  }
  return sent;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: rtp-echo HOST BASE_PORT SOCKETS\n");
    return 2;
  }
  int nsock = atoi(argv[3]);
  int base = atoi(argv[2]);
  if (nsock < 1 || nsock > MAX_SOCKETS || base < 1 || base + nsock > 65536) {
    fprintf(stderr, "rtp-echo: bad port range\n");
    return 2;
  }
  int fds[MAX_SOCKETS];
  for (int s = 0; s < nsock; s++) {
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)(base + s));
    if (inet_pton(AF_INET, argv[1], &a.sin_addr) != 1) {
      fprintf(stderr, "rtp-echo: bad host %s\n", argv[1]);
      return 2;
    }
    fds[s] = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int buf = 4 * 1024 * 1024;
    setsockopt(fds[s], SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
    if (fds[s] < 0 || bind(fds[s], (struct sockaddr *)&a, sizeof a) != 0) {
      fprintf(stderr, "rtp-echo: cannot bind %s:%d: %s\n", argv[1], base + s, strerror(errno));
      return 1;
    }
  }
  for (int i = 0; i < BATCH; i++) {
    rx_iov[i].iov_base = rx_data[i];
    rx_iov[i].iov_len = SLOT;
    rx_msgs[i].msg_hdr.msg_iov = &rx_iov[i];
    rx_msgs[i].msg_hdr.msg_iovlen = 1;
    tx_iov[i].iov_base = tx_data[i];
    tx_iov[i].iov_len = 12 + PAYLOAD;
    tx_msgs[i].msg_hdr.msg_iov = &tx_iov[i];
    tx_msgs[i].msg_hdr.msg_iovlen = 1;
    tx_msgs[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_in);
    memset(tx_data[i] + 12, 0xFF, PAYLOAD); /* PCMU silence */
  }
  signal(SIGTERM, on_term);
  signal(SIGINT, on_term);
  srandom((unsigned)getpid() ^ (unsigned)time(NULL));
  printf("ready\n");
  fflush(stdout);

  unsigned long received = 0, sent = 0, truncated = 0, full = 0;
  struct timespec next;
  clock_gettime(CLOCK_MONOTONIC, &next);
  for (long tick = 0; !stop; tick++) {
    next.tv_nsec += FRAME_NS;
    if (next.tv_nsec >= 1000000000L) {
      next.tv_nsec -= 1000000000L;
      next.tv_sec++;
    }
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR && !stop) {}
    for (int s = 0; s < nsock; s++) {
      /* What arrived since the last tick, BATCH datagrams a call. */
      for (;;) {
        for (int i = 0; i < BATCH; i++) {
          rx_msgs[i].msg_hdr.msg_name = &rx_addr[i];
          rx_msgs[i].msg_hdr.msg_namelen = sizeof rx_addr[i];
          rx_msgs[i].msg_hdr.msg_flags = 0;
        }
        int n = recvmmsg(fds[s], rx_msgs, BATCH, MSG_DONTWAIT, NULL);
        if (n <= 0) break;
        for (int i = 0; i < n; i++) {
          if (rx_msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
            truncated++;
            continue;
          }
          if (rx_msgs[i].msg_len < 12 || (rx_data[i][0] >> 6) != 2) continue;
          received++;
          int p = find_peer(s, &rx_addr[i]);
          if (p < 0) full++;
          else peers[p].heard = tick;
        }
        if (n < BATCH) break;
      }
      /* One packet to each caller of this socket heard lately. */
      int q = 0;
      for (int j = 0; j < by_sock_len[s]; j++) {
        struct peer *p = &peers[by_sock[s][j]];
        if (tick - p->heard > SILENT_TICKS) continue;
        unsigned char *h = tx_data[q];
        h[0] = 0x80;
        h[1] = 0; /* PCMU */
        h[2] = (unsigned char)(p->seq >> 8);
        h[3] = (unsigned char)p->seq;
        h[4] = (unsigned char)(p->ts >> 24);
        h[5] = (unsigned char)(p->ts >> 16);
        h[6] = (unsigned char)(p->ts >> 8);
        h[7] = (unsigned char)p->ts;
        h[8] = (unsigned char)(p->ssrc >> 24);
        h[9] = (unsigned char)(p->ssrc >> 16);
        h[10] = (unsigned char)(p->ssrc >> 8);
        h[11] = (unsigned char)p->ssrc;
        p->seq++;
        p->ts += PAYLOAD;
        tx_msgs[q].msg_hdr.msg_name = &p->addr;
        if (++q == BATCH) {
          sent += send_batch(fds[s], q);
          q = 0;
        }
      }
      if (q > 0) sent += send_batch(fds[s], q);
    }
  }
  fprintf(stderr, "rtp-echo: received %lu, sent %lu, truncated %lu, peers %d (table full: %lu)\n", received, sent, truncated, npeers, full);
  return 0;
}
