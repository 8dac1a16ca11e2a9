/*
 * wmiev-simulator: a fleet of simulated toasters firing WMI events into a
 * libuv loop through the in-process bus.
 *
 * Each toaster is a PDO ("ROOT\TOASTER\000N") with a portable WMI provider on
 * top of it, written the way a WDM driver uses wmilib: a GUID list and
 * callbacks. It registers two blocks with PDO instance names:
 *   - ToasterNotify (event only): fired on timers with the new temperature;
 *   - ToasterInfo (queryable): temperature and heating state.
 * Consumers subscribe and unsubscribe while the simulation runs, so the log
 * shows the bus sending IRP_MN_ENABLE_EVENTS when the first consumer of the
 * GUID appears and IRP_MN_DISABLE_EVENTS when the last one leaves. A firmware
 * thread fires bursts from outside the loop, and an inspector queries every
 * toaster's ToasterInfo block. At the end: a summary with the statistics, and
 * the exit status says whether every fired event is accounted for.
 *
 * Options: --toasters N (1..64, default 16), --duration-ms MS (default 3000),
 *          --quiet (no live log), --seed S.
 */
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <wmiev/uv.h>
#include <wmiev/wmiev.h>

/* {6A0E4A1C-2F2B-4B6E-9C55-0D6F21A7B301} ToasterNotify, {...302} ToasterInfo */
static const GUID toaster_notify = {
    0x6a0e4a1c, 0x2f2b, 0x4b6e, {0x9c, 0x55, 0x0d, 0x6f, 0x21, 0xa7, 0xb3, 0x01}};
static const GUID toaster_info = {
    0x6a0e4a1c, 0x2f2b, 0x4b6e, {0x9c, 0x55, 0x0d, 0x6f, 0x21, 0xa7, 0xb3, 0x02}};

#define MAX_TOASTERS 64

/* The event's payload and the data block's layout (what the MOF would declare). */
typedef struct toaster_reading {
  uint32_t toaster;
  uint32_t sequence;
  int32_t temperature_c;
  uint32_t heating;
} toaster_reading;

typedef struct toaster {
  struct simulator *sim;
  uint32_t number;
  wmiev_device *pdo;
  wmiev_provider *provider;
  wmiev_guid_reg guids[2];
  uv_timer_t timer;
  int32_t temperature_c;
  uint32_t heating;
  uint32_t sequence;
  atomic_bool events_enabled; /* set by IRP_MN_ENABLE/DISABLE_EVENTS */
} toaster;

typedef struct consumer {
  struct simulator *sim;
  const char *name;
  wmiev_subscription *subscription;
  uint64_t received;
} consumer;

typedef struct simulator {
  uv_loop_t *loop;
  wmiev_bus *bus;
  wmiev_uv *attachment;
  toaster toasters[MAX_TOASTERS];
  uint32_t toaster_count;
  consumer consumers[3];
  uv_timer_t script;    /* the consumers' comings and goings, and the inspector */
  uv_timer_t stop;
  uint32_t script_step;
  uint64_t start_ms;
  uint32_t duration_ms;
  bool quiet;
  uint64_t rng;
  uint64_t firmware_seed; /* set before the firmware thread starts; the loop owns `rng` */
  pthread_t firmware;
  atomic_bool firmware_running;
  atomic_uint_fast64_t firmware_fired;
  uint64_t enables, disables;
  uint64_t queries;
} simulator;

static void logf_(simulator *sim, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(simulator *sim, const char *fmt, ...) {
  if (sim->quiet) {
    return;
  }
  va_list args;
  va_start(args, fmt);
  printf("[%5" PRIu64 " ms] ", uv_now(sim->loop) - sim->start_ms);
  vprintf(fmt, args);
  printf("\n");
  va_end(args);
}

static uint32_t next_random(uint64_t *state) {
  /* xorshift64*: deterministic for a given --seed */
  *state ^= *state >> 12;
  *state ^= *state << 25;
  *state ^= *state >> 27;
  return (uint32_t)((*state * 0x2545F4914F6CDD1DULL) >> 32);
}

/* ---- The provider side: what a toaster driver's wmilib callbacks do ---------- */

static wmiev_status toaster_reginfo(wmiev_device *device, wmiev_reginfo_answer *answer,
                                    void *payload) {
  toaster *t = payload;
  (void)device;
  /* Instance names from the PDO: "ROOT\TOASTER\000N_0", as Windows shows them. */
  answer->reg_flags = WMIREG_FLAG_INSTANCE_PDO;
  answer->pdo = (uintptr_t)t->pdo;
  return WMIEV_STATUS_SUCCESS;
}

static wmiev_status toaster_query(wmiev_device *device, wmiev_irp *irp, uint32_t guid_index,
                                  uint32_t instance_index, uint32_t instance_count,
                                  uint32_t *instance_lengths, uint32_t buffer_avail,
                                  uint8_t *buffer, void *payload) {
  toaster *t = payload;
  (void)instance_index;
  if (guid_index != 1 || instance_count != 1) {
    return wmiev_wmilib_complete_request(device, irp, WMIEV_STATUS_WMI_GUID_NOT_FOUND, 0);
  }
  toaster_reading r = {t->number, t->sequence, t->temperature_c, t->heating};
  if (instance_lengths == NULL || buffer_avail < sizeof r) {
    return wmiev_wmilib_complete_request(device, irp, WMIEV_STATUS_BUFFER_TOO_SMALL, sizeof r);
  }
  memcpy(buffer, &r, sizeof r);
  instance_lengths[0] = sizeof r;
  return wmiev_wmilib_complete_request(device, irp, WMIEV_STATUS_SUCCESS, sizeof r);
}

static wmiev_status toaster_function_control(wmiev_device *device, wmiev_irp *irp,
                                             uint32_t guid_index, wmiev_function_control function,
                                             bool enable, void *payload) {
  toaster *t = payload;
  if (function == WMIEV_EVENT_CONTROL && guid_index == 0) {
    atomic_store(&t->events_enabled, enable);
    if (enable) {
      t->sim->enables++;
    } else {
      t->sim->disables++;
    }
    /* The bus sends one to every toaster in turn; one line says it for all. */
    if (t->number == 0) {
      logf_(t->sim, "bus -> toasters 00..%02u: IRP_MN_%s_EVENTS for ToasterNotify (one each)",
            t->sim->toaster_count - 1, enable ? "ENABLE" : "DISABLE");
    }
  }
  return wmiev_wmilib_complete_request(device, irp, WMIEV_STATUS_SUCCESS, 0);
}

/* A driver fires only what WMI enabled (spec §5.2); the bus would count the
 * rest as not_enabled anyway. */
static void toaster_tick(uv_timer_t *timer) {
  toaster *t = timer->data;
  simulator *sim = t->sim;
  int32_t step = (int32_t)(next_random(&sim->rng) % 7u) - 3;
  t->temperature_c += t->heating ? step + 2 : step - 1;
  t->heating = t->temperature_c < 180 ? 1u : t->temperature_c > 230 ? 0u : t->heating;
  t->sequence++;
  if (atomic_load(&t->events_enabled)) {
    toaster_reading r = {t->number, t->sequence, t->temperature_c, t->heating};
    wmiev_diag diag;
    wmiev_status st = wmiev_bus_fire_event(sim->bus, wmiev_provider_device(t->provider),
                                           &toaster_notify, 0, &r, sizeof r, &diag);
    if (!WMIEV_SUCCESS(st)) {
      logf_(sim, "toaster %02u: fire failed: %s (%s)", t->number, wmiev_status_name(st),
            diag.message);
    }
  }
  uv_timer_start(timer, toaster_tick, 20 + next_random(&sim->rng) % 60u, 0);
}

/* The arrival event Microsoft's toaster sample fires: a dynamic instance name
 * for a block registered with PDO names. Windows delivers it; so does the
 * bus, with a warning (docs/decisions.md D11). */
static void fire_arrival(simulator *sim, toaster *t) {
  char name[64];
  snprintf(name, sizeof name, "Toaster%02u arrived", t->number);
  uint16_t units[64];
  size_t n = 0;
  if (!WMIEV_SUCCESS(wmiev_name_utf8_to_utf16(name, strlen(name), 0, units, 64, &n, NULL))) {
    return;
  }
  toaster_reading r = {t->number, 0, t->temperature_c, t->heating};
  wmiev_wnode_header_params hdr;
  memset(&hdr, 0, sizeof hdr);
  hdr.guid = toaster_notify;
  hdr.provider_id = wmiev_device_provider_id(wmiev_provider_device(t->provider));
  hdr.extra_flags = WNODE_FLAG_EVENT_ITEM;
  wmiev_wnode_instance in = {true, units, n, 0, &r, sizeof r};
  size_t need = 0;
  (void)wmiev_wnode_build_single_instance(NULL, 0, &hdr, &in, &need, NULL);
  void *wnode = wmiev_bus_alloc_event(sim->bus, need);
  if (wnode == NULL) {
    return;
  }
  (void)wmiev_wnode_build_single_instance(wnode, need, &hdr, &in, &need, NULL);
  /* IoWMIWriteEvent's rule: on failure the driver still owns (and frees) it. */
  if (!WMIEV_SUCCESS(wmiev_bus_write_event(sim->bus, wnode, NULL))) {
    wmiev_bus_free_event(sim->bus, wnode);
  }
}

/* A thread outside the loop, like a DPC firing from a device interrupt. */
static void *firmware_thread(void *arg) {
  simulator *sim = arg;
  uint64_t rng = sim->firmware_seed;
  uint32_t sequence = 0;
  toaster *t = &sim->toasters[0];
  while (atomic_load(&sim->firmware_running)) {
    for (int burst = 0; burst < 8; burst++) {
      toaster_reading r = {t->number, 1000000u + ++sequence, 0, 0};
      r.temperature_c = 200 + (int32_t)(next_random(&rng) % 10u);
      if (atomic_load(&t->events_enabled)) {
        (void)wmiev_bus_fire_event(sim->bus, wmiev_provider_device(t->provider), &toaster_notify,
                                   0, &r, sizeof r, NULL);
        atomic_fetch_add(&sim->firmware_fired, 1);
      }
    }
    struct timespec pause = {0, 25 * 1000 * 1000};
    nanosleep(&pause, NULL);
  }
  return NULL;
}

/* ---- The consumer side --------------------------------------------------------------- */

static void on_event(const wmiev_event *ev, void *payload) {
  consumer *c = payload;
  c->received++;
  toaster_reading r;
  if (ev->data_size < sizeof r) {
    return;
  }
  memcpy(&r, ev->data, sizeof r);
  if (c->received % 25 == 1 || ev->lost_before != 0 || ev->has_name) {
    logf_(c->sim, "%-9s <- %-26s %3d C %s seq %-7u%s", c->name, wmiev_event_name_utf8(ev),
          r.temperature_c, r.heating ? "heating" : "cooling", r.sequence,
          ev->lost_before != 0 ? " (lost some before this)" : "");
  }
}

static void subscribe(simulator *sim, consumer *c) {
  if (c->subscription == NULL &&
      WMIEV_SUCCESS(wmiev_bus_subscribe(sim->bus, &toaster_notify, on_event, c, &c->subscription))) {
    logf_(sim, "%s subscribes to ToasterNotify", c->name);
  }
}

static void unsubscribe(simulator *sim, consumer *c) {
  if (c->subscription != NULL) {
    logf_(sim, "%s unsubscribes (%" PRIu64 " events so far)", c->name, c->received);
    (void)wmiev_bus_unsubscribe(c->subscription);
    c->subscription = NULL;
  }
}

static void inspect(simulator *sim) {
  uint32_t size = 0;
  wmiev_registry *reg = wmiev_bus_registry(sim->bus);
  if (wmiev_query_all_data(reg, &toaster_info, NULL, &size, NULL) != WMIEV_STATUS_BUFFER_TOO_SMALL) {
    return;
  }
  uint8_t *buf = malloc(size);
  if (buf == NULL || !WMIEV_SUCCESS(wmiev_query_all_data(reg, &toaster_info, buf, &size, NULL))) {
    free(buf);
    return;
  }
  /* The replies are chained through WnodeHeader.Linkage, one per toaster. */
  int32_t hottest = -1000;
  uint32_t replies = 0, heating = 0;
  for (uint32_t at = 0;;) {
    wmiev_wnode_view v;
    if (!WMIEV_SUCCESS(wmiev_wnode_validate(buf + at, size - at, 0, &v, NULL))) {
      break;
    }
    wmiev_wnode_instance_view iv;
    if (WMIEV_SUCCESS(wmiev_wnode_view_instance(&v, 0, &iv)) && iv.size >= sizeof(toaster_reading)) {
      toaster_reading r;
      memcpy(&r, iv.data, sizeof r);
      hottest = r.temperature_c > hottest ? r.temperature_c : hottest;
      heating += r.heating;
    }
    replies++;
    uint32_t linkage;
    memcpy(&linkage, buf + at + offsetof(WNODE_HEADER, Linkage), sizeof linkage);
    if (linkage == 0) {
      break;
    }
    at += linkage;
  }
  sim->queries++;
  logf_(sim, "inspector: IRP_MN_QUERY_ALL_DATA answered by %u toasters, %u heating, hottest %d C",
        replies, heating, hottest);
  free(buf);
}

/* The script: who listens when (every 250 ms). */
static void script_tick(uv_timer_t *timer) {
  simulator *sim = timer->data;
  consumer *a = &sim->consumers[0], *b = &sim->consumers[1], *c = &sim->consumers[2];
  switch (sim->script_step++ % 12) {
  case 0: subscribe(sim, a); break;
  case 2: subscribe(sim, b); break;
  case 3: inspect(sim); break;
  case 5: unsubscribe(sim, a); break;
  case 6: subscribe(sim, c); break;
  case 7: unsubscribe(sim, b); break;
  case 9: inspect(sim); break;
  case 10: unsubscribe(sim, c); break; /* the last one: every toaster gets DISABLE */
  default: break;
  }
}

static void stop_tick(uv_timer_t *timer) {
  simulator *sim = timer->data;
  atomic_store(&sim->firmware_running, false);
  pthread_join(sim->firmware, NULL);
  for (size_t i = 0; i < 3; i++) {
    unsubscribe(sim, &sim->consumers[i]);
  }
  /* Nothing to free when the handles close: the loop ends once they have. */
  for (uint32_t i = 0; i < sim->toaster_count; i++) {
    uv_close((uv_handle_t *)&sim->toasters[i].timer, NULL);
  }
  uv_close((uv_handle_t *)&sim->script, NULL);
  uv_close((uv_handle_t *)&sim->stop, NULL);
  /* Deliver what is still queued, then stop the loop's delivery. */
  (void)wmiev_bus_dispatch(sim->bus, 0);
  wmiev_uv_detach(sim->attachment, NULL, NULL);
}

/* ---- Setup and summary --------------------------------------------------------------- */

static int create_toaster(simulator *sim, toaster *t, uint32_t number) {
  wmiev_registry *reg = wmiev_bus_registry(sim->bus);
  t->sim = sim;
  t->number = number;
  t->temperature_c = 20 + (int32_t)(number * 7u % 40u);
  t->heating = 1;
  char instance_id[32], name[32];
  snprintf(instance_id, sizeof instance_id, "ROOT\\TOASTER\\%04u", number);
  snprintf(name, sizeof name, "toaster-pdo-%02u", number);
  wmiev_device_options pdo = {.instance_id = instance_id, .name = name};
  if (!WMIEV_SUCCESS(wmiev_device_create(reg, &pdo, &t->pdo))) {
    return -1;
  }
  t->guids[0] = (wmiev_guid_reg){&toaster_notify, 1, WMIREG_FLAG_EVENT_ONLY_GUID};
  t->guids[1] = (wmiev_guid_reg){&toaster_info, 1, 0};
  wmiev_provider_options opts;
  memset(&opts, 0, sizeof opts);
  opts.context.guid_count = 2;
  opts.context.guid_list = t->guids;
  opts.context.callbacks.query_reginfo = toaster_reginfo;
  opts.context.callbacks.query_data_block = toaster_query;
  opts.context.callbacks.function_control = toaster_function_control;
  opts.context.payload = t;
  opts.lower = t->pdo;
  opts.name = "toaster-fdo";
  if (!WMIEV_SUCCESS(wmiev_provider_create(reg, &opts, &t->provider))) {
    return -1;
  }
  wmiev_diag diag;
  wmiev_status st = wmiev_registration_control(wmiev_provider_device(t->provider),
                                               WMIREG_ACTION_REGISTER, &diag);
  if (!WMIEV_SUCCESS(st)) {
    fprintf(stderr, "toaster %u: registration failed: %s (%s)\n", number, wmiev_status_name(st),
            diag.message);
    return -1;
  }
  uv_timer_init(sim->loop, &t->timer);
  t->timer.data = t;
  uv_timer_start(&t->timer, toaster_tick, 10 + number * 3u, 0);
  return 0;
}

/* The first warning of each kind is shown; the rest are in the summary. */
static void on_warning(wmiev_warning w, const char *message, void *ctx) {
  simulator *sim = ctx;
  static atomic_bool shown[WMIEV_WARN_COUNT_];
  if (!atomic_exchange(&shown[w], true)) {
    logf_(sim, "warning %s: %s (further ones only counted)", wmiev_warning_name(w), message);
  }
}

static int summary(simulator *sim) {
  wmiev_bus_stats s;
  wmiev_bus_get_stats(sim->bus, &s);
  uint64_t outcomes = s.rejected + s.not_enabled + s.traced + s.dropped + s.discarded +
                      s.reference_failed + s.delivered + s.queued_now;
  printf("\n=== wmiev-simulator summary ===\n");
  printf("toasters                 %u (PDO-named, event block + data block each)\n",
         sim->toaster_count);
  printf("events fired             %" PRIu64 " (%" PRIu64 " from the firmware thread)\n", s.fired,
         (uint64_t)atomic_load(&sim->firmware_fired));
  printf("  delivered              %" PRIu64 " (%" PRIu64 " consumer callbacks)\n", s.delivered,
         s.callbacks);
  printf("  not enabled            %" PRIu64 "\n", s.not_enabled);
  printf("  dropped (queue full)   %" PRIu64 "\n", s.dropped);
  printf("  discarded              %" PRIu64 "\n", s.discarded);
  printf("  rejected               %" PRIu64 "\n", s.rejected);
  printf("  still queued           %" PRIu64 "\n", s.queued_now);
  printf("ENABLE_EVENTS sent       %" PRIu64 " (toasters saw %" PRIu64 ")\n", s.enables_sent,
         sim->enables);
  printf("DISABLE_EVENTS sent      %" PRIu64 " (toasters saw %" PRIu64 ")\n", s.disables_sent,
         sim->disables);
  printf("warnings                 dynamic-for-static %" PRIu64 ", not-enabled %" PRIu64 "\n",
         s.warnings[WMIEV_WARN_DYNAMIC_FOR_STATIC], s.warnings[WMIEV_WARN_NOT_ENABLED]);
  printf("queue peak               %" PRIu64 " events\n", s.queue_peak);
  printf("QUERY_ALL_DATA rounds    %" PRIu64 "\n", sim->queries);
  for (size_t i = 0; i < 3; i++) {
    printf("%-24s %" PRIu64 " events\n", sim->consumers[i].name, sim->consumers[i].received);
  }
  bool ok = outcomes == s.fired && s.enables_sent == sim->enables &&
            s.disables_sent == sim->disables && s.enables_sent == s.disables_sent;
  printf("accounting               %s (fired = delivered + not enabled + dropped + discarded + "
         "rejected + queued; every ENABLE matched by a DISABLE)\n",
         ok ? "exact" : "BROKEN");
  return ok ? 0 : 1;
}

int main(int argc, char **argv) {
  static simulator sim;
  sim.toaster_count = 16;
  sim.duration_ms = 3000;
  sim.rng = 0x5eed;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--toasters") == 0 && i + 1 < argc) {
      sim.toaster_count = (uint32_t)strtoul(argv[++i], NULL, 10);
    } else if (strcmp(argv[i], "--duration-ms") == 0 && i + 1 < argc) {
      sim.duration_ms = (uint32_t)strtoul(argv[++i], NULL, 10);
    } else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
      sim.rng = strtoull(argv[++i], NULL, 10) | 1u;
    } else if (strcmp(argv[i], "--quiet") == 0) {
      sim.quiet = true;
    } else {
      fprintf(stderr, "usage: %s [--toasters N] [--duration-ms MS] [--seed S] [--quiet]\n",
              argv[0]);
      return 2;
    }
  }
  if (sim.toaster_count == 0 || sim.toaster_count > MAX_TOASTERS) {
    fprintf(stderr, "--toasters must be 1..%d\n", MAX_TOASTERS);
    return 2;
  }
  sim.loop = uv_default_loop();
  sim.start_ms = uv_now(sim.loop);
  sim.consumers[0] = (consumer){&sim, "dashboard", NULL, 0};
  sim.consumers[1] = (consumer){&sim, "logger", NULL, 0};
  sim.consumers[2] = (consumer){&sim, "alarm", NULL, 0};

  wmiev_bus_options opts;
  memset(&opts, 0, sizeof opts);
  opts.delivery = WMIEV_DELIVERY_LIBUV;
  opts.queue_capacity = 1024;
  opts.on_warning = on_warning;
  opts.warning_ctx = &sim;
  if (!WMIEV_SUCCESS(wmiev_bus_create(&opts, &sim.bus)) ||
      !WMIEV_SUCCESS(wmiev_uv_attach(sim.bus, sim.loop, NULL, &sim.attachment))) {
    fprintf(stderr, "cannot create the bus\n");
    return 1;
  }
  printf("wmiev-simulator: %u toasters for %u ms on a libuv loop\n", sim.toaster_count,
         sim.duration_ms);
  for (uint32_t i = 0; i < sim.toaster_count; i++) {
    if (create_toaster(&sim, &sim.toasters[i], i) != 0) {
      return 1;
    }
  }
  /* Subscribe one consumer first so the arrival events reach somebody. */
  subscribe(&sim, &sim.consumers[0]);
  sim.script_step = 1;
  for (uint32_t i = 0; i < sim.toaster_count; i++) {
    fire_arrival(&sim, &sim.toasters[i]);
  }
  uv_timer_init(sim.loop, &sim.script);
  sim.script.data = &sim;
  uv_timer_start(&sim.script, script_tick, 250, 250);
  uv_timer_init(sim.loop, &sim.stop);
  sim.stop.data = &sim;
  uv_timer_start(&sim.stop, stop_tick, sim.duration_ms, 0);
  atomic_store(&sim.firmware_running, true);
  /* Its own generator: the loop thread keeps drawing from `rng`. */
  sim.firmware_seed = sim.rng ^ 0x9e3779b97f4a7c15ull;
  if (pthread_create(&sim.firmware, NULL, firmware_thread, &sim) != 0) {
    return 1;
  }
  uv_run(sim.loop, UV_RUN_DEFAULT);

  int rc = summary(&sim);
  for (uint32_t i = 0; i < sim.toaster_count; i++) {
    (void)wmiev_provider_destroy(sim.toasters[i].provider);
    (void)wmiev_device_destroy(sim.toasters[i].pdo);
  }
  wmiev_bus_destroy(sim.bus);
  uv_loop_close(sim.loop);
  return rc;
}
