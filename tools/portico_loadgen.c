/* portico-loadgen: a small iSCSI load generator on libiscsi's asynchronous API.
 *
 * It logs in synchronously, then keeps --qd READ(16)/WRITE(16) commands in flight from a poll()
 * loop (iscsi_get_fd / iscsi_which_events / iscsi_service) and times every command with
 * CLOCK_MONOTONIC. It ends with one machine-readable line:
 *   iops=… mibps=… p50_us=… p99_us=… ios=… errors=…
 * --rw verify writes a pattern derived from (lba, seed) over the whole span, reads it all back
 * and exits 1 on any mismatch (the data-integrity check of tests/integration); --rw check only
 * reads and checks, to prove that data written earlier (another session, before a restart) is
 * still there. --rw pr-register times PERSISTENT RESERVE OUT (REGISTER / unregister pairs).
 * --register-key KEY registers KEY on the session before the run and removes it after, so that
 * the run meets a LUN with a registration present (a target may pay for that on every command);
 * --reserve-type T also makes that registration hold a reservation of type T for the run.
 *
 * Written in C because libiscsi is a C library and this tool must stay tiny and dependency-free.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#include "tools/loadgen_pr.h"
#include "tools/loadgen_stats.h"

enum mode { MODE_RANDREAD, MODE_RANDWRITE, MODE_READ, MODE_WRITE, MODE_VERIFY, MODE_CHECK, MODE_PR_REGISTER };

struct options {
  const char *url;
  const char *initiator;
  enum mode mode;
  uint32_t bs;
  int qd;
  double seconds;
  uint64_t ios;     /* 0: run for --seconds */
  uint64_t size;    /* 0: the whole LUN */
  uint64_t seed;
  uint64_t register_key;  /* 0: none */
  int reserve_type;       /* 0: none; else RESERVE of this type with register_key */
};

struct slot {
  struct loadgen *lg;
  unsigned char *buf;
  struct scsi_iovec iov;  /* libiscsi keeps a pointer to it until the command completes */
  uint64_t lba;
  uint64_t start_ns;
  int busy;
};

struct loadgen {
  struct options opt;
  struct iscsi_context *iscsi;
  int lun;
  uint32_t block_size;
  uint64_t span_blocks;   /* blocks of the LUN this run touches */
  uint32_t blocks_per_io;
  uint64_t next_seq;      /* next I/O index for sequential and verify phases */
  uint64_t total_ios;     /* I/Os in this phase (sequential and verify), or the --ios limit */
  uint64_t issued;
  uint64_t completed;
  uint64_t errors;
  uint64_t mismatches;
  uint64_t rng;
  int writing;            /* current phase writes */
  int sequential;
  int stop;               /* the connection failed: issue nothing more */
  uint64_t deadline_ns;   /* 0: no time limit */
  struct slot *slots;
  struct latency_samples lat;
};

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* splitmix64: tiny, seedable and good enough for offsets and data patterns. */
static uint64_t splitmix64(uint64_t *state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* The verify pattern of one block depends only on (lba, seed): a rerun with the same seed can
 * check data written by an earlier run. */
static void fill_block(unsigned char *p, uint32_t block_size, uint64_t lba, uint64_t seed) {
  uint64_t state = lba * 0x100000001B3ull ^ seed;
  for (uint32_t i = 0; i + 8 <= block_size; i += 8) {
    uint64_t v = splitmix64(&state);
    memcpy(p + i, &v, 8);
  }
  memcpy(p, &lba, 8); /* makes a misdirected block easy to spot in a hex dump */
}

static int parse_size(const char *text, uint64_t *out) {
  char *end = NULL;
  errno = 0;
  unsigned long long v = strtoull(text, &end, 10);
  if (errno != 0 || end == text) return -1;
  uint64_t mult = 1;
  if (*end == 'k' || *end == 'K') mult = 1ull << 10;
  else if (*end == 'm' || *end == 'M') mult = 1ull << 20;
  else if (*end == 'g' || *end == 'G') mult = 1ull << 30;
  else if (*end != '\0') return -1;
  if (*end != '\0' && end[1] != '\0' && strcmp(end + 1, "iB") != 0 && strcmp(end + 1, "B") != 0) return -1;
  *out = (uint64_t)v * mult;
  return 0;
}

static void usage(FILE *f) {
  fprintf(f,
          "usage: portico-loadgen --url iscsi://[user%%secret@]host[:port]/iqn/lun [options]\n"
          "  --rw randread|randwrite|read|write|verify|check|pr-register   (default randread)\n"
          "  --bs SIZE        I/O size, a multiple of the block size (default 4096)\n"
          "  --qd N           commands in flight (default 1)\n"
          "  --seconds S      run time (default 10; ignored by verify)\n"
          "  --ios N          stop after N I/Os instead of a time limit\n"
          "  --size SIZE      use only the first SIZE bytes of the LUN (default: all)\n"
          "  --seed N         offsets and verify pattern seed (default 1)\n"
          "  --register-key K register reservation key K (non-zero) before the run, remove it after;\n"
          "                   the result line then also gives registrations=N (READ KEYS after REGISTER)\n"
          "  --reserve-type T with --register-key: hold a reservation of type T (1 3 5 6 7 8) for the run\n"
          "  --initiator-name IQN  (default iqn.2026-11.io.portico:loadgen)\n"
          "CHAP: user%%secret in the URL; mutual CHAP: LIBISCSI_CHAP_TARGET_USERNAME/PASSWORD.\n");
}

static int parse_options(int argc, char **argv, struct options *o) {
  static const struct option longs[] = {
      {"url", required_argument, NULL, 'u'},     {"rw", required_argument, NULL, 'r'},
      {"bs", required_argument, NULL, 'b'},      {"qd", required_argument, NULL, 'q'},
      {"seconds", required_argument, NULL, 't'}, {"ios", required_argument, NULL, 'n'},
      {"size", required_argument, NULL, 's'},    {"seed", required_argument, NULL, 'S'},
      {"initiator-name", required_argument, NULL, 'i'}, {"register-key", required_argument, NULL, 'K'},
      {"reserve-type", required_argument, NULL, 'T'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  o->initiator = "iqn.2026-11.io.portico:loadgen";
  o->mode = MODE_RANDREAD;
  o->bs = 4096;
  o->qd = 1;
  o->seconds = 10.0;
  o->seed = 1;
  int c;
  uint64_t v;
  while ((c = getopt_long(argc, argv, "u:r:b:q:t:n:s:S:i:K:T:h", longs, NULL)) != -1) {
    switch (c) {
      case 'u': o->url = optarg; break;
      case 'i': o->initiator = optarg; break;
      case 'r':
        if (strcmp(optarg, "randread") == 0) o->mode = MODE_RANDREAD;
        else if (strcmp(optarg, "randwrite") == 0) o->mode = MODE_RANDWRITE;
        else if (strcmp(optarg, "read") == 0) o->mode = MODE_READ;
        else if (strcmp(optarg, "write") == 0) o->mode = MODE_WRITE;
        else if (strcmp(optarg, "verify") == 0) o->mode = MODE_VERIFY;
        else if (strcmp(optarg, "check") == 0) o->mode = MODE_CHECK;
        else if (strcmp(optarg, "pr-register") == 0) o->mode = MODE_PR_REGISTER;
        else { fprintf(stderr, "portico-loadgen: bad --rw '%s'\n", optarg); return -1; }
        break;
      case 'b':
        if (parse_size(optarg, &v) != 0 || v == 0 || v > (16u << 20)) {
          fprintf(stderr, "portico-loadgen: bad --bs '%s'\n", optarg);
          return -1;
        }
        o->bs = (uint32_t)v;
        break;
      case 'q':
        o->qd = atoi(optarg);
        if (o->qd < 1 || o->qd > 1024) { fprintf(stderr, "portico-loadgen: --qd must be 1..1024\n"); return -1; }
        break;
      case 't': o->seconds = atof(optarg); break;
      case 'n': o->ios = strtoull(optarg, NULL, 10); break;
      case 's':
        if (parse_size(optarg, &o->size) != 0) { fprintf(stderr, "portico-loadgen: bad --size '%s'\n", optarg); return -1; }
        break;
      case 'S': o->seed = strtoull(optarg, NULL, 0); break;
      case 'K': {
        char *end = NULL;
        errno = 0;
        o->register_key = strtoull(optarg, &end, 0);
        if (errno != 0 || end == optarg || *end != '\0' || o->register_key == 0) {
          fprintf(stderr, "portico-loadgen: bad --register-key '%s' (a non-zero 64-bit number)\n", optarg);
          return -1;
        }
        break;
      }
      case 'T': {
        char *end = NULL;
        long type = strtol(optarg, &end, 0);
        if (end == optarg || *end != '\0' || !(type == 1 || type == 3 || (type >= 5 && type <= 8))) {
          fprintf(stderr, "portico-loadgen: bad --reserve-type '%s' (1, 3, 5, 6, 7 or 8)\n", optarg);
          return -1;
        }
        o->reserve_type = (int)type;
        break;
      }
      case 'h': usage(stdout); exit(0);
      default: usage(stderr); return -1;
    }
  }
  if (o->url == NULL) { usage(stderr); return -1; }
  if (o->register_key != 0 && o->mode == MODE_PR_REGISTER) {
    fprintf(stderr, "portico-loadgen: --register-key does not go with --rw pr-register\n");
    return -1;
  }
  if (o->reserve_type != 0 && o->register_key == 0) {
    fprintf(stderr, "portico-loadgen: --reserve-type needs --register-key\n");
    return -1;
  }
  return 0;
}

static int connect_lun(struct loadgen *lg) {
  lg->iscsi = iscsi_create_context(lg->opt.initiator);
  if (lg->iscsi == NULL) { fprintf(stderr, "portico-loadgen: cannot create iSCSI context\n"); return -1; }
  struct iscsi_url *url = iscsi_parse_full_url(lg->iscsi, lg->opt.url);
  if (url == NULL) {
    fprintf(stderr, "portico-loadgen: bad URL: %s\n", iscsi_get_error(lg->iscsi));
    return -1;
  }
  iscsi_set_session_type(lg->iscsi, ISCSI_SESSION_NORMAL);
  iscsi_set_header_digest(lg->iscsi, ISCSI_HEADER_DIGEST_NONE_CRC32C);
  iscsi_set_targetname(lg->iscsi, url->target);
  if (url->user[0] != '\0') iscsi_set_initiator_username_pwd(lg->iscsi, url->user, url->passwd);
  if (url->target_user[0] != '\0') iscsi_set_target_username_pwd(lg->iscsi, url->target_user, url->target_passwd);
  lg->lun = url->lun;
  /* A dropped connection ends the run: libiscsi would otherwise reconnect and retry, which hides
   * a target that went away (the SIGTERM test wants the initiator to notice). */
  iscsi_set_noautoreconnect(lg->iscsi, 1);
  int rc = iscsi_full_connect_sync(lg->iscsi, url->portal, url->lun);
  iscsi_destroy_url(url);
  if (rc != 0) {
    fprintf(stderr, "portico-loadgen: login failed: %s\n", iscsi_get_error(lg->iscsi));
    return -1;
  }
  /* SAM-5 5.14: a new I_T nexus starts with a POWER ON/RESET unit attention that fails the first
   * command; consume it with TEST UNIT READY so that it does not count as an I/O error. */
  struct scsi_task *task = NULL;
  for (int i = 0; i < 4; ++i) {
    task = iscsi_testunitready_sync(lg->iscsi, lg->lun);
    int good = task != NULL && task->status == SCSI_STATUS_GOOD;
    if (task) scsi_free_scsi_task(task);
    if (good) break;
  }
  task = iscsi_readcapacity16_sync(lg->iscsi, lg->lun);
  if (task == NULL || task->status != SCSI_STATUS_GOOD) {
    fprintf(stderr, "portico-loadgen: READ CAPACITY(16) failed: %s\n", iscsi_get_error(lg->iscsi));
    if (task) scsi_free_scsi_task(task);
    return -1;
  }
  struct scsi_readcapacity16 *rc16 = scsi_datain_unmarshall(task);
  if (rc16 == NULL) { scsi_free_scsi_task(task); fprintf(stderr, "portico-loadgen: bad READ CAPACITY data\n"); return -1; }
  lg->block_size = rc16->block_length;
  uint64_t blocks = rc16->returned_lba + 1;
  scsi_free_scsi_task(task);
  if (lg->block_size == 0 || lg->opt.bs % lg->block_size != 0) {
    fprintf(stderr, "portico-loadgen: --bs %u is not a multiple of the block size %u\n", lg->opt.bs, lg->block_size);
    return -1;
  }
  lg->span_blocks = blocks;
  if (lg->opt.size != 0 && lg->opt.size / lg->block_size < blocks) lg->span_blocks = lg->opt.size / lg->block_size;
  lg->blocks_per_io = lg->opt.bs / lg->block_size;
  if (lg->span_blocks < lg->blocks_per_io) { fprintf(stderr, "portico-loadgen: LUN smaller than --bs\n"); return -1; }
  return 0;
}

static void submit(struct loadgen *lg, struct slot *s);

static int phase_done_issuing(const struct loadgen *lg) {
  if (lg->stop) return 1;
  if (lg->total_ios != 0 && lg->issued >= lg->total_ios) return 1;
  return lg->deadline_ns != 0 && now_ns() >= lg->deadline_ns;
}

static void on_complete(struct iscsi_context *iscsi, int status, void *command_data, void *private_data) {
  (void)iscsi;
  struct slot *s = private_data;
  struct loadgen *lg = s->lg;
  struct scsi_task *task = command_data;
  latency_add(&lg->lat, now_ns() - s->start_ns);
  lg->completed++;
  s->busy = 0;
  if (status != SCSI_STATUS_GOOD) {
    if (lg->errors < 5) {
      fprintf(stderr, "portico-loadgen: %s lba %" PRIu64 " failed: %s\n", lg->writing ? "write" : "read", s->lba,
              iscsi_get_error(lg->iscsi));
    }
    lg->errors++;
    /* libiscsi's own codes (not a SCSI status from the target) mean the transport is gone. */
    if (status == SCSI_STATUS_ERROR || status == SCSI_STATUS_CANCELLED || status == SCSI_STATUS_TIMEOUT) lg->stop = 1;
  } else if ((lg->opt.mode == MODE_VERIFY || lg->opt.mode == MODE_CHECK) && !lg->writing) {
    unsigned char *expect = malloc(lg->block_size);
    for (uint32_t b = 0; b < lg->blocks_per_io && expect != NULL; ++b) {
      fill_block(expect, lg->block_size, s->lba + b, lg->opt.seed);
      if (memcmp(expect, s->buf + (size_t)b * lg->block_size, lg->block_size) != 0) {
        if (lg->mismatches < 5) fprintf(stderr, "portico-loadgen: data mismatch at lba %" PRIu64 "\n", s->lba + b);
        lg->mismatches++;
      }
    }
    free(expect);
  }
  if (task != NULL) scsi_free_scsi_task(task);
  if (!phase_done_issuing(lg)) submit(lg, s);
}

static void submit(struct loadgen *lg, struct slot *s) {
  uint64_t slots_in_span = lg->span_blocks / lg->blocks_per_io;
  uint64_t index = lg->sequential ? lg->next_seq++ % slots_in_span : splitmix64(&lg->rng) % slots_in_span;
  s->lba = index * lg->blocks_per_io;
  s->busy = 1;
  s->start_ns = now_ns();
  lg->issued++;
  struct scsi_task *task;
  if (lg->writing) {
    if (lg->opt.mode == MODE_VERIFY) {
      for (uint32_t b = 0; b < lg->blocks_per_io; ++b) {
        fill_block(s->buf + (size_t)b * lg->block_size, lg->block_size, s->lba + b, lg->opt.seed);
      }
    }
    task = iscsi_write16_task(lg->iscsi, lg->lun, s->lba, s->buf, lg->opt.bs, (int)lg->block_size, 0, 0, 0, 0, 0,
                              on_complete, s);
  } else {
    s->iov.iov_base = s->buf;
    s->iov.iov_len = lg->opt.bs;
    task = iscsi_read16_iov_task(lg->iscsi, lg->lun, s->lba, lg->opt.bs, (int)lg->block_size, 0, 0, 0, 0, 0,
                                 on_complete, s, &s->iov, 1);
  }
  if (task == NULL) {
    fprintf(stderr, "portico-loadgen: cannot queue command: %s\n", iscsi_get_error(lg->iscsi));
    s->busy = 0;
    lg->errors++;
    lg->completed++;
    lg->stop = 1;
  }
}

static int in_flight(const struct loadgen *lg) {
  int n = 0;
  for (int i = 0; i < lg->opt.qd; ++i) n += lg->slots[i].busy;
  return n;
}

/* Runs one phase: keeps qd commands in flight until the phase's limit, then drains. */
static int run_phase(struct loadgen *lg) {
  for (int i = 0; i < lg->opt.qd && !phase_done_issuing(lg); ++i) submit(lg, &lg->slots[i]);
  while (in_flight(lg) > 0) {
    struct pollfd pfd = {.fd = iscsi_get_fd(lg->iscsi), .events = (short)iscsi_which_events(lg->iscsi)};
    int rc = poll(&pfd, 1, 1000);
    if (rc < 0) {
      if (errno == EINTR) continue;
      perror("portico-loadgen: poll");
      return -1;
    }
    if (iscsi_service(lg->iscsi, rc == 0 ? 0 : pfd.revents) < 0) {
      fprintf(stderr, "portico-loadgen: connection failed: %s\n", iscsi_get_error(lg->iscsi));
      return -1;
    }
  }
  return 0;
}

/* --rw pr-register: the latency of PERSISTENT RESERVE OUT, one at a time. Each I/O is a
 * REGISTER of a key or the REGISTER that removes it again (key -> 0), alternating, so the
 * reservation state is left as it was found. A clustered gateway completes each only after
 * every gateway applied it, so this measures the cross-gateway round trip. */
static int run_pr_register(struct loadgen *lg, uint64_t start) {
  const uint64_t key = 0x504f5254ull << 32 | (lg->opt.seed & 0xffffffffu);
  const uint64_t deadline = lg->opt.ios == 0 ? start + (uint64_t)(lg->opt.seconds * 1e9) : UINT64_MAX;
  int registered = 0;
  while ((lg->opt.ios == 0 || lg->completed < lg->opt.ios) && now_ns() < deadline) {
    uint64_t t0 = now_ns();
    struct scsi_task *task = loadgen_register(lg->iscsi, lg->lun, registered ? key : 0, registered ? 0 : key);
    latency_add(&lg->lat, now_ns() - t0);
    ++lg->completed;
    if (task == NULL || task->status != SCSI_STATUS_GOOD) {
      /* The first command of a session may meet its power-on unit attention: not an error. */
      int unit_attention = task != NULL && task->status == SCSI_STATUS_CHECK_CONDITION &&
                           task->sense.key == SCSI_SENSE_UNIT_ATTENTION;
      if (!unit_attention) {
        ++lg->errors;
        fprintf(stderr, "portico-loadgen: PERSISTENT RESERVE OUT failed: %s\n", iscsi_get_error(lg->iscsi));
      }
    } else {
      registered = !registered;
    }
    if (task != NULL) scsi_free_scsi_task(task);
    if (lg->errors > 10) return 1;
  }
  if (registered) {  /* leave no registration behind */
    struct scsi_task *task = loadgen_register(lg->iscsi, lg->lun, key, 0);
    if (task != NULL) scsi_free_scsi_task(task);
  }
  return 0;
}

int main(int argc, char **argv) {
  struct loadgen lg;
  memset(&lg, 0, sizeof lg);
  if (parse_options(argc, argv, &lg.opt) != 0) return 2;
  if (connect_lun(&lg) != 0) {
    if (lg.iscsi != NULL) iscsi_destroy_context(lg.iscsi);
    return 1;
  }
  lg.rng = lg.opt.seed;
  lg.slots = calloc((size_t)lg.opt.qd, sizeof *lg.slots);
  for (int i = 0; i < lg.opt.qd; ++i) {
    lg.slots[i].lg = &lg;
    lg.slots[i].buf = aligned_alloc(4096, (lg.opt.bs + 4095u) / 4096u * 4096u);
    if (lg.slots[i].buf == NULL) { fprintf(stderr, "portico-loadgen: out of memory\n"); return 1; }
    memset(lg.slots[i].buf, 0x5a, lg.opt.bs);
  }
  int registrations = 0;
  if (lg.opt.register_key != 0 &&
      (registrations = loadgen_register_session(lg.iscsi, lg.lun, lg.opt.register_key)) < 0) {
    iscsi_destroy_context(lg.iscsi);
    return 1;
  }
  if (lg.opt.reserve_type != 0 &&
      loadgen_reserve_session(lg.iscsi, lg.lun, lg.opt.register_key, lg.opt.reserve_type) != 0) {
    loadgen_unregister_session(lg.iscsi, lg.lun, lg.opt.register_key);
    iscsi_destroy_context(lg.iscsi);
    return 1;
  }
  uint64_t start = now_ns();
  int rc = 0;
  if (lg.opt.mode == MODE_PR_REGISTER) {
    rc = run_pr_register(&lg, start);
  } else if (lg.opt.mode == MODE_VERIFY || lg.opt.mode == MODE_CHECK) {
    lg.sequential = 1;
    lg.total_ios = lg.span_blocks / lg.blocks_per_io;
    if (lg.opt.ios != 0 && lg.opt.ios < lg.total_ios) lg.total_ios = lg.opt.ios;
    lg.writing = 1;
    if (lg.opt.mode == MODE_VERIFY) rc = run_phase(&lg);
    lg.writing = 0;
    lg.next_seq = 0;
    lg.issued = 0;
    if (rc == 0) rc = run_phase(&lg);
  } else {
    lg.sequential = lg.opt.mode == MODE_READ || lg.opt.mode == MODE_WRITE;
    lg.writing = lg.opt.mode == MODE_WRITE || lg.opt.mode == MODE_RANDWRITE;
    lg.total_ios = lg.opt.ios;
    if (lg.opt.ios == 0) lg.deadline_ns = start + (uint64_t)(lg.opt.seconds * 1e9);
    rc = run_phase(&lg);
  }
  double elapsed = (double)(now_ns() - start) / 1e9;
  if (lg.opt.register_key != 0 && rc == 0 && loadgen_unregister_session(lg.iscsi, lg.lun, lg.opt.register_key) != 0) rc = 1;
  uint64_t ok = lg.completed - lg.errors;
  printf("iops=%.0f mibps=%.1f p50_us=%.1f p99_us=%.1f ios=%" PRIu64 " errors=%" PRIu64,
         (double)lg.completed / elapsed, (double)ok * lg.opt.bs / elapsed / 1048576.0,
         latency_percentile_us(&lg.lat, 50.0), latency_percentile_us(&lg.lat, 99.0), lg.completed, lg.errors);
  if (lg.opt.mode == MODE_VERIFY || lg.opt.mode == MODE_CHECK) {
    printf(" mismatches=%" PRIu64 " checked_bytes=%" PRIu64, lg.mismatches, lg.total_ios * lg.opt.bs);
  }
  if (lg.opt.register_key != 0) printf(" registrations=%d", registrations);
  printf("\n");
  fflush(stdout);
  iscsi_logout_sync(lg.iscsi);
  iscsi_destroy_context(lg.iscsi);
  for (int i = 0; i < lg.opt.qd; ++i) free(lg.slots[i].buf);
  free(lg.slots);
  latency_free(&lg.lat);
  if (rc != 0 || lg.errors != 0 || lg.mismatches != 0) return 1;
  return 0;
}
