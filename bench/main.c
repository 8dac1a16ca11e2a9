/*
 * wmiev-bench: measures wmiev and its baselines side by side, in one run
 * (docs/performance.md). Usage:
 *   wmiev-bench [--quick] [--reps N] [--only SUBSTRING] [--no-pin]
 *   wmiev-bench --callgrind N [--path fire|source|write|direct|all] [--payload BYTES]
 *                                    (N synchronous fires, for valgrind; nothing timed)
 * Repetitions are interleaved (every case once, then every case again, ...)
 * so that a burst of load from elsewhere on the machine spreads over all
 * cases instead of spoiling one; each figure is the median of its repetitions.
 */
#include <stdlib.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include <wmiev/wmiev.h>

#include "bench.h"

#ifndef WMIEV_BENCH_BUILD_TYPE
#define WMIEV_BENCH_BUILD_TYPE "unknown"
#endif

typedef struct bench_case {
  const char *name;
  void (*run)(const bench_config *cfg, uint32_t payload, int rep);
} bench_case;

static const bench_case cases[] = {
    {"base.flag", base_flag},
    {"base.direct", base_direct},
    {"base.ring_uv", base_ring_uv},
    {"base.mutex_cond", base_mutex_cond},
    {"base.zmq_inproc", base_zmq},
    {"wmiev.sync_write", case_sync_write},
    {"wmiev.sync_fire", case_sync_fire},
    {"wmiev.sync_source", case_sync_source},
    {"wmiev.pumped_fire", case_pumped_fire},
    {"wmiev.pumped_source", case_pumped_source},
    {"wmiev.uv_fire_1p", case_uv_1p},
    {"wmiev.uv_fire_2p", case_uv_2p},
    {"wmiev.uv_source_1p", case_uv_source_1p},
    {"wmiev.uv_source_2p", case_uv_source_2p},
    {"wmiev.disabled_fire", case_disabled},
    {"wmiev.disabled_fire_1000g", case_disabled_1000g},
    {"wmiev.sync_fire_1000g", case_sync_fire_1000g},
    {"wmiev.disabled_source", case_disabled_source},
    {"wmiev.disabled_source_1000g", case_disabled_source_1000g},
    {"wmiev.sync_source_1000g", case_sync_source_1000g},
    {"wmiev.sync_reference", case_reference},
    {"wmiev.fanout_1", case_fanout_1},
    {"wmiev.fanout_4", case_fanout_4},
    {"wmiev.fanout_16", case_fanout_16},
    {"wmiev.memory", case_memory},
};

static const uint32_t payloads[] = {64, 1024};

static void usage(FILE *out) {
  fprintf(
      out,
      "usage: wmiev-bench [--quick] [--reps N] [--only SUBSTRING] [--no-pin]\n"
      "       wmiev-bench --callgrind N [--path fire|source|write|direct|all] [--payload BYTES]\n"
      "  --quick        short run (CI smoke): 3 repetitions, 1/20 of the events\n"
      "  --reps N       repetitions of every timed figure (default 5; median reported)\n"
      "  --only S       only the cases whose name contains S (or one of S,T,...)\n"
      "  --no-pin       leave threads where the scheduler puts them (default: producers\n"
      "                 on the first CPU, consumers on the second)\n"
      "  --callgrind N  N synchronous fires of each kind, nothing timed (run under\n"
      "                 valgrind --tool=callgrind; see docs/performance.md)\n");
}

static void cpu_model(char *out, size_t size) {
  snprintf(out, size, "unknown");
  FILE *f = fopen("/proc/cpuinfo", "r");
  if (f == NULL) {
    return;
  }
  char line[512];
  while (fgets(line, sizeof line, f) != NULL) {
    if (strncmp(line, "model name", 10) == 0) {
      const char *colon = strchr(line, ':');
      if (colon != NULL) {
        colon++;
        while (*colon == ' ' || *colon == '\t') {
          colon++;
        }
        snprintf(out, size, "%s", colon);
        out[strcspn(out, "\n")] = '\0';
      }
      break;
    }
  }
  fclose(f);
}

static void describe_machine(const bench_config *cfg) {
  char date[64];
  time_t now = time(NULL);
  strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S UTC", gmtime(&now));
  char cpu[256];
  cpu_model(cpu, sizeof cpu);
  char host[128] = "unknown";
  (void)gethostname(host, sizeof host - 1);
  printf("wmiev-bench (wmiev %s)\n", wmiev_version_string());
  printf("INFO date=\"%s\"\n", date);
  struct utsname uts;
  if (uname(&uts) != 0) {
    snprintf(uts.release, sizeof uts.release, "unknown");
  }
  printf("INFO host=\"%s\" nproc=%ld cpu=\"%s\" kernel=\"%s\"\n", host,
         sysconf(_SC_NPROCESSORS_ONLN), cpu, uts.release);
  printf("INFO build_type=%s compiler=\"%s\" libuv=%s zeromq=%s\n", WMIEV_BENCH_BUILD_TYPE,
         __VERSION__, uv_version_string(), base_zmq_version());
  printf("INFO reps=%d quick=%s scale=%.3f paced_samples=%u paced_interval_us=%u "
         "queue_events=%u sample_every=%u\n",
         cfg->reps, cfg->quick ? "yes" : "no", cfg->scale, (unsigned)cfg->paced_samples,
         (unsigned)(cfg->paced_interval_ns / 1000u), (unsigned)BENCH_QUEUE_EVENTS,
         (unsigned)BENCH_SAMPLE_EVERY);
  if (!base_have_zmq()) {
    printf("SKIP base.zmq_inproc: libzmq was not found (pkg-config libzmq) when wmiev-bench was "
           "built, or the build uses ThreadSanitizer; the ZeroMQ baseline and its targets are "
           "skipped\n");
  }
  fflush(stdout);
}

/* ---- Targets --------------------------------------------------------------------------------- */

static int targets_met, targets_total;

static void target(const char *name, uint32_t payload, bool have, double ratio, double limit,
                   bool max, const char *what) {
  bool met = bench_target(stdout, name, payload, ratio, have, limit, max, what);
  if (have) {
    targets_total++;
    targets_met += met ? 1 : 0;
  }
}

/* a/b of two medians; false when either is missing. */
static bool ratio_of(uint32_t payload, const char *a, const char *b, const char *metric,
                     double *ratio) {
  double x, y;
  bool have =
      bench_median(a, payload, metric, &x) && bench_median(b, payload, metric, &y) && y != 0.0;
  *ratio = have ? x / y : 0.0;
  return have;
}

static void ratio_target(const char *name, uint32_t payload, const char *a, const char *b,
                         const char *metric, double limit, bool max, const char *what) {
  double ratio;
  bool have = ratio_of(payload, a, b, metric, &ratio);
  target(name, payload, have, ratio, limit, max, what);
}

/* A ratio printed for comparison only, as a REPORT line: the by-GUID forms,
 * whose targets are carried by the source form (D17). */
static void ratio_report(const char *name, uint32_t payload, const char *a, const char *b,
                         const char *metric, const char *what) {
  double ratio;
  (void)ratio_of(payload, a, b, metric, &ratio);
  printf("REPORT name=%s payload=%u ratio=%.3f  # %s\n", name, (unsigned)payload, ratio, what);
}

static void value_target(const char *name, uint32_t payload, const char *a, const char *metric,
                         double scale, double limit, bool max, const char *what) {
  double x;
  bool have = bench_median(a, payload, metric, &x);
  target(name, payload, have, have ? x / scale : 0.0, limit, max, what);
}

static void print_targets(void) {
  printf("\nTargets (ratios of medians from this run)\n");
  /* The targets are on the fast form, wmiev_source_fire (source.h, D17);
   * the by-GUID forms are reported beside it. */
  ratio_target("sync_source_vs_direct", 64, "wmiev.sync_source", "base.direct", "ns_per_event", 2.0,
               true, "source_fire to 1 subscriber vs memcpy + call, ns/event");
  ratio_report("sync_fire_vs_direct", 64, "wmiev.sync_fire", "base.direct", "ns_per_event",
               "fire_event to 1 subscriber vs memcpy + call, ns/event (by GUID)");
  ratio_report("sync_write_vs_direct", 64, "wmiev.sync_write", "base.direct", "ns_per_event",
               "alloc_event + write_event to 1 subscriber vs memcpy + call, ns/event");
  ratio_target("disabled_source_vs_flag", 64, "wmiev.disabled_source", "base.flag", "ns_per_event",
               2.0, true, "source_fire with no subscriber vs flag check, ns/event");
  ratio_target("disabled_source_1000g_vs_flag", 64, "wmiev.disabled_source_1000g", "base.flag",
               "ns_per_event", 2.0, true, "the same with 1000 GUIDs / 100 providers registered");
  ratio_target("disabled_source_1000g_vs_1g", 64, "wmiev.disabled_source_1000g",
               "wmiev.disabled_source", "ns_per_event", 1.25, true,
               "no-subscriber cost independent of registered GUIDs (1.25: noise margin)");
  ratio_report("disabled_fire_vs_flag", 64, "wmiev.disabled_fire", "base.flag", "ns_per_event",
               "fire_event with no subscriber vs flag check (by GUID)");
  ratio_target("sync_source_1000g_vs_1g", 64, "wmiev.sync_source_1000g", "wmiev.sync_source",
               "ns_per_event", 1.25, true,
               "delivery cost independent of registered GUIDs (1.25: noise margin)");
  ratio_target("sync_fire_1000g_vs_1g", 64, "wmiev.sync_fire_1000g", "wmiev.sync_fire",
               "ns_per_event", 1.25, true,
               "lookup cost independent of registered GUIDs (1.25: noise margin)");
  for (size_t i = 0; i < sizeof payloads / sizeof payloads[0]; i++) {
    uint32_t p = payloads[i];
    ratio_target("uv_1p_vs_ring_throughput", p, "wmiev.uv_source_1p", "base.ring_uv",
                 "events_per_s", 1.0, false, "libuv delivery vs SPSC ring + uv_async, events/s");
    ratio_target("uv_1p_vs_zmq_throughput", p, "wmiev.uv_source_1p", "base.zmq_inproc",
                 "events_per_s", 2.5, false, "libuv delivery vs ZeroMQ inproc PUB/SUB, events/s");
    ratio_target("uv_2p_vs_1p_throughput", p, "wmiev.uv_source_2p", "wmiev.uv_source_1p",
                 "events_per_s", 0.8, false, "two producer threads vs one, events/s");
    ratio_target("uv_paced_p99_vs_ring", p, "wmiev.uv_source_1p", "base.ring_uv",
                 "lat_paced_p99_ns", 1.2, true, "fire-to-callback p99, one event every 50 us");
    ratio_target("uv_saturated_p99_vs_ring", p, "wmiev.uv_source_1p", "base.ring_uv",
                 "lat_sat_p99_ns", 1.5, true, "fire-to-callback p99, back to back");
    ratio_report("uv_fire_1p_vs_ring_throughput", p, "wmiev.uv_fire_1p", "base.ring_uv",
                 "events_per_s", "the same by GUID, fire_event");
    value_target("allocs_sync_source", p, "wmiev.sync_source", "allocs_per_event", 1.0, 0.0, true,
                 "heap allocations per event, source_fire, sync");
    value_target("allocs_uv_source", p, "wmiev.uv_source_1p", "allocs_per_event", 1.0, 0.0, true,
                 "heap allocations per event, source_fire, libuv delivery");
    value_target("allocs_sync_fire", p, "wmiev.sync_fire", "allocs_per_event", 1.0, 0.0, true,
                 "heap allocations per event, fire_event, sync (ratio = allocations/event)");
    value_target("allocs_pumped_fire", p, "wmiev.pumped_fire", "allocs_per_event", 1.0, 0.0, true,
                 "heap allocations per event, fire_event + dispatch, pumped");
    value_target("allocs_uv_fire", p, "wmiev.uv_fire_1p", "allocs_per_event", 1.0, 0.0, true,
                 "heap allocations per event, fire_event, libuv delivery");
    value_target("bytes_per_queued_event", p, "wmiev.queue_fire", "bytes_per_queued_event",
                 (double)p + 32.0, 1.0, true,
                 "queue bytes per queued fire_event event / (payload + 32)");
    double peak, growth;
    bool have = bench_median("wmiev.stalled", p, "peak_bytes", &peak) &&
                bench_median("wmiev.stalled", p, "peak_growth_bytes", &growth) && peak > growth;
    target("stalled_peak_bounded", p, have, have ? peak / (peak - growth) : 0.0, 1.0, true,
           "peak memory after 10x queue capacity fired at a stalled consumer / before");
    ratio_target("fanout_16_vs_1", p, "wmiev.fanout_16", "wmiev.fanout_1", "ns_per_event", 16.0,
                 true, "sync fire to 16 subscribers vs 1, ns/event");
  }
  printf("TARGETS met=%d of=%d\n", targets_met, targets_total);
}

/* ---- main ---------------------------------------------------------------------------------------
 */

/* True if `only` is NULL or `name` contains one of its comma-separated parts. */
static bool selected(const char *name, const char *only) {
  if (only == NULL) {
    return true;
  }
  for (const char *part = only;;) {
    const char *comma = strchr(part, ',');
    size_t len = comma != NULL ? (size_t)(comma - part) : strlen(part);
    for (const char *at = name; len != 0 && *at != '\0'; at++) {
      if (strncmp(at, part, len) == 0) {
        return true;
      }
    }
    if (comma == NULL) {
      return false;
    }
    part = comma + 1;
  }
}

int main(int argc, char **argv) {
  bench_config cfg = {.reps = 5,
                      .quick = false,
                      .scale = 1.0,
                      .paced_samples = 4000,
                      .paced_interval_ns = 50000,
                      .only = NULL};
  uint64_t callgrind = 0;
  uint32_t callgrind_payload = 64;
  const char *callgrind_path = "all";
  bool reps_given = false;
  bool no_pin = false;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--quick") == 0) {
      cfg.quick = true;
    } else if (strcmp(a, "--reps") == 0 && i + 1 < argc) {
      cfg.reps = atoi(argv[++i]);
      reps_given = true;
    } else if (strcmp(a, "--no-pin") == 0) {
      no_pin = true;
    } else if (strcmp(a, "--only") == 0 && i + 1 < argc) {
      cfg.only = argv[++i];
    } else if (strcmp(a, "--callgrind") == 0 && i + 1 < argc) {
      callgrind = strtoull(argv[++i], NULL, 10);
    } else if (strcmp(a, "--path") == 0 && i + 1 < argc) {
      callgrind_path = argv[++i];
    } else if (strcmp(a, "--payload") == 0 && i + 1 < argc) {
      callgrind_payload = (uint32_t)strtoul(argv[++i], NULL, 10);
    } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      usage(stdout);
      return 0;
    } else {
      usage(stderr);
      return 2;
    }
  }
  if (callgrind != 0) {
    if (callgrind_payload < 8 || callgrind_payload > 2048) {
      usage(stderr);
      return 2;
    }
    return case_callgrind(callgrind, callgrind_payload, callgrind_path);
  }
  if (cfg.quick) {
    cfg.scale = 0.05;
    cfg.paced_samples = 400;
    if (!reps_given) {
      cfg.reps = 3;
    }
  }
  if (cfg.reps < 1 || cfg.reps > 64) {
    fprintf(stderr, "wmiev-bench: --reps must be 1..64\n");
    return 2;
  }

  char pinning[96];
  bench_pin_setup(no_pin, pinning, sizeof pinning);
  describe_machine(&cfg);
  printf("INFO pinning %s\n", pinning);
  fflush(stdout);
  uint64_t start = bench_now_ns();
  /* A progress line on a terminal; one line per repetition in a log. */
  bool progress = isatty(STDERR_FILENO) != 0;
  for (int rep = 0; rep < cfg.reps; rep++) {
    if (!progress) {
      fprintf(stderr, "wmiev-bench: repetition %d of %d\n", rep + 1, cfg.reps);
    }
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
      if (!selected(cases[c].name, cfg.only)) {
        continue;
      }
      for (size_t p = 0; p < sizeof payloads / sizeof payloads[0]; p++) {
        if (progress) {
          fprintf(stderr, "\rrep %d/%d  %-28s %4u B   ", rep + 1, cfg.reps, cases[c].name,
                  (unsigned)payloads[p]);
          fflush(stderr);
        }
        cases[c].run(&cfg, payloads[p], rep);
      }
    }
  }
  fprintf(stderr, "%swmiev-bench: done in %.1f s%40s\n", progress ? "\r" : "",
          (double)(bench_now_ns() - start) / 1e9, "");

  bench_print_table(stdout);
  bench_print_lines(stdout);
  print_targets();
  return 0;
}
