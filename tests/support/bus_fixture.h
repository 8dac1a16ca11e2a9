/*
 * The fixture the bus tests share (tests/unit/test_bus.c, test_source.c):
 * a bus on the debug allocator and a virtual clock, real providers
 * registered through the REGINFO handshake, subscribers that record every
 * event they receive, and the checks every teardown makes.
 *
 * Providers are portable providers (wmilib.h), so every ENABLE/DISABLE the
 * bus sends travels as an IRP through wmilib to a function_control callback
 * that logs it (provider tag, GUID index, function, enable) in one ordered
 * log and counts it per provider. A provider may instead be a device written
 * out by hand (`by_hand`): it answers QUERY_SINGLE_INSTANCE for one dynamic
 * name, which wmilib cannot express (spec §3.5), for event references by name.
 *
 * Teardown checks the accounting invariant of bus.h (every fired event ends
 * in exactly one counter, or is still queued) for the bus and for every GUID
 * below, that the warning hook saw exactly what the statistics count, and
 * that no allocation is left and no allocator error happened.
 *
 * Include this header instead of cmocka.h.
 */
#ifndef WMIEV_TEST_BUS_FIXTURE_H
#define WMIEV_TEST_BUS_FIXTURE_H

/* cmocka.h needs these first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include <wmiev/wmiev.h>

#include "debug_alloc.h"
#include "status_assert.h"
#include "test_util.h"

/* ---- statuses, GUIDs, bytes ------------------------------------------------------------------ */

/* {0A0B0C0D-1122-3344-5566-778899AABBCC}: the event block most tests fire. */
extern const GUID guid_ev;
extern const GUID guid_ev2;
extern const GUID guid_pdo;   /* a PDO-named block (the toaster sample's) */
extern const GUID guid_dyn;   /* a dynamic-name block */
extern const GUID guid_data;  /* a data block (EXPENSIVE where a test says so) */
extern const GUID guid_other; /* registered by provider B only */
extern const GUID guid_never; /* nobody registers it and nobody subscribes to it */

/* Every GUID above: check_accounting() checks each one's statistics. */
extern const GUID *const all_guids[];
#define GUID_COUNT 7u
/* Its position in all_guids (fails the test for another GUID). */
size_t guid_ix(const GUID *g);

void put32(uint8_t *p, size_t at, uint32_t v);
uint32_t get32(const uint8_t *p, size_t at);
/* The bytes a test gives an instance: a function of the position and a seed,
 * so every delivered byte can be checked without keeping a copy. */
uint8_t pattern_byte(size_t i, uint32_t seed);
void pattern(uint8_t *out, size_t n, uint32_t seed);
bool is_pattern(const uint8_t *p, size_t n, uint32_t seed);
/* ASCII text as UTF-16 units (the names here are ASCII). */
size_t utf16(const char *s, uint16_t *out, size_t cap);

/* ---- the fixture ----------------------------------------------------------------------------- */

#define T0 INT64_C(0x01d9a1b2c3d4e5f6) /* virtual time the clock starts at (2023) */
#define MAX_PROV 6
#define MAX_FC 64
#define MAX_Q 32
#define MAX_SINKS 12
#define MAX_SRC 12
#define PDO_ID "ROOT\\TOASTER\\0000"

typedef struct fixture fixture;

/* One function-control call a provider saw. */
typedef struct fc_rec {
  int tag; /* the provider's letter */
  uint32_t guid_index;
  wmiev_function_control fn;
  bool enable;
} fc_rec;

/* One QUERY_SINGLE_INSTANCE a provider saw. */
typedef struct q_rec {
  int tag;
  uint32_t index; /* static index, or UINT32_MAX for a query by name */
  uint32_t avail; /* bytes the provider was offered */
} q_rec;

typedef struct tprov tprov;
typedef void (*control_hook)(tprov *p, uint32_t guid_index, wmiev_function_control fn, bool enable);

struct tprov {
  fixture *f;
  int tag;
  wmiev_provider *provider; /* a portable provider, or NULL for the hand-dispatched device */
  wmiev_device *device;
  bool by_hand;
  wmiev_wmilib_context ctx; /* the hand-dispatched device's wmilib half */
  wmiev_guid_reg guids[4];
  uint32_t guid_count;
  uint32_t reg_flags;
  const char *base_str; /* the BASENAME, for expected names */
  uint16_t base[32];
  size_t base_units;
  wmiev_device *pdo;
  wmiev_status enable_status; /* how ENABLE_* is answered */
  wmiev_status query_status;  /* non-zero: QUERY_SINGLE_INSTANCE fails with it */
  uint32_t data_size;         /* bytes of each instance (pattern seeded with the index) */
  const char *dyn_name;       /* the hand device's one dynamic instance (data seeded 77) */
  control_hook on_control;
  void *hook_ctx;
  atomic_uint enables, disables; /* EVENT_CONTROL requests seen */
};

/* What a subscriber received: a copy of everything the event showed. */
typedef struct got {
  GUID guid;
  uint32_t provider_id;
  int64_t timestamp;
  bool has_name;
  uint32_t instance_index;
  char name[160];
  uint16_t name16[64];
  uint32_t name_units;
  uint8_t *wnode; /* malloc'd copy of the delivered WNODE (wmiev_event_wnode()) */
  uint32_t wnode_size;
  uint32_t data_at; /* offset of the event's data in the WNODE */
  uint32_t data_size;
  const void *data_ptr; /* event->data itself (valid only while the firer's buffer is) */
  bool data_in_wnode;   /* event->data pointed into the delivered WNODE */
  uint64_t lost_before;
  bool from_reference;
  wmiev_wnode_kind kind;
  uint32_t flags;
  uint32_t item_id;
  wmiev_wnode_view view;  /* wmiev_event_view(), its pointers turned into offsets below */
  int64_t view_base_off;  /* view.base - wnode (0: it is the delivered WNODE) */
  int64_t view_data_off;  /* view.instance.data - wnode, -1 for NULL */
  wmiev_status revalid;   /* the validator on the delivered bytes */
  wmiev_wnode_view reval; /* its view, pointers likewise */
  int64_t reval_data_off;
} got;

typedef struct sink sink;
typedef void (*sink_hook)(sink *s, const wmiev_event *e);

struct sink {
  fixture *f;
  wmiev_subscription *sub;
  const GUID *g;
  got *ev;
  size_t n, cap;
  sink_hook hook; /* runs after the event is recorded, inside the callback */
  bool wnode_may_fail; /* a NULL wmiev_event_wnode() is recorded (wnode NULL), not a failure */
  void *ctx;
  int state;
};

struct fixture {
  debug_alloc *d;
  wmiev_bus *bus;
  wmiev_bus_options opts;
  _Atomic int64_t now;
  pthread_mutex_t mu; /* guards the logs, the warning counts and the sinks */
  fc_rec fc[MAX_FC];
  size_t nfc;
  q_rec q[MAX_Q];
  size_t nq;
  /* Per kind; kind 0 counts malformed messages (check_accounting wants none). */
  uint64_t warned[WMIEV_WARN_COUNT_];
  char last_warning[WMIEV_WARN_COUNT_][256]; /* the latest message of each kind */
  tprov prov[MAX_PROV];
  size_t nprov;
  sink sinks[MAX_SINKS];
  size_t nsinks;
  wmiev_source *src[MAX_SRC]; /* closed by the teardown */
  size_t nsrc;
  wmiev_device *pdo;
  void *ext; /* a test file's own state, free()d by the teardown */
};

/* cmocka setup/teardown: a fixture with SYNC delivery, the debug allocator,
 * the virtual clock at T0 and the warning hook; no bus yet. */
int fixture_setup(void **state);
int fixture_teardown(void **state);

/* Creates the bus from f->opts. */
void bus_start(fixture *f);
void bus_start_mode(fixture *f, wmiev_delivery delivery);
wmiev_registry *reg(fixture *f);
bool pumped(fixture *f);
uint64_t warned(fixture *f, wmiev_warning w);
wmiev_bus_stats stats(fixture *f);
wmiev_bus_stats guid_stats(fixture *f, const GUID *g);
/* The invariants the teardown checks, for a test to check midway. */
void check_accounting(fixture *f);
/* What the teardown does before it frees the fixture: releases what a test
 * left (subscriptions, providers, sources, the bus) and clears the logs. */
void fixture_clear(fixture *f);
/* No allocation left, no allocator error. */
void check_no_leaks(fixture *f);

/* ---- providers ------------------------------------------------------------------------------- */

/* The PDO every PDO-named provider reports (instance id PDO_ID), created once. */
void make_pdo(fixture *f);
/* A provider (not created yet): reg_flags and base name apply to all its blocks. */
tprov *prov_new(fixture *f, int tag, uint32_t reg_flags, const char *base);
/* Adds a block; returns its GUID index. */
uint32_t prov_guid(tprov *p, const GUID *g, uint32_t count, uint32_t flags);
/* Creates the provider's device, not registered. */
tprov *prov_create(tprov *p);
/* Registration control with the provider's current block list. */
void prov_control(tprov *p, uint32_t action);
/* Creates the device if needed and REGISTERs it with its current block
 * list; returns the status (no assertion: for fault injection). */
wmiev_status prov_register(tprov *p);
/* The same, asserting success. */
tprov *prov_up(tprov *p);
uint32_t pid(const tprov *p);
void prov_destroy(tprov *p);
/* A BASENAME "Toaster" provider of guid_ev with `count` instances. */
tprov *toaster(fixture *f, int tag, uint32_t count);
/* A PDO-named provider of guid_pdo with `count` instances. */
tprov *pdo_toaster(fixture *f, int tag, uint32_t count);

/* ---- subscribers ----------------------------------------------------------------------------- */

sink *sink_new(fixture *f);
/* Subscribes `s` (NULL: a new sink) to `g`; sink_cb records every event. */
sink *subscribe(fixture *f, sink *s, const GUID *g);
void sink_cb(const wmiev_event *e, void *payload);
void unsubscribe(sink *s);
const uint8_t *got_data(const got *g);
/* The 4-byte sequence number an event carries as its data. */
uint32_t seq_of(const got *g);
/* The sink received exactly `n` events, with sequence numbers want[0..n-1]. */
void seqs(const sink *s, const uint32_t *want, size_t n);

#endif /* WMIEV_TEST_BUS_FIXTURE_H */
