/* Results, medians, percentiles, and the output (table, BENCH and TARGET lines). */
#include <math.h>
#include <sched.h>
#include <stdlib.h>
#include <time.h>

#include "bench.h"

uint64_t bench_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void bench_spin_until(uint64_t deadline_ns) {
  while (bench_now_ns() < deadline_ns) {
  }
}

void bench_pace_until(uint64_t deadline_ns) {
  /* Sleep (giving the CPU to the consumer or to anyone else) until shortly
   * before the deadline, then spin the rest: the events leave on time, and
   * a 2-core machine keeps a core for the consumer. */
  uint64_t now = bench_now_ns();
  if (deadline_ns > now + 20000u) {
    uint64_t wake = deadline_ns - 15000u;
    struct timespec ts = {(time_t)(wake / 1000000000u), (long)(wake % 1000000000u)};
    (void)clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
  }
  bench_spin_until(deadline_ns);
}

void bench_yield(void) { (void)sched_yield(); }

uint64_t bench_sink_wait(bench_sink *s, void (*kick)(void *ctx), void *ctx) {
  uint64_t next_kick = bench_now_ns() + 1000000u;
  /* A consumer that makes no progress for 30 s has lost events: fail
   * loudly instead of hanging (CI runs this). */
  uint64_t seen = 0, progress_at = bench_now_ns();
  uint64_t count;
  while ((count = atomic_load_explicit(&s->count, memory_order_acquire)) < s->target) {
    bench_yield();
    uint64_t now = bench_now_ns();
    if (count != seen) {
      seen = count;
      progress_at = now;
    } else if (now - progress_at > 30000000000u) {
      fprintf(stderr, "wmiev-bench: the consumer stopped at %llu of %llu events: events lost\n",
              (unsigned long long)count, (unsigned long long)s->target);
      abort();
    }
    if (kick != NULL && now >= next_kick) {
      kick(ctx);
      next_kick = bench_now_ns() + 1000000u;
    }
  }
  uint64_t end;
  while ((end = atomic_load_explicit(&s->end_ns, memory_order_acquire)) == 0) {
    bench_yield();
  }
  return end;
}

void bench_payload_init(uint8_t *buf, uint32_t size) {
  for (uint32_t i = 0; i < size; i++) {
    buf[i] = (uint8_t)(i * 7u + 1u);
  }
  if (size >= 8) {
    memset(buf, 0, 8);
  }
}

uint8_t *bench_payload_new(uint32_t size) {
  uint8_t *buf = malloc(size);
  if (buf == NULL) {
    abort();
  }
  bench_payload_init(buf, size);
  return buf;
}

uint64_t bench_events(const bench_config *cfg, uint32_t payload, uint64_t base_count) {
  double n = (double)base_count * cfg->scale;
  if (payload > 64) {
    n /= 2.0;
  }
  if (n < 1000.0) {
    n = 1000.0;
  }
  /* A multiple of the sampling period and of two producers. */
  uint64_t count = (uint64_t)n;
  return count - count % (2u * BENCH_SAMPLE_EVERY) + 2u * BENCH_SAMPLE_EVERY;
}

/* ---- Results ---------------------------------------------------------------------------- */

#define MAX_FIGURES 1024
#define MAX_REPS 64

typedef struct figure {
  char name[48];
  uint32_t payload;
  char metric[32];
  double values[MAX_REPS];
  int n;
} figure;

static figure figures[MAX_FIGURES];
static int figure_count;

static figure *find(const char *name, uint32_t payload, const char *metric, bool create) {
  for (int i = 0; i < figure_count; i++) {
    figure *f = &figures[i];
    if (f->payload == payload && strcmp(f->name, name) == 0 && strcmp(f->metric, metric) == 0) {
      return f;
    }
  }
  if (!create || figure_count == MAX_FIGURES) {
    return NULL;
  }
  figure *f = &figures[figure_count++];
  snprintf(f->name, sizeof f->name, "%s", name);
  f->payload = payload;
  snprintf(f->metric, sizeof f->metric, "%s", metric);
  f->n = 0;
  return f;
}

void bench_record(const char *name, uint32_t payload, const char *metric, double value) {
  figure *f = find(name, payload, metric, true);
  if (f != NULL && f->n < MAX_REPS) {
    f->values[f->n++] = value;
  }
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y ? 1 : 0;
}

static double median(const figure *f) {
  double v[MAX_REPS];
  memcpy(v, f->values, (size_t)f->n * sizeof v[0]);
  qsort(v, (size_t)f->n, sizeof v[0], cmp_double);
  return f->n % 2 == 1 ? v[f->n / 2] : (v[f->n / 2 - 1] + v[f->n / 2]) / 2.0;
}

bool bench_median(const char *name, uint32_t payload, const char *metric, double *out) {
  const figure *f = find(name, payload, metric, false);
  if (f == NULL || f->n == 0) {
    return false;
  }
  *out = median(f);
  return true;
}

/* ---- Latency ---------------------------------------------------------------------------- */

void bench_lat_init(bench_lat *l, size_t cap) {
  l->v = malloc(cap * sizeof *l->v);
  l->n = 0;
  l->cap = l->v != NULL ? cap : 0;
}

void bench_lat_free(bench_lat *l) {
  free(l->v);
  l->v = NULL;
  l->n = l->cap = 0;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y ? 1 : 0;
}

/* Nearest-rank percentile of sorted samples. */
static double percentile(const uint64_t *v, size_t n, double p) {
  size_t rank = (size_t)ceil(p / 100.0 * (double)n);
  if (rank < 1) {
    rank = 1;
  }
  return (double)v[rank - 1];
}

void bench_lat_record(bench_lat *l, const char *name, uint32_t payload, const char *kind) {
  if (l->n == 0) {
    return;
  }
  qsort(l->v, l->n, sizeof l->v[0], cmp_u64);
  char metric[32];
  snprintf(metric, sizeof metric, "lat_%s_p50_ns", kind);
  bench_record(name, payload, metric, percentile(l->v, l->n, 50.0));
  snprintf(metric, sizeof metric, "lat_%s_p99_ns", kind);
  bench_record(name, payload, metric, percentile(l->v, l->n, 99.0));
  snprintf(metric, sizeof metric, "lat_%s_p999_ns", kind);
  bench_record(name, payload, metric, percentile(l->v, l->n, 99.9));
}

/* ---- Output ------------------------------------------------------------------------------ */

/* The case names in the order they were first measured. */
static int case_names(const char *names[], uint32_t payloads[], int max) {
  int n = 0;
  for (int i = 0; i < figure_count; i++) {
    bool seen = false;
    for (int j = 0; j < n; j++) {
      if (payloads[j] == figures[i].payload && strcmp(names[j], figures[i].name) == 0) {
        seen = true;
        break;
      }
    }
    if (!seen && n < max) {
      names[n] = figures[i].name;
      payloads[n] = figures[i].payload;
      n++;
    }
  }
  return n;
}

static void cell(FILE *out, const char *name, uint32_t payload, const char *metric, double div,
                 int width, int decimals) {
  double v;
  if (bench_median(name, payload, metric, &v)) {
    fprintf(out, " %*.*f", width, decimals, v / div);
  } else {
    fprintf(out, " %*s", width, "-");
  }
}

void bench_print_table(FILE *out) {
  const char *names[MAX_FIGURES];
  uint32_t payloads[MAX_FIGURES];
  int n = case_names(names, payloads, MAX_FIGURES);
  fprintf(out, "\nThroughput and latency (medians; latency in microseconds, fire to callback)\n");
  fprintf(out, "%-24s %5s %9s %8s %8s %8s %8s %8s %8s %8s %7s\n", "case", "bytes", "ns/event",
          "Mev/s", "sat p50", "sat p99", "sat p999", "pcd p50", "pcd p99", "pcd p999", "alloc/ev");
  for (int i = 0; i < n; i++) {
    double v;
    if (!bench_median(names[i], payloads[i], "ns_per_event", &v) &&
        !bench_median(names[i], payloads[i], "allocs_per_event", &v)) {
      continue;
    }
    fprintf(out, "%-24s %5u", names[i], (unsigned)payloads[i]);
    cell(out, names[i], payloads[i], "ns_per_event", 1.0, 9, 1);
    cell(out, names[i], payloads[i], "events_per_s", 1e6, 8, 2);
    cell(out, names[i], payloads[i], "lat_sat_p50_ns", 1e3, 8, 2);
    cell(out, names[i], payloads[i], "lat_sat_p99_ns", 1e3, 8, 2);
    cell(out, names[i], payloads[i], "lat_sat_p999_ns", 1e3, 8, 2);
    cell(out, names[i], payloads[i], "lat_paced_p50_ns", 1e3, 8, 2);
    cell(out, names[i], payloads[i], "lat_paced_p99_ns", 1e3, 8, 2);
    cell(out, names[i], payloads[i], "lat_paced_p999_ns", 1e3, 8, 2);
    cell(out, names[i], payloads[i], "allocs_per_event", 1.0, 7, 2);
    fprintf(out, "\n");
  }
  /* Everything else (memory figures, extra counters), one line per figure. */
  fprintf(out, "\nOther figures (medians)\n");
  static const char *const shown[] = {"ns_per_event",     "events_per_s",      "lat_sat_p50_ns",
                                      "lat_sat_p99_ns",   "lat_sat_p999_ns",   "lat_paced_p50_ns",
                                      "lat_paced_p99_ns", "lat_paced_p999_ns", "allocs_per_event"};
  for (int i = 0; i < figure_count; i++) {
    bool in_table = false;
    for (size_t k = 0; k < sizeof shown / sizeof shown[0]; k++) {
      if (strcmp(figures[i].metric, shown[k]) == 0) {
        in_table = true;
      }
    }
    if (!in_table) {
      fprintf(out, "  %-24s %5u  %-28s %14.2f\n", figures[i].name, (unsigned)figures[i].payload,
              figures[i].metric, median(&figures[i]));
    }
  }
}

void bench_print_lines(FILE *out) {
  fprintf(out, "\n");
  for (int i = 0; i < figure_count; i++) {
    const figure *f = &figures[i];
    double v = median(f);
    /* Enough digits for small ratios, no exponent for large counts. */
    double lo = f->values[0], hi = f->values[0];
    for (int k = 1; k < f->n; k++) {
      lo = f->values[k] < lo ? f->values[k] : lo;
      hi = f->values[k] > hi ? f->values[k] : hi;
    }
    int digits = fabs(v) < 100.0 ? 3 : 1;
    fprintf(out, "BENCH name=%s payload=%u metric=%s value=%.*f reps=%d min=%.*f max=%.*f\n",
            f->name, (unsigned)f->payload, f->metric, digits, v, f->n, digits, lo, digits, hi);
  }
}

bool bench_target(FILE *out, const char *name, uint32_t payload, double ratio, bool have,
                  double limit, bool max, const char *what) {
  if (!have) {
    fprintf(out, "TARGET name=%s payload=%u ratio=- limit=%s%.2f met=skipped  # %s\n", name,
            (unsigned)payload, max ? "<=" : ">=", limit, what);
    return false;
  }
  bool met = max ? ratio <= limit : ratio >= limit;
  fprintf(out, "TARGET name=%s payload=%u ratio=%.3f limit=%s%.2f met=%s  # %s\n", name,
          (unsigned)payload, ratio, max ? "<=" : ">=", limit, met ? "yes" : "no", what);
  return met;
}
