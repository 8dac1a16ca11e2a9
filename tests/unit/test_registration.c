/*
 * The registration handshake (lib/core/registration.c, registry.c,
 * instance_names.c): IoWMIRegistrationControl against devices whose
 * dispatch routines are written here and answer IRP_MN_REGINFO(_EX) with
 * hand-built WMIREGINFO bytes.
 *
 * The bytes are laid out from offsetof(WMIREGINFOW, WmiRegGuid) and
 * sizeof(WMIREGGUIDW), so the same tests run on x86_64 (24 / 32) and i386
 * (20 / 28). Every device records each IRP it sees (minor, DataPath,
 * BufferSize) and tests assert the exact sequence; the registry observer's
 * events are logged and asserted exactly as well. Every test ends with
 * zero live allocations on the debug allocator; the last tests walk every
 * allocation failure of REGISTER + UPDATE_GUIDS + DEREGISTER.
 */
#define _POSIX_C_SOURCE 200809L

/* cmocka.h needs these first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <pthread.h>
#include <string.h>

#include <wmiev/wmiev.h>

#include "debug_alloc.h"
#include "test_util.h"

/* ---- GUIDs ---------------------------------------------------------------------- */

static const GUID guid_a = {0xa0a0a0a0, 0x0001, 0x11d2, {0xba, 0x4a, 0, 0xa0, 0xc9, 6, 0x29, 0x10}};
static const GUID guid_b = {0xb0b0b0b0, 0x0002, 0x11d2, {0xba, 0x4a, 0, 0xa0, 0xc9, 6, 0x29, 0x10}};
static const GUID guid_c = {0xc0c0c0c0, 0x0003, 0x11d2, {0xba, 0x4a, 0, 0xa0, 0xc9, 6, 0x29, 0x10}};
static const GUID guid_d = {0xd0d0d0d0, 0x0004, 0x11d2, {0xba, 0x4a, 0, 0xa0, 0xc9, 6, 0x29, 0x10}};
static const GUID guid_none = {0xeeeeeeee, 0x0005, 0x11d2, {1, 2, 3, 4, 5, 6, 7, 8}};

static bool guid_eq(const GUID *x, const GUID *y) { return memcmp(x, y, sizeof *x) == 0; }

/* ---- WMIREGINFO writer ------------------------------------------------------------ */

#define HDR ((uint32_t)offsetof(WMIREGINFOW, WmiRegGuid))
#define ENT ((uint32_t)sizeof(WMIREGGUIDW))
#define REGINFO_BYTES 4096u

typedef struct reginfo {
  _Alignas(8) uint8_t bytes[REGINFO_BYTES];
  uint32_t size; /* bytes written so far; BufferSize once finished */
  uint32_t guid_count;
} reginfo;

static void put_u16(reginfo *r, uint32_t at, uint16_t v) { memcpy(r->bytes + at, &v, sizeof v); }
static void put_u32(reginfo *r, uint32_t at, uint32_t v) { memcpy(r->bytes + at, &v, sizeof v); }

static uint32_t field_of_entry(uint32_t i, size_t member) {
  return HDR + i * ENT + (uint32_t)member;
}

/* Starts a record with room for `guid_count` entries; strings go after them. */
static void ri_begin(reginfo *r, uint32_t guid_count) {
  memset(r, 0, sizeof *r);
  r->guid_count = guid_count;
  r->size = HDR + guid_count * ENT;
}

/* Appends a counted string (ASCII -> UTF-16LE), optionally with a NUL
 * inside the count; returns its offset. */
static uint32_t ri_string(reginfo *r, const char *ascii, bool with_nul) {
  r->size = (r->size + 1u) & ~1u;
  uint32_t at = r->size;
  uint32_t units = (uint32_t)strlen(ascii) + (with_nul ? 1u : 0u);
  assert_true(at + 2u + 2u * units <= REGINFO_BYTES);
  put_u16(r, at, (uint16_t)(units * 2u));
  for (uint32_t i = 0; i < units; i++) {
    put_u16(r, at + 2u + 2u * i, (uint16_t)(uint8_t)ascii[i]); /* the NUL reads as 0 */
  }
  r->size = at + 2u + 2u * units;
  return at;
}

/* Writes entry `i`; `info` is the union (name offset or Pdo). */
static void ri_entry(reginfo *r, uint32_t i, const GUID *guid, uint32_t flags, uint32_t count,
                     uintptr_t info) {
  assert_true(i < r->guid_count);
  WMIREGGUIDW e;
  memset(&e, 0, sizeof e);
  e.Guid = *guid;
  e.Flags = flags;
  e.InstanceCount = count;
  e.Pdo = info; /* the whole union; ULONG offsets land in its low bytes (little endian) */
  memcpy(r->bytes + HDR + i * ENT, &e, sizeof e);
}

static void ri_dynamic(reginfo *r, uint32_t i, const GUID *guid, uint32_t flags, uint32_t count) {
  ri_entry(r, i, guid, flags, count, 0);
}

static void ri_basename(reginfo *r, uint32_t i, const GUID *guid, uint32_t flags, uint32_t count,
                        const char *base, bool with_nul) {
  uint32_t at = ri_string(r, base, with_nul);
  ri_entry(r, i, guid, flags | WMIREG_FLAG_INSTANCE_BASENAME, count, at);
}

static void ri_list(reginfo *r, uint32_t i, const GUID *guid, uint32_t flags,
                    const char *const *names, uint32_t count, bool with_nul) {
  uint32_t first = count == 0 ? 0 : ri_string(r, names[0], with_nul);
  for (uint32_t k = 1; k < count; k++) {
    (void)ri_string(r, names[k], with_nul); /* back to back, as the format wants */
  }
  ri_entry(r, i, guid, flags | WMIREG_FLAG_INSTANCE_LIST, count, first);
}

static void ri_pdo(reginfo *r, uint32_t i, const GUID *guid, uint32_t flags, uint32_t count,
                   uintptr_t pdo) {
  ri_entry(r, i, guid, flags | WMIREG_FLAG_INSTANCE_PDO, count, pdo);
}

static void ri_paths(reginfo *r, const char *registry_path, const char *mof) {
  put_u32(r, (uint32_t)offsetof(WMIREGINFOW, RegistryPath), ri_string(r, registry_path, false));
  put_u32(r, (uint32_t)offsetof(WMIREGINFOW, MofResourceName), ri_string(r, mof, false));
}

static void ri_finish(reginfo *r) {
  r->size = (r->size + 7u) & ~7u;
  put_u32(r, (uint32_t)offsetof(WMIREGINFOW, BufferSize), r->size);
  put_u32(r, (uint32_t)offsetof(WMIREGINFOW, GuidCount), r->guid_count);
}

/* A one-block answer: `guid`, dynamic names, `flags`. */
static void ri_one(reginfo *r, const GUID *guid, uint32_t flags) {
  ri_begin(r, 1);
  ri_dynamic(r, 0, guid, flags, 0);
  ri_finish(r);
}

/* ---- fixture: registry, observer log, violations ------------------------------------ */

#define MAX_EVENTS 64
#define MAX_RULE 8

typedef struct fixture {
  debug_alloc *alloc;
  wmiev_registry *registry;
  pthread_mutex_t lock;
  wmiev_registry_event events[MAX_EVENTS];
  size_t event_count;
  int violations[MAX_RULE];
  int violation_total;
} fixture;

static void observer(const wmiev_registry_event *event, void *ctx) {
  fixture *f = ctx;
  /* The device is valid during the call and is the one the id names. */
  assert_int_equal(wmiev_device_provider_id(event->device), event->provider_id);
  pthread_mutex_lock(&f->lock);
  assert_true(f->event_count < MAX_EVENTS);
  f->events[f->event_count++] = *event;
  pthread_mutex_unlock(&f->lock);
}

static void on_violation(wmiev_violation rule, const char *message, void *ctx) {
  fixture *f = ctx;
  assert_true(message != NULL && message[0] != '\0');
  assert_true((int)rule > 0 && (int)rule < MAX_RULE);
  pthread_mutex_lock(&f->lock);
  f->violations[rule]++;
  f->violation_total++;
  pthread_mutex_unlock(&f->lock);
}

/* Options for the registry of `f`; `extra` supplies timeout, sizes and resolve_pdo. */
static wmiev_registry_options fixture_options(fixture *f, const wmiev_registry_options *extra) {
  wmiev_registry_options o = {0};
  if (extra != NULL) {
    o = *extra;
  }
  o.allocator = debug_alloc_allocator(f->alloc);
  o.observer = observer;
  o.observer_ctx = f;
  o.on_violation = on_violation;
  o.violation_ctx = f;
  return o;
}

static fixture *fixture_alloc(debug_alloc *alloc) {
  fixture *f = test_calloc(1, sizeof *f);
  assert_non_null(f);
  pthread_mutex_init(&f->lock, NULL);
  f->alloc = alloc;
  return f;
}

static fixture *fixture_new(const wmiev_registry_options *extra) {
  fixture *f = fixture_alloc(debug_alloc_create());
  wmiev_registry_options o = fixture_options(f, extra);
  assert_int_equal(wmiev_registry_create(&o, &f->registry), WMIEV_STATUS_SUCCESS);
  return f;
}

static void fixture_release(fixture *f) {
  pthread_mutex_destroy(&f->lock);
  test_free(f);
}

/* Destroys the registry (devices must be gone) and checks the allocator. */
static void fixture_done(fixture *f) {
  wmiev_registry_destroy(f->registry);
  if (debug_alloc_live_count(f->alloc) != 0) {
    (void)debug_alloc_report_leaks(f->alloc);
  }
  assert_int_equal(debug_alloc_live_count(f->alloc), 0);
  assert_int_equal(debug_alloc_errors(f->alloc), 0);
  debug_alloc_destroy(f->alloc);
  fixture_release(f);
}

static wmiev_registry_stats stats_of(fixture *f) {
  wmiev_registry_stats s;
  wmiev_registry_get_stats(f->registry, &s);
  return s;
}

static int violations(fixture *f, wmiev_violation rule) {
  pthread_mutex_lock(&f->lock);
  int n = f->violations[rule];
  pthread_mutex_unlock(&f->lock);
  return n;
}

/* Expected observer event. */
typedef struct ev {
  wmiev_registry_event_kind kind;
  const GUID *guid;
  uint32_t provider_id;
  uint32_t flags;
} ev;

/* Checks the log against `expected` exactly, then clears it. */
static void assert_events(fixture *f, const ev *expected, size_t n) {
  pthread_mutex_lock(&f->lock);
  size_t count = f->event_count;
  wmiev_registry_event got[MAX_EVENTS];
  memcpy(got, f->events, count * sizeof got[0]);
  f->event_count = 0;
  pthread_mutex_unlock(&f->lock);
  if (count != n) {
    print_error("expected %zu observer events, got %zu\n", n, count);
    for (size_t i = 0; i < count; i++) {
      print_error("  event %zu: kind %d guid %08x provider %u flags 0x%x\n", i, (int)got[i].kind,
                  (unsigned)got[i].guid.Data1, (unsigned)got[i].provider_id,
                  (unsigned)got[i].flags);
    }
  }
  assert_int_equal(count, n);
  for (size_t i = 0; i < n; i++) {
    assert_int_equal(got[i].kind, expected[i].kind);
    assert_true(guid_eq(&got[i].guid, expected[i].guid));
    assert_int_equal(got[i].provider_id, expected[i].provider_id);
    assert_int_equal(got[i].flags, expected[i].flags);
  }
}

#define ASSERT_EVENTS(f, ...)                                                                      \
  assert_events((f), (const ev[]){__VA_ARGS__}, sizeof((const ev[]){__VA_ARGS__}) / sizeof(ev))
#define ASSERT_NO_EVENTS(f) assert_events((f), NULL, 0)

/* ---- scripted provider devices ---------------------------------------------------- */

typedef struct seen {
  uint8_t minor;
  uintptr_t data_path;
  uint32_t buffer_size;
} seen;

typedef struct prov prov;
typedef wmiev_status (*prov_fn)(prov *p, wmiev_device *device, wmiev_irp *irp);

typedef enum grow_form {
  GROW_TOO_SMALL, /* documented: STATUS_BUFFER_TOO_SMALL + needed ULONG */
  GROW_CLASSPNP   /* Microsoft's classpnp sample: STATUS_SUCCESS, Information 4, needed ULONG */
} grow_form;

struct prov {
  const char *name;
  fixture *f;
  wmiev_device *device;
  pthread_mutex_t lock;
  seen seen[40];
  size_t seen_count;
  /* REGINFO behaviour. */
  const reginfo *on_register; /* answer to DataPath WMIREGISTER */
  const reginfo *on_update;   /* answer to DataPath WMIUPDATE */
  bool refuse_ex;             /* do not handle IRP_MN_REGINFO_EX ... */
  wmiev_status refuse_status; /* ... but complete it with this (0: forward it down) */
  grow_form grow;
  uint32_t ask;        /* != 0: claim to need this many bytes, in the first answer */
  int reginfo_answers; /* REGINFO(_EX) IRPs answered so far */
  bool always_grow;    /* always ask for 8 more bytes than given */
  uintptr_t info;      /* != 0: Information reported with the answer */
  /* Other IRPs: NULL completes them with STATUS_SUCCESS. */
  prov_fn on_other;
  /* IRPs for another provider (the spec says forward them): NULL forwards. */
  prov_fn on_foreign;
  /* Scratch for the hooks. */
  prov *other;
  uint32_t inner_action;
  wmiev_status inner_status;
  wmiev_diag inner_diag;
  wmiev_irp *held;
  pthread_t thread;
  bool pended, completed, dereg_started;
  wmiev_status late_send_status;
};

static wmiev_status answer_reginfo(prov *p, wmiev_irp *irp) {
  const reginfo *r = (uintptr_t)irp->Wmi.DataPath == WMIUPDATE ? p->on_update : p->on_register;
  if (r == NULL) {
    return wmiev_irp_complete(irp, WMIEV_STATUS_UNSUCCESSFUL, 0);
  }
  uint32_t size = irp->Wmi.BufferSize;
  bool first = p->reginfo_answers++ == 0;
  uint32_t needed = p->always_grow ? size + 8u : p->ask != 0 && first ? p->ask : r->size;
  bool too_small = p->always_grow || (p->ask != 0 && first) || size < r->size;
  if (too_small) {
    if (size >= sizeof needed) {
      memcpy(irp->Wmi.Buffer, &needed, sizeof needed);
    }
    return p->grow == GROW_CLASSPNP
               ? wmiev_irp_complete(irp, WMIEV_STATUS_SUCCESS, sizeof needed)
               : wmiev_irp_complete(irp, WMIEV_STATUS_BUFFER_TOO_SMALL, sizeof needed);
  }
  memcpy(irp->Wmi.Buffer, r->bytes, r->size);
  return wmiev_irp_complete(irp, WMIEV_STATUS_SUCCESS, p->info != 0 ? p->info : r->size);
}

static wmiev_status prov_dispatch(wmiev_device *device, wmiev_irp *irp, void *payload) {
  prov *p = payload;
  pthread_mutex_lock(&p->lock);
  assert_true(p->seen_count < 40);
  p->seen[p->seen_count++] =
      (seen){irp->MinorFunction, (uintptr_t)irp->Wmi.DataPath, irp->Wmi.BufferSize};
  pthread_mutex_unlock(&p->lock);
  /* Spec §4.2: answer only IRPs addressed to this device; forward the rest. */
  if (irp->Wmi.ProviderId != wmiev_device_irp_provider_id(device)) {
    return p->on_foreign != NULL ? p->on_foreign(p, device, irp) : wmiev_irp_forward(device, irp);
  }
  if (irp->MinorFunction == IRP_MN_REGINFO_EX || irp->MinorFunction == IRP_MN_REGINFO) {
    if (irp->MinorFunction == IRP_MN_REGINFO_EX && p->refuse_ex) {
      return p->refuse_status != 0 ? wmiev_irp_complete(irp, p->refuse_status, 0)
                                   : wmiev_irp_forward(device, irp);
    }
    return answer_reginfo(p, irp);
  }
  if (p->on_other != NULL) {
    return p->on_other(p, device, irp);
  }
  return wmiev_irp_complete(irp, WMIEV_STATUS_SUCCESS, 0);
}

/* Creates the provider's device (attached above `lower`); the status is
 * returned so that the fault-injection walk can see it fail. */
static wmiev_status prov_init(prov *p, fixture *f, const char *name, wmiev_device *lower,
                              const char *instance_id) {
  memset(p, 0, sizeof *p);
  pthread_mutex_init(&p->lock, NULL);
  p->name = name;
  p->f = f;
  wmiev_device_options o = {0};
  o.dispatch = prov_dispatch;
  o.payload = p;
  o.lower = lower;
  o.instance_id = instance_id;
  o.name = name;
  return wmiev_device_create(f->registry, &o, &p->device);
}

static prov *prov_new(fixture *f, const char *name, wmiev_device *lower, const char *instance_id) {
  prov *p = test_malloc(sizeof *p);
  assert_non_null(p);
  assert_int_equal(prov_init(p, f, name, lower, instance_id), WMIEV_STATUS_SUCCESS);
  return p;
}

/* Destroys the device (deregistering it if needed) and frees the provider;
 * returns the provider id it had, for the REMOVED events that follow. */
static uint32_t prov_free(prov *p) {
  uint32_t id = wmiev_device_provider_id(p->device);
  assert_int_equal(wmiev_device_destroy(p->device), WMIEV_STATUS_SUCCESS);
  pthread_mutex_destroy(&p->lock);
  test_free(p);
  return id;
}

static uint32_t pid(const prov *p) { return wmiev_device_provider_id(p->device); }

static void assert_seen(prov *p, const seen *expected, size_t n) {
  pthread_mutex_lock(&p->lock);
  size_t count = p->seen_count;
  seen got[40];
  memcpy(got, p->seen, count * sizeof got[0]);
  p->seen_count = 0;
  pthread_mutex_unlock(&p->lock);
  if (count != n) {
    print_error("%s: expected %zu IRPs, saw %zu\n", p->name, n, count);
    for (size_t i = 0; i < count; i++) {
      print_error("  IRP %zu: minor 0x%02x DataPath %zu BufferSize %u\n", i, (unsigned)got[i].minor,
                  (size_t)got[i].data_path, (unsigned)got[i].buffer_size);
    }
  }
  assert_int_equal(count, n);
  for (size_t i = 0; i < n; i++) {
    assert_int_equal(got[i].minor, expected[i].minor);
    assert_int_equal(got[i].data_path, expected[i].data_path);
    assert_int_equal(got[i].buffer_size, expected[i].buffer_size);
  }
}

#define ASSERT_SEEN(p, ...)                                                                        \
  assert_seen((p), (const seen[]){__VA_ARGS__}, sizeof((const seen[]){__VA_ARGS__}) / sizeof(seen))
#define ASSERT_SEEN_NOTHING(p) assert_seen((p), NULL, 0)

static wmiev_status control(prov *p, uint32_t action) {
  wmiev_diag diag;
  memset(&diag, 0, sizeof diag);
  wmiev_status st = wmiev_registration_control(p->device, action, &diag);
  if (!WMIEV_SUCCESS(st)) {
    /* Every failure explains itself. */
    assert_int_equal(diag.status, st);
    assert_non_null(diag.field);
    assert_true(diag.message[0] != '\0');
  }
  return st;
}

static void control_ok(prov *p, uint32_t action) {
  assert_int_equal(control(p, action), WMIEV_STATUS_SUCCESS);
}

static wmiev_status query(prov *p) {
  uint8_t buffer[64] = {0};
  wmiev_io_status io;
  return wmiev_device_send_wmi_irp(p->device, IRP_MN_QUERY_ALL_DATA, (void *)&guid_a, buffer,
                                   sizeof buffer, &io);
}

/* ---- registry queries ------------------------------------------------------------- */

static size_t blocks_of(fixture *f, const GUID *guid, wmiev_block_info *out, size_t capacity) {
  return wmiev_registry_blocks(f->registry, guid, out, capacity);
}

static void assert_block(const wmiev_block_info *b, const GUID *guid, const prov *p, uint32_t flags,
                         uint32_t count, wmiev_name_source names) {
  assert_true(guid_eq(&b->guid, guid));
  assert_ptr_equal(b->device, p->device);
  assert_int_equal(b->provider_id, pid(p));
  assert_int_equal(b->flags, flags);
  assert_int_equal(b->instance_count, count);
  assert_int_equal(b->names, names);
}

static void assert_no_blocks(fixture *f) { assert_int_equal(blocks_of(f, NULL, NULL, 0), 0); }

static size_t to_units(const char *ascii, uint16_t *out, size_t capacity) {
  size_t n = strlen(ascii);
  assert_true(n <= capacity);
  for (size_t i = 0; i < n; i++) {
    out[i] = (uint16_t)(uint8_t)ascii[i];
  }
  return n;
}

/* Static name `index` of `guid` as provided by `p`, checked with the two-call pattern. */
static void assert_name(fixture *f, const GUID *guid, const prov *p, uint32_t index,
                        const char *expected) {
  uint16_t want[64];
  size_t want_units = to_units(expected, want, 64);
  size_t needed = 0;
  assert_int_equal(wmiev_registry_instance_name(f->registry, guid, pid(p), index, NULL, 0, &needed),
                   WMIEV_STATUS_BUFFER_TOO_SMALL);
  assert_int_equal(needed, want_units);
  uint16_t got[64];
  if (want_units > 0) {
    assert_int_equal(wmiev_registry_instance_name(f->registry, guid, pid(p), index, got,
                                                  want_units - 1, &needed),
                     WMIEV_STATUS_BUFFER_TOO_SMALL);
  }
  assert_int_equal(wmiev_registry_instance_name(f->registry, guid, pid(p), index, got, 64, &needed),
                   WMIEV_STATUS_SUCCESS);
  assert_int_equal(needed, want_units);
  if (want_units > 0) {
    assert_memory_equal(got, want, want_units * sizeof got[0]);
  }
}

static wmiev_status name_status(fixture *f, const GUID *guid, uint32_t provider_id,
                                uint32_t index) {
  uint16_t got[64];
  size_t needed = 0;
  return wmiev_registry_instance_name(f->registry, guid, provider_id, index, got, 64, &needed);
}

/* Looks `name` up; on success checks it belongs to `p` at `index`. */
static wmiev_status find_units(fixture *f, const GUID *guid, const uint16_t *units, size_t n,
                               const prov *p, uint32_t index) {
  uint32_t found_pid = 0;
  uint32_t found_index = 0;
  wmiev_status st =
      wmiev_registry_find_instance(f->registry, guid, units, n, &found_pid, &found_index);
  if (st == WMIEV_STATUS_SUCCESS) {
    assert_non_null(p);
    assert_int_equal(found_pid, pid(p));
    assert_int_equal(found_index, index);
  }
  return st;
}

static wmiev_status find(fixture *f, const GUID *guid, const char *name, const prov *p,
                         uint32_t index) {
  uint16_t units[64];
  size_t n = to_units(name, units, 64);
  return find_units(f, guid, units, n, p, index);
}

static void assert_not_found(fixture *f, const GUID *guid, const char *name) {
  assert_int_equal(find(f, guid, name, NULL, 0), WMIEV_STATUS_WMI_INSTANCE_NOT_FOUND);
}

/* ---- REGISTER and the REGINFO protocol ------------------------------------------------ */

#define EX_REGISTER(size)                                                                          \
  { IRP_MN_REGINFO_EX, WMIREGISTER, (size) }
#define EX_UPDATE(size)                                                                            \
  { IRP_MN_REGINFO_EX, WMIUPDATE, (size) }
#define PLAIN_REGISTER(size)                                                                       \
  { IRP_MN_REGINFO, WMIREGISTER, (size) }

static void test_register_sends_reginfo_ex(void **state) {
  (void)state;
  fixture *f = fixture_new(NULL);
  prov *p = prov_new(f, "toaster", NULL, NULL);
  reginfo r;
  ri_begin(&r, 3);
  ri_basename(&r, 0, &guid_a, WMIREG_FLAG_EXPENSIVE, 2, "Toaster", false);
  ri_dynamic(&r, 1, &guid_b, WMIREG_FLAG_EVENT_ONLY_GUID, 7);
  /* REMOVE_GUID means nothing in a WMIREGISTER answer: skipped. */
  ri_dynamic(&r, 2, &guid_c, WMIREG_FLAG_REMOVE_GUID, 0);
  ri_paths(&r, "\\Registry\\Machine\\toaster", "MofResource");
  ri_finish(&r);
  p->on_register = &r;

  control_ok(p, WMIREG_ACTION_REGISTER);
  ASSERT_SEEN(p, EX_REGISTER(256));
  const uint32_t flags_a = WMIREG_FLAG_EXPENSIVE | WMIREG_FLAG_INSTANCE_BASENAME;
  ASSERT_EVENTS(f, {WMIEV_BLOCK_ADDED, &guid_a, pid(p), flags_a},
                {WMIEV_BLOCK_ADDED, &guid_b, pid(p), WMIREG_FLAG_EVENT_ONLY_GUID});
  wmiev_block_info b[4];
  assert_int_equal(blocks_of(f, NULL, b, 4), 2);
  assert_block(&b[0], &guid_a, p, flags_a, 2, WMIEV_NAMES_BASENAME);
  assert_block(&b[1], &guid_b, p, WMIREG_FLAG_EVENT_ONLY_GUID, 0, WMIEV_NAMES_DYNAMIC);
  assert_int_equal(blocks_of(f, &guid_c, b, 4), 0);
  wmiev_registry_stats s = stats_of(f);
  assert_int_equal(s.registrations, 1);
  assert_int_equal(s.irps_sent, 1);
  assert_int_equal(s.rejected_reginfo, 0);
  assert_int_equal(s.violations, 0);

  /* Registered devices keep answering their other WMI IRPs. */
  assert_int_equal(query(p), WMIEV_STATUS_SUCCESS);
  ASSERT_SEEN(p, {IRP_MN_QUERY_ALL_DATA, (uintptr_t)&guid_a, 64});
  uint32_t gone = prov_free(p); /* destroying a registered device deregisters it */
  ASSERT_EVENTS(f, {WMIEV_BLOCK_REMOVED, &guid_a, gone, flags_a},
                {WMIEV_BLOCK_REMOVED, &guid_b, gone, WMIREG_FLAG_EVENT_ONLY_GUID});
  fixture_done(f);
}

/* A device that does not answer REGINFO_EX gets the Windows 2000 form next. */
static void check_fallback(wmiev_status refusal) {
  fixture *f = fixture_new(NULL);
  prov *p = prov_new(f, "w2k", NULL, NULL);
  reginfo r;
  ri_one(&r, &guid_a, 0);
  p->on_register = &r;
  p->refuse_ex = true;
  p->refuse_status = refusal;
  control_ok(p, WMIREG_ACTION_REGISTER);
  ASSERT_SEEN(p, EX_REGISTER(256), PLAIN_REGISTER(256));
  ASSERT_EVENTS(f, {WMIEV_BLOCK_ADDED, &guid_a, pid(p), 0});
  assert_int_equal(blocks_of(f, &guid_a, NULL, 0), 1);
  uint32_t gone = prov_free(p);
  ASSERT_EVENTS(f, {WMIEV_BLOCK_REMOVED, &guid_a, gone, 0});
  fixture_done(f);
}

static void test_fallback_not_supported(void **state) {
  (void)state;
  check_fallback(WMIEV_STATUS_NOT_SUPPORTED);
}

static void test_fallback_invalid_device_request(void **state) {
  (void)state;
  check_fallback(WMIEV_STATUS_INVALID_DEVICE_REQUEST);
}

/* A real failure of REGINFO_EX is the answer: no second try with REGINFO. */
static void test_no_fallback_on_real_failure(void **state) {
  (void)state;
  fixture *f = fixture_new(NULL);
  prov *p = prov_new(f, "failing", NULL, NULL);
  reginfo r;
  ri_one(&r, &guid_a, 0);
  p->on_register = &r;
  p->refuse_ex = true;
  p->refuse_status = WMIEV_STATUS_UNSUCCESSFUL;
  assert_int_equal(control(p, WMIREG_ACTION_REGISTER), WMIEV_STATUS_UNSUCCESSFUL);
  ASSERT_SEEN(p, EX_REGISTER(256));
  ASSERT_NO_EVENTS(f);
  assert_no_blocks(f);
  assert_int_equal(stats_of(f).registrations, 0);
  /* Nothing stuck: once it answers, it registers. */
  p->refuse_ex = false;
  control_ok(p, WMIREG_ACTION_REGISTER);
  ASSERT_SEEN(p, EX_REGISTER(256));
  prov_free(p);
  fixture_done(f);
}

/*
 * filter -> fdo -> pdo. The fdo registers, handles only IRP_MN_REGINFO and
 * forwards REGINFO_EX, which the pdo (not a provider) passes to the bottom,
 * where it completes with STATUS_NOT_SUPPORTED.
 */
static void test_fallback_through_stack(void **state) {
  (void)state;
  fixture *f = fixture_new(NULL);
  prov *pdo = prov_new(f, "pdo", NULL, "ROOT\\TOASTER\\0000");
  prov *fdo = prov_new(f, "fdo", pdo->device, NULL);
  prov *filter = prov_new(f, "filter", fdo->device, NULL);
  reginfo r;
  ri_one(&r, &guid_a, WMIREG_FLAG_EVENT_ONLY_GUID);
  fdo->on_register = &r;
  fdo->refuse_ex = true; /* refuse_status 0: forward it */
  control_ok(fdo, WMIREG_ACTION_REGISTER);
  ASSERT_SEEN(filter, EX_REGISTER(256), PLAIN_REGISTER(256));
  ASSERT_SEEN(fdo, EX_REGISTER(256), PLAIN_REGISTER(256));
  ASSERT_SEEN(pdo, EX_REGISTER(256));
  ASSERT_EVENTS(f, {WMIEV_BLOCK_ADDED, &guid_a, pid(fdo), WMIREG_FLAG_EVENT_ONLY_GUID});
  wmiev_block_info b[2];
  assert_int_equal(blocks_of(f, NULL, b, 2), 1);
  assert_block(&b[0], &guid_a, fdo, WMIREG_FLAG_EVENT_ONLY_GUID, 0, WMIEV_NAMES_DYNAMIC);
  prov_free(filter);
  uint32_t gone = prov_free(fdo);
  prov_free(pdo);
  ASSERT_EVENTS(f, {WMIEV_BLOCK_REMOVED, &guid_a, gone, WMIREG_FLAG_EVENT_ONLY_GUID});
  fixture_done(f);
}

/* An answer bigger than 256 bytes: 40 listed names. */
static void big_answer(reginfo *r) {
  static char names[40][8];
  static const char *list[40];
  for (int i = 0; i < 40; i++) {
    names[i][0] = 'i';
    names[i][1] = 'n';
    names[i][2] = 's';
    names[i][3] = 't';
    names[i][4] = '-';
    names[i][5] = (char)('0' + i / 10);
    names[i][6] = (char)('0' + i % 10);
    names[i][7] = '\0';
    list[i] = names[i];
  }
  ri_begin(r, 1);
  ri_list(r, 0, &guid_a, 0, list, 40, false);
  ri_finish(r);
  assert_true(r->size > 256);
}

static void check_growth(grow_form form, uint32_t initial) {
  wmiev_registry_options o = {0};
  o.reginfo_initial_size = initial;
  fixture *f = fixture_new(&o);
  prov *p = prov_new(f, "big", NULL, NULL);
  reginfo r;
  big_answer(&r);
  p->on_register = &r;
  p->grow = form;
  control_ok(p, WMIREG_ACTION_REGISTER);
  uint32_t first = initial == 0 ? 256 : initial;
  /* The second IRP's buffer is exactly the size the device asked for. */
  ASSERT_SEEN(p, EX_REGISTER(first), EX_REGISTER(r.size));
  wmiev_block_info b;
  assert_int_equal(blocks_of(f, &guid_a, &b, 1), 1);
  assert_block(&b, &guid_a, p, WMIREG_FLAG_INSTANCE_LIST, 40, WMIEV_NAMES_LIST);
  assert_name(f, &guid_a, p, 0, "inst-00");
  assert_name(f, &guid_a, p, 39, "inst-39");
  assert_int_equal(find(f, &guid_a, "inst-17", p, 17), WMIEV_STATUS_SUCCESS);
  assert_int_equal(stats_of(f).rejected_reginfo, 0);
  ASSERT_EVENTS(f, {WMIEV_BLOCK_ADDED, &guid_a, pid(p), WMIREG_FLAG_INSTANCE_LIST});
  uint32_t gone = prov_free(p);
  ASSERT_EVENTS(f, {WMIEV_BLOCK_REMOVED, &guid_a, gone, WMIREG_FLAG_INSTANCE_LIST});
  fixture_done(f);
}

static void test_growth_buffer_too_small(void **state) {
  (void)state;
  check_growth(GROW_TOO_SMALL, 0);
}

static void test_growth_classpnp_form(void **state) {
  (void)state;
  check_growth(GROW_CLASSPNP, 0);
}

static void test_growth_from_tiny_buffer(void **state) {
  (void)state;
  check_growth(GROW_TOO_SMALL, 8); /* just room for the ULONG */
}

/* A device asking for a size the registry must refuse. */
static void check_bad_ask(uint32_t ask, bool always_grow, size_t irps) {
  fixture *f = fixture_new(NULL);
  prov *p = prov_new(f, "greedy", NULL, NULL);
  reginfo r;
  ri_one(&r, &guid_a, 0);
  p->on_register = &r;
  p->ask = ask;
  p->always_grow = always_grow;
  assert_int_equal(control(p, WMIREG_ACTION_REGISTER), WMIEV_STATUS_INVALID_BUFFER_SIZE);
  pthread_mutex_lock(&p->lock);
  assert_int_equal(p->seen_count, irps);
  p->seen_count = 0;
  pthread_mutex_unlock(&p->lock);
  ASSERT_NO_EVENTS(f);
  assert_no_blocks(f);
  wmiev_registry_stats s = stats_of(f);
  assert_int_equal(s.registrations, 0);
  assert_int_equal(s.rejected_reginfo, 1);
  /* Not left half-registered: a sane answer registers now. */
  p->ask = 0;
  p->always_grow = false;
  p->reginfo_answers = 0;
  control_ok(p, WMIREG_ACTION_REGISTER);
  ASSERT_SEEN(p, EX_REGISTER(256));
  ASSERT_EVENTS(f, {WMIEV_BLOCK_ADDED, &guid_a, pid(p), 0});
  uint32_t gone = prov_free(p);
  ASSERT_EVENTS(f, {WMIEV_BLOCK_REMOVED, &guid_a, gone, 0});
  fixture_done(f);
}

static void test_growth_same_size_refused(void **state) {
  (void)state;
  check_bad_ask(256, false, 1);
}

static void test_growth_smaller_size_refused(void **state) {
  (void)state;
  check_bad_ask(100, false, 1);
}

static void test_growth_over_16mib_refused(void **state) {
  (void)state;
  check_bad_ask(16u * 1024u * 1024u + 1u, false, 1);
}

static void test_growth_without_end_refused(void **state) {
  (void)state;
  check_bad_ask(0, true, 16);
}

/* Exactly 16 MiB is still allowed. */
static void test_growth_to_16mib(void **state) {
  (void)state;
  fixture *f = fixture_new(NULL);
  prov *p = prov_new(f, "huge", NULL, NULL);
  reginfo r;
  ri_one(&r, &guid_a, 0);
  p->on_register = &r;
  p->ask = 16u * 1024u * 1024u;
  control_ok(p, WMIREG_ACTION_REGISTER);
  ASSERT_SEEN(p, EX_REGISTER(256), EX_REGISTER(16u * 1024u * 1024u));
  ASSERT_EVENTS(f, {WMIEV_BLOCK_ADDED, &guid_a, pid(p), 0});
  uint32_t gone = prov_free(p);
  ASSERT_EVENTS(f, {WMIEV_BLOCK_REMOVED, &guid_a, gone, 0});
  fixture_done(f);
}

/* ---- malformed answers -------------------------------------------------------------- */

typedef enum mutation {
  INFO_PAST_BUFFER,    /* Information > the IRP's BufferSize */
  INFO_BELOW_HEADER,   /* Information < one WMIREGINFO header */
  BUFFERSIZE_PAST_END, /* the record's BufferSize runs past Information */
  TWO_NAME_FLAGS,      /* INSTANCE_LIST | INSTANCE_BASENAME */
  SAME_GUID_TWICE,
  NAME_IN_GUID_ARRAY, /* BaseNameOffset points into the entries */
  PDO_NULL
} mutation;

static void check_malformed(mutation m, wmiev_status expected) {
  fixture *f = fixture_new(NULL);
  prov *p = prov_new(f, "broken", NULL, NULL);
  reginfo good;
  ri_begin(&good, 2);
  ri_basename(&good, 0, &guid_a, 0, 2, "Toaster", false);
  ri_dynamic(&good, 1, &guid_b, 0, 0);
  ri_finish(&good);
  reginfo bad = good;
  p->on_register = &bad;
  switch (m) {
  case INFO_PAST_BUFFER:
    p->info = 256 + 1;
    break;
  case INFO_BELOW_HEADER:
    p->info = 8;
    break;
  case BUFFERSIZE_PAST_END:
    put_u32(&bad, (uint32_t)offsetof(WMIREGINFOW, BufferSize), bad.size + 8u);
    break;
  case TWO_NAME_FLAGS:
    put_u32(&bad, field_of_entry(0, offsetof(WMIREGGUIDW, Flags)),
            WMIREG_FLAG_INSTANCE_BASENAME | WMIREG_FLAG_INSTANCE_LIST);
    break;
  case SAME_GUID_TWICE:
    memcpy(bad.bytes + field_of_entry(1, offsetof(WMIREGGUIDW, Guid)), &guid_a, sizeof(GUID));
    break;
  case NAME_IN_GUID_ARRAY:
    put_u32(&bad, field_of_entry(0, offsetof(WMIREGGUIDW, BaseNameOffset)), HDR);
    break;
  case PDO_NULL:
    put_u32(&bad, field_of_entry(1, offsetof(WMIREGGUIDW, Flags)), WMIREG_FLAG_INSTANCE_PDO);
    break;
  }
  assert_int_equal(control(p, WMIREG_ACTION_REGISTER), expected);
  ASSERT_SEEN(p, EX_REGISTER(256));
  ASSERT_NO_EVENTS(f);
  assert_no_blocks(f);
  wmiev_registry_stats s = stats_of(f);
  assert_int_equal(s.rejected_reginfo, 1);
  assert_int_equal(s.registrations, 0);
  assert_int_equal(violations(f, WMIEV_VIOLATION_BAD_REPLY), m == INFO_PAST_BUFFER ? 1 : 0);
  /* Nothing half-registered: the good answer registers normally. */
  p->on_register = &good;
  p->info = 0;
  control_ok(p, WMIREG_ACTION_REGISTER);
  ASSERT_SEEN(p, EX_REGISTER(256));
  ASSERT_EVENTS(f, {WMIEV_BLOCK_ADDED, &guid_a, pid(p), WMIREG_FLAG_INSTANCE_BASENAME},
                {WMIEV_BLOCK_ADDED, &guid_b, pid(p), 0});
  uint32_t gone = prov_free(p);
  ASSERT_EVENTS(f, {WMIEV_BLOCK_REMOVED, &guid_a, gone, WMIREG_FLAG_INSTANCE_BASENAME},
                {WMIEV_BLOCK_REMOVED, &guid_b, gone, 0});
  fixture_done(f);
}

static void test_malformed_info_past_buffer(void **state) {
  (void)state;
  check_malformed(INFO_PAST_BUFFER, WMIEV_STATUS_INVALID_BUFFER_SIZE);
}

static void test_malformed_info_below_header(void **state) {
  (void)state;
  check_malformed(INFO_BELOW_HEADER, WMIEV_STATUS_INVALID_BUFFER_SIZE);
}

static void test_malformed_buffersize_past_end(void **state) {
  (void)state;
  check_malformed(BUFFERSIZE_PAST_END, WMIEV_STATUS_INVALID_BUFFER_SIZE);
}

static void test_malformed_two_name_flags(void **state) {
  (void)state;
  check_malformed(TWO_NAME_FLAGS, WMIEV_STATUS_INVALID_PARAMETER);
}

static void test_malformed_same_guid_twice(void **state) {
  (void)state;
  check_malformed(SAME_GUID_TWICE, WMIEV_STATUS_INVALID_PARAMETER);
}

static void test_malformed_name_in_guid_array(void **state) {
  (void)state;
  check_malformed(NAME_IN_GUID_ARRAY, WMIEV_STATUS_INVALID_BUFFER_SIZE);
}

static void test_malformed_pdo_null(void **state) {
  (void)state;
  check_malformed(PDO_NULL, WMIEV_STATUS_INVALID_PARAMETER);
}

/* ---- instance names ------------------------------------------------------------------ */

static void test_names_instance_list(void **state) {
  (void)state;
  fixture *f = fixture_new(NULL);
  prov *p = prov_new(f, "lister", NULL, NULL);
  reginfo r;
  ri_begin(&r, 2);
  static const char *const plain[] = {"alpha", "", "gamma"};
  static const char *const nul_terminated[] = {"beta", "delta"};
  ri_list(&r, 0, &guid_a, 0, plain, 3, false);
  ri_list(&r, 1, &guid_b, 0, nul_terminated, 2, true); /* counts include a NUL */
  ri_finish(&r);
  p->on_register = &r;
  control_ok(p, WMIREG_ACTION_REGISTER);
  ASSERT_SEEN(p, EX_REGISTER(256));

  assert_name(f, &guid_a, p, 0, "alpha");
  assert_name(f, &guid_a, p, 1, "");
  assert_name(f, &guid_a, p, 2, "gamma");
  assert_name(f, &guid_b, p, 0, "beta"); /* the trailing NUL is dropped */
  assert_name(f, &guid_b, p, 1, "delta");
  assert_int_equal(name_status(f, &guid_a, pid(p), 3), WMIEV_STATUS_WMI_INSTANCE_NOT_FOUND);
  assert_int_equal(name_status(f, &guid_a, pid(p) + 1000u, 0), WMIEV_STATUS_WMI_GUID_NOT_FOUND);
  assert_int_equal(name_status(f, &guid_none, pid(p), 0), WMIEV_STATUS_WMI_GUID_NOT_FOUND);

  assert_int_equal(find(f, &guid_a, "alpha", p, 0), WMIEV_STATUS_SUCCESS);
  assert_int_equal(find(f, &guid_a, "", p, 1), WMIEV_STATUS_SUCCESS);
  assert_int_equal(find(f, &guid_a, "gamma", p, 2), WMIEV_STATUS_SUCCESS);
  assert_int_equal(find(f, &guid_b, "beta", p, 0), WMIEV_STATUS_SUCCESS);
  assert_int_equal(find(f, &guid_b, "delta", p, 1), WMIEV_STATUS_SUCCESS);
  static const uint16_t beta_nul[] = {'b', 'e', 't', 'a', 0};
  assert_int_equal(find_units(f, &guid_b, beta_nul, 5, NULL, 0),
                   WMIEV_STATUS_WMI_INSTANCE_NOT_FOUND);
  assert_not_found(f, &guid_a, "alph");
  assert_not_found(f, &guid_a, "Alpha");
  assert_not_found(f, &guid_a, "alpha0");
  assert_not_found(f, &guid_b, "alpha"); /* names belong to their block */
  assert_not_found(f, &guid_none, "alpha");
  prov_free(p);
  fixture_done(f);
}

static void test_names_basename(void **state) {
  (void)state;
  fixture *f = fixture_new(NULL);
  prov *p = prov_new(f, "toaster", NULL, NULL);
  reginfo r;
  ri_begin(&r, 3);
  ri_basename(&r, 0, &guid_a, 0, 2, "Toaster", false);
  ri_basename(&r, 1, &guid_b, 0, 12, "Fan", true); /* trailing NUL in the base name */
  ri_basename(&r, 2, &guid_c, 0, 0, "Nothing", false);
  ri_finish(&r);
  p->on_register = &r;
  control_ok(p, WMIREG_ACTION_REGISTER);

  assert_name(f, &guid_a, p, 0, "Toaster0");
  assert_name(f, &guid_a, p, 1, "Toaster1");
  assert_int_equal(name_status(f, &guid_a, pid(p), 2), WMIEV_STATUS_WMI_INSTANCE_NOT_FOUND);
  assert_int_equal(find(f, &guid_a, "Toaster0", p, 0), WMIEV_STATUS_SUCCESS);
  assert_int_equal(find(f, &guid_a, "Toaster1", p, 1), WMIEV_STATUS_SUCCESS);
  assert_not_found(f, &guid_a, "Toaster01"); /* no leading zeros */
  assert_not_found(f, &guid_a, "Toaster2");  /* count is 2 */
  assert_not_found(f, &guid_a, "Toaster");   /* no index at all */
  assert_not_found(f, &guid_a, "toaster0");  /* exact comparison */
  assert_not_found(f, &guid_a, "Toaster-1");
  assert_not_found(f, &guid_a, "Toaster1x");
  assert_not_found(f, &guid_a, "Toaster99999999999");

  assert_name(f, &guid_b, p, 0, "Fan0");
  assert_name(f, &guid_b, p, 11, "Fan11");
  assert_int_equal(find(f, &guid_b, "Fan10", p, 10), WMIEV_STATUS_SUCCESS);
  assert_not_found(f, &guid_b, "Fan12");

  assert_int_equal(name_status(f, &guid_c, pid(p), 0), WMIEV_STATUS_WMI_INSTANCE_NOT_FOUND);
  assert_not_found(f, &guid_c, "Nothing0");
  prov_free(p);
  fixture_done(f);
}

static void test_names_pdo(void **state) {
  (void)state;
  fixture *f = fixture_new(NULL);
  prov *pdo = prov_new(f, "pdo", NULL, "ROOT\\TOASTER\\0000");
  prov *fdo = prov_new(f, "fdo", pdo->device, NULL);
  reginfo r;
  ri_begin(&r, 1);
  ri_pdo(&r, 0, &guid_a, WMIREG_FLAG_EXPENSIVE, 2, (uintptr_t)pdo->device);
  ri_finish(&r);
  fdo->on_register = &r;
  control_ok(fdo, WMIREG_ACTION_REGISTER);
  ASSERT_SEEN(fdo, EX_REGISTER(256));
  ASSERT_SEEN_NOTHING(pdo); /* below the fdo, which answered */
  wmiev_block_info b;
  assert_int_equal(blocks_of(f, &guid_a, &b, 1), 1);
  assert_block(&b, &guid_a, fdo, WMIREG_FLAG_EXPENSIVE | WMIREG_FLAG_INSTANCE_PDO, 2,
               WMIEV_NAMES_PDO);
  assert_name(f, &guid_a, fdo, 0, "ROOT\\TOASTER\\0000_0");
  assert_name(f, &guid_a, fdo, 1, "ROOT\\TOASTER\\0000_1");
  assert_int_equal(find(f, &guid_a, "ROOT\\TOASTER\\0000_1", fdo, 1), WMIEV_STATUS_SUCCESS);
  assert_not_found(f, &guid_a, "ROOT\\TOASTER\\0000_2");
  assert_not_found(f, &guid_a, "ROOT\\TOASTER\\0000");
  assert_not_found(f, &guid_a, "ROOT\\TOASTER\\00000");
  assert_not_found(f, &guid_a, "ROOT\\TOASTER\\0000_01");
  assert_not_found(f, &guid_a, "ROOT\\TOASTER\\0000_");
  prov_free(fdo);
  prov_free(pdo);
  fixture_done(f);
}

/* A Pdo value that is not a device of the registry (or has no instance id). */
static void check_bad_pdo(bool device_without_id) {
  fixture *f = fixture_new(NULL);
  prov *plain = prov_new(f, "no-instance-id", NULL, NULL);
  prov *fdo = prov_new(f, "fdo", NULL, NULL);
  int not_a_device = 0;
  reginfo r;
  ri_begin(&r, 2);
  ri_dynamic(&r, 0, &guid_b, 0, 0);
  ri_pdo(&r, 1, &guid_a, 0, 1,
         device_without_id ? (uintptr_t)plain->device : (uintptr_t)&not_a_device);
  ri_finish(&r);
  fdo->on_register = &r;
  wmiev_diag diag;
  assert_int_equal(wmiev_registration_control(fdo->device, WMIREG_ACTION_REGISTER, &diag),
                   WMIEV_STATUS_INVALID_PARAMETER);
  assert_int_equal(diag.status, WMIEV_STATUS_INVALID_PARAMETER);
  assert_string_equal(diag.field, "WmiRegGuid.Pdo");
  assert_int_equal(diag.offset, HDR + ENT + (uint32_t)offsetof(WMIREGGUIDW, Pdo));
  assert_no_blocks(f);
  ASSERT_NO_EVENTS(f);
  assert_int_equal(stats_of(f).rejected_reginfo, 1);
  prov_free(fdo);
  prov_free(plain);
  fixture_done(f);
}

static void test_names_pdo_not_a_device(void **state) {
  (void)state;
  check_bad_pdo(false);
}

static void test_names_pdo_without_instance_id(void **state) {
  (void)state;
  check_bad_pdo(true);
}

/* With a resolve_pdo hook (what the WDK face installs), Pdo values are its business. */
static wmiev_status resolve_pdo(uintptr_t pdo, const char **instance_id, void *ctx) {
  int *calls = ctx;
  (*calls)++;
  if (pdo == 0x1000u) {
    *instance_id = "PCI\\VEN_8086&DEV_1234\\3&11583659&0&10";
    return WMIEV_STATUS_SUCCESS;
  }
  return WMIEV_STATUS_WMI_GUID_NOT_FOUND;
}

static void test_names_pdo_resolver(void **state) {
  (void)state;
  int calls = 0;
  wmiev_registry_options o = {0};
  o.resolve_pdo = resolve_pdo;
  o.resolve_pdo_ctx = &calls;
  fixture *f = fixture_new(&o);
  prov *p = prov_new(f, "pci", NULL, NULL);
  reginfo good;
  ri_begin(&good, 1);
  ri_pdo(&good, 0, &guid_a, 0, 1, 0x1000u);
  ri_finish(&good);
  reginfo bad;
  ri_begin(&bad, 1);
  ri_pdo(&bad, 0, &guid_a, 0, 1, 0x2000u);
  ri_finish(&bad);
  p->on_register = &bad;
  assert_int_equal(control(p, WMIREG_ACTION_REGISTER), WMIEV_STATUS_INVALID_PARAMETER);
  assert_no_blocks(f);
  p->on_register = &good;
  control_ok(p, WMIREG_ACTION_REGISTER);
  assert_int_equal(calls, 2);
  assert_name(f, &guid_a, p, 0, "PCI\\VEN_8086&DEV_1234\\3&11583659&0&10_0");
  prov_free(p);
  fixture_done(f);
}

static void test_names_dynamic(void **state) {
  (void)state;
  fixture *f = fixture_new(NULL);
  prov *p = prov_new(f, "dynamic", NULL, NULL);
  reginfo r;
  ri_begin(&r, 1);
  ri_dynamic(&r, 0, &guid_a, WMIREG_FLAG_EVENT_ONLY_GUID, 5); /* the count means nothing */
  ri_finish(&r);
  p->on_register = &r;
  control_ok(p, WMIREG_ACTION_REGISTER);
  wmiev_block_info b;
  assert_int_equal(blocks_of(f, &guid_a, &b, 1), 1);
  assert_block(&b, &guid_a, p, WMIREG_FLAG_EVENT_ONLY_GUID, 0, WMIEV_NAMES_DYNAMIC);
  assert_int_equal(name_status(f, &guid_a, pid(p), 0), WMIEV_STATUS_WMI_INSTANCE_NOT_FOUND);
  assert_not_found(f, &guid_a, "anything");
  assert_not_found(f, &guid_a, "");
  prov_free(p);
  fixture_done(f);
}

/* ---- several providers ------------------------------------------------------------------ */

static void test_blocks_snapshot_order(void **state) {
  (void)state;
  fixture *f = fixture_new(NULL);
  prov *p1 = prov_new(f, "p1", NULL, NULL);
  prov *p2 = prov_new(f, "p2", NULL, NULL);
  prov *p3 = prov_new(f, "p3", NULL, NULL);
  reginfo r1, r2, r3;
  ri_begin(&r1, 2);
  ri_basename(&r1, 0, &guid_a, 0, 1, "One", false);
  ri_dynamic(&r1, 1, &guid_b, 0, 0);
  ri_finish(&r1);
  ri_begin(&r2, 2);
  ri_dynamic(&r2, 0, &guid_b, WMIREG_FLAG_EXPENSIVE, 0);
  ri_dynamic(&r2, 1, &guid_c, 0, 0);
  ri_finish(&r2);
  ri_begin(&r3, 1);
  ri_basename(&r3, 0, &guid_a, 0, 1, "Three", false);
  ri_finish(&r3);
  p1->on_register = &r1;
  p2->on_register = &r2;
  p3->on_register = &r3;
  control_ok(p1, WMIREG_ACTION_REGISTER);
  control_ok(p2, WMIREG_ACTION_REGISTER);
  control_ok(p3, WMIREG_ACTION_REGISTER);
  ASSERT_EVENTS(f, {WMIEV_BLOCK_ADDED, &guid_a, pid(p1), WMIREG_FLAG_INSTANCE_BASENAME},
                {WMIEV_BLOCK_ADDED, &guid_b, pid(p1), 0},
                {WMIEV_BLOCK_ADDED, &guid_b, pid(p2), WMIREG_FLAG_EXPENSIVE},
                {WMIEV_BLOCK_ADDED, &guid_c, pid(p2), 0},
                {WMIEV_BLOCK_ADDED, &guid_a, pid(p3), WMIREG_FLAG_INSTANCE_BASENAME});

  wmiev_block_info b[8];
  assert_int_equal(blocks_of(f, NULL, b, 8), 5);
  assert_block(&b[0], &guid_a, p1, WMIREG_FLAG_INSTANCE_BASENAME, 1, WMIEV_NAMES_BASENAME);
  assert_block(&b[1], &guid_b, p1, 0, 0, WMIEV_NAMES_DYNAMIC);
  assert_block(&b[2], &guid_b, p2, WMIREG_FLAG_EXPENSIVE, 0, WMIEV_NAMES_DYNAMIC);
  assert_block(&b[3], &guid_c, p2, 0, 0, WMIEV_NAMES_DYNAMIC);
  assert_block(&b[4], &guid_a, p3, WMIREG_FLAG_INSTANCE_BASENAME, 1, WMIEV_NAMES_BASENAME);
  /* Per GUID: both providers kept, in registration order. */
  assert_int_equal(blocks_of(f, &guid_a, b, 8), 2);
  assert_int_equal(b[0].provider_id, pid(p1));
  assert_int_equal(b[1].provider_id, pid(p3));
  assert_int_equal(blocks_of(f, &guid_b, b, 8), 2);
  assert_int_equal(b[0].provider_id, pid(p1));
  assert_int_equal(b[1].provider_id, pid(p2));
  assert_int_equal(blocks_of(f, &guid_none, b, 8), 0);
  /* Short capacity: the first ones in order, the full count returned, nothing past it written. */
  memset(b, 0x5A, sizeof b);
  assert_int_equal(blocks_of(f, NULL, b, 2), 5);
  assert_block(&b[0], &guid_a, p1, WMIREG_FLAG_INSTANCE_BASENAME, 1, WMIEV_NAMES_BASENAME);
  assert_block(&b[1], &guid_b, p1, 0, 0, WMIEV_NAMES_DYNAMIC);
  assert_int_equal(((uint8_t *)&b[2])[0], 0x5A);
  assert_int_equal(blocks_of(f, &guid_a, b, 1), 2);
  assert_int_equal(b[0].provider_id, pid(p1));
  assert_int_equal(blocks_of(f, NULL, NULL, 0), 5);
  assert_int_equal(blocks_of(f, NULL, b, 0), 5);
  assert_int_equal(wmiev_registry_blocks(NULL, NULL, b, 8), 0);
  /* A name resolves to the provider that owns it. */
  assert_int_equal(find(f, &guid_a, "Three0", p3, 0), WMIEV_STATUS_SUCCESS);
  assert_int_equal(find(f, &guid_a, "One0", p1, 0), WMIEV_STATUS_SUCCESS);
  assert_name(f, &guid_a, p3, 0, "Three0");

  /* p1 leaves and comes back: its blocks are now the newest. */
  control_ok(p1, WMIREG_ACTION_DEREGISTER);
  ASSERT_EVENTS(f, {WMIEV_BLOCK_REMOVED, &guid_a, pid(p1), WMIREG_FLAG_INSTANCE_BASENAME},
                {WMIEV_BLOCK_REMOVED, &guid_b, pid(p1), 0});
  assert_int_equal(blocks_of(f, &guid_a, b, 8), 1);
  assert_int_equal(b[0].provider_id, pid(p3));
  control_ok(p1, WMIREG_ACTION_REGISTER);
  assert_int_equal(blocks_of(f, NULL, b, 8), 5);
  assert_block(&b[0], &guid_b, p2, WMIREG_FLAG_EXPENSIVE, 0, WMIEV_NAMES_DYNAMIC);
  assert_block(&b[1], &guid_c, p2, 0, 0, WMIEV_NAMES_DYNAMIC);
  assert_block(&b[2], &guid_a, p3, WMIREG_FLAG_INSTANCE_BASENAME, 1, WMIEV_NAMES_BASENAME);
  assert_block(&b[3], &guid_a, p1, WMIREG_FLAG_INSTANCE_BASENAME, 1, WMIEV_NAMES_BASENAME);
  assert_block(&b[4], &guid_b, p1, 0, 0, WMIEV_NAMES_DYNAMIC);
  assert_int_equal(blocks_of(f, &guid_a, b, 8), 2);
  assert_int_equal(b[0].provider_id, pid(p3));
  assert_int_equal(b[1].provider_id, pid(p1));
  prov_free(p1);
  prov_free(p2);
  prov_free(p3);
  fixture_done(f);
}

static void test_register_twice(void **state) {
  (void)state;
  fixture *f = fixture_new(NULL);
  prov *p = prov_new(f, "twice", NULL, NULL);
  reginfo r;
  ri_one(&r, &guid_a, 0);
  p->on_register = &r;
  control_ok(p, WMIREG_ACTION_REGISTER);
  ASSERT_SEEN(p, EX_REGISTER(256));
  ASSERT_EVENTS(f, {WMIEV_BLOCK_ADDED, &guid_a, pid(p), 0});
  wmiev_diag diag;
  assert_int_equal(wmiev_registration_control(p->device, WMIREG_ACTION_REGISTER, &diag),
                   WMIEV_STATUS_INVALID_PARAMETER);
  assert_string_equal(diag.field, "Action");
  ASSERT_SEEN_NOTHING(p); /* refused before any IRP */
  ASSERT_NO_EVENTS(f);
  assert_int_equal(blocks_of(f, NULL, NULL, 0), 1);
  assert_int_equal(stats_of(f).registrations, 1);
  prov_free(p);
  fixture_done(f);
}

/* ---- UPDATE_GUIDS, REREGISTER, DEREGISTER ------------------------------------------------ */

static void test_update_guids(void **state) {
  (void)state;
  fixture *f = fixture_new(NULL);
  prov *p = prov_new(f, "updater", NULL, NULL);
  const uint32_t base = WMIREG_FLAG_INSTANCE_BASENAME;
  const uint32_t list = WMIREG_FLAG_INSTANCE_LIST;
  reginfo reg, up;
  ri_begin(&reg, 2);
  ri_basename(&reg, 0, &guid_a, 0, 2, "Toaster", false);
  ri_dynamic(&reg, 1, &guid_b, WMIREG_FLAG_EVENT_ONLY_GUID, 0);
  ri_finish(&reg);
  p->on_register = &reg;
  p->on_update = &up;

  /* Not registered yet: refused before any IRP. */
  assert_int_equal(control(p, WMIREG_ACTION_UPDATE_GUIDS), WMIEV_STATUS_INVALID_PARAMETER);
  ASSERT_SEEN_NOTHING(p);
  control_ok(p, WMIREG_ACTION_REGISTER);
  ASSERT_SEEN(p, EX_REGISTER(256));
  ASSERT_EVENTS(f, {WMIEV_BLOCK_ADDED, &guid_a, pid(p), base},
                {WMIEV_BLOCK_ADDED, &guid_b, pid(p), WMIREG_FLAG_EVENT_ONLY_GUID});

  /* A: 3 instances now; B: the same entry again; C: new. */
  static const char *const c_names[] = {"c0"};
  ri_begin(&up, 3);
  ri_basename(&up, 0, &guid_a, 0, 3, "Toaster", false);
  ri_dynamic(&up, 1, &guid_b, WMIREG_FLAG_EVENT_ONLY_GUID, 0);
  ri_list(&up, 2, &guid_c, 0, c_names, 1, false);
  ri_finish(&up);
  control_ok(p, WMIREG_ACTION_UPDATE_GUIDS);
  ASSERT_SEEN(p, EX_UPDATE(256));
  ASSERT_EVENTS(f, {WMIEV_BLOCK_CHANGED, &guid_a, pid(p), base},
                {WMIEV_BLOCK_ADDED, &guid_c, pid(p), list});
  wmiev_block_info b[4];
  assert_int_equal(blocks_of(f, NULL, b, 4), 3);
  assert_block(&b[0], &guid_a, p, base, 3, WMIEV_NAMES_BASENAME); /* keeps its place */
  assert_block(&b[1], &guid_b, p, WMIREG_FLAG_EVENT_ONLY_GUID, 0, WMIEV_NAMES_DYNAMIC);
  assert_block(&b[2], &guid_c, p, list, 1, WMIEV_NAMES_LIST);
  assert_name(f, &guid_a, p, 2, "Toaster2");
  assert_name(f, &guid_c, p, 0, "c0");

  /* The same answer again changes nothing: no events at all. */
  control_ok(p, WMIREG_ACTION_UPDATE_GUIDS);
  ASSERT_SEEN(p, EX_UPDATE(256));
  ASSERT_NO_EVENTS(f);
  assert_int_equal(blocks_of(f, NULL, NULL, 0), 3);

  /* A flags-only change is a change too. */
  ri_begin(&up, 1);
  ri_dynamic(&up, 0, &guid_b, WMIREG_FLAG_EVENT_ONLY_GUID | WMIREG_FLAG_EXPENSIVE, 0);
  ri_finish(&up);
  control_ok(p, WMIREG_ACTION_UPDATE_GUIDS);
  ASSERT_EVENTS(f, {WMIEV_BLOCK_CHANGED, &guid_b, pid(p),
                    WMIREG_FLAG_EVENT_ONLY_GUID | WMIREG_FLAG_EXPENSIVE});

  /* REMOVE_GUID removes; for a GUID the device does not have, nothing happens. */
  ri_begin(&up, 2);
  ri_dynamic(&up, 0, &guid_b, WMIREG_FLAG_REMOVE_GUID, 0);
  ri_dynamic(&up, 1, &guid_d, WMIREG_FLAG_REMOVE_GUID, 0);
  ri_finish(&up);
  control_ok(p, WMIREG_ACTION_UPDATE_GUIDS);
  ASSERT_SEEN(p, EX_UPDATE(256), EX_UPDATE(256));
  ASSERT_EVENTS(f, {WMIEV_BLOCK_REMOVED, &guid_b, pid(p),
                    WMIREG_FLAG_EVENT_ONLY_GUID | WMIREG_FLAG_EXPENSIVE});
  assert_int_equal(blocks_of(f, NULL, b, 4), 2);
  assert_block(&b[0], &guid_a, p, base, 3, WMIEV_NAMES_BASENAME);
  assert_block(&b[1], &guid_c, p, list, 1, WMIEV_NAMES_LIST);

  /* Remove and add the same GUID in one answer: out, then in again (newest). */
  ri_begin(&up, 2);
  ri_dynamic(&up, 0, &guid_a, WMIREG_FLAG_REMOVE_GUID, 0);
  ri_basename(&up, 1, &guid_a, 0, 1, "Again", false);
  ri_finish(&up);
  control_ok(p, WMIREG_ACTION_UPDATE_GUIDS);
  ASSERT_EVENTS(f, {WMIEV_BLOCK_REMOVED, &guid_a, pid(p), base},
                {WMIEV_BLOCK_ADDED, &guid_a, pid(p), base});
  assert_int_equal(blocks_of(f, NULL, b, 4), 2);
  assert_block(&b[0], &guid_c, p, list, 1, WMIEV_NAMES_LIST);
  assert_block(&b[1], &guid_a, p, base, 1, WMIEV_NAMES_BASENAME);
  assert_name(f, &guid_a, p, 0, "Again0");

  /* A malformed update is rejected whole. */
  ri_begin(&up, 2);
  ri_dynamic(&up, 0, &guid_d, 0, 0);
  ri_dynamic(&up, 1, &guid_c, WMIREG_FLAG_INSTANCE_PDO | WMIREG_FLAG_INSTANCE_BASENAME, 1);
  ri_finish(&up);
  assert_int_equal(control(p, WMIREG_ACTION_UPDATE_GUIDS), WMIEV_STATUS_INVALID_PARAMETER);
  ASSERT_NO_EVENTS(f);
  assert_int_equal(blocks_of(f, NULL, NULL, 0), 2);

  wmiev_registry_stats s = stats_of(f);
  assert_int_equal(s.updates, 5);
  assert_int_equal(s.registrations, 1);
  assert_int_equal(s.rejected_reginfo, 1);
  uint32_t gone = prov_free(p);
  ASSERT_EVENTS(f, {WMIEV_BLOCK_REMOVED, &guid_c, gone, list},
                {WMIEV_BLOCK_REMOVED, &guid_a, gone, base});
  fixture_done(f);
}

static void test_reregister(void **state) {
  (void)state;
  fixture *f = fixture_new(NULL);
  prov *p = prov_new(f, "rereg", NULL, NULL);
  reginfo first, second;
  ri_begin(&first, 2);
  ri_dynamic(&first, 0, &guid_a, 0, 0);
  ri_dynamic(&first, 1, &guid_b, 0, 0);
  ri_finish(&first);
  ri_begin(&second, 2);
  ri_dynamic(&second, 0, &guid_b, WMIREG_FLAG_EXPENSIVE, 0);
  ri_dynamic(&second, 1, &guid_c, 0, 0);
  ri_finish(&second);
  /* REREGISTER of a device that is not registered yet simply registers it. */
  p->on_register = &first;
  control_ok(p, WMIREG_ACTION_REREGISTER);
  ASSERT_SEEN(p, EX_REGISTER(256));
  ASSERT_EVENTS(f, {WMIEV_BLOCK_ADDED, &guid_a, pid(p), 0},
                {WMIEV_BLOCK_ADDED, &guid_b, pid(p), 0});
  p->on_register = &second;
  control_ok(p, WMIREG_ACTION_REREGISTER);
  ASSERT_SEEN(p, EX_REGISTER(256));
  ASSERT_EVENTS(f, {WMIEV_BLOCK_REMOVED, &guid_a, pid(p), 0},
                {WMIEV_BLOCK_REMOVED, &guid_b, pid(p), 0},
                {WMIEV_BLOCK_ADDED, &guid_b, pid(p), WMIREG_FLAG_EXPENSIVE},
                {WMIEV_BLOCK_ADDED, &guid_c, pid(p), 0});
  wmiev_block_info b[4];
  assert_int_equal(blocks_of(f, NULL, b, 4), 2);
  assert_block(&b[0], &guid_b, p, WMIREG_FLAG_EXPENSIVE, 0, WMIEV_NAMES_DYNAMIC);
  assert_block(&b[1], &guid_c, p, 0, 0, WMIEV_NAMES_DYNAMIC);
  /* A rejected REREGISTER keeps the old registration. */
  reginfo broken = second;
  put_u32(&broken, (uint32_t)offsetof(WMIREGINFOW, GuidCount), 1000);
  p->on_register = &broken;
  assert_int_equal(control(p, WMIREG_ACTION_REREGISTER), WMIEV_STATUS_INVALID_BUFFER_SIZE);
  ASSERT_NO_EVENTS(f);
  assert_int_equal(blocks_of(f, NULL, NULL, 0), 2);
  assert_int_equal(stats_of(f).registrations, 2);
  uint32_t gone = prov_free(p);
  ASSERT_EVENTS(f, {WMIEV_BLOCK_REMOVED, &guid_b, gone, WMIREG_FLAG_EXPENSIVE},
                {WMIEV_BLOCK_REMOVED, &guid_c, gone, 0});
  fixture_done(f);
}

static void test_deregister(void **state) {
  (void)state;
  fixture *f = fixture_new(NULL);
  prov *p = prov_new(f, "leaver", NULL, NULL);
  reginfo r;
  ri_begin(&r, 2);
  ri_basename(&r, 0, &guid_a, 0, 1, "Leaver", false);
  ri_dynamic(&r, 1, &guid_b, WMIREG_FLAG_EXPENSIVE, 0);
  ri_paths(&r, "\\Registry\\Machine\\leaver", "MofLeaver");
  ri_finish(&r);
  p->on_register = &r;
  assert_int_equal(control(p, WMIREG_ACTION_DEREGISTER), WMIEV_STATUS_INVALID_PARAMETER);
  control_ok(p, WMIREG_ACTION_REGISTER);
  ASSERT_SEEN(p, EX_REGISTER(256));
  ASSERT_EVENTS(f, {WMIEV_BLOCK_ADDED, &guid_a, pid(p), WMIREG_FLAG_INSTANCE_BASENAME},
                {WMIEV_BLOCK_ADDED, &guid_b, pid(p), WMIREG_FLAG_EXPENSIVE});
  control_ok(p, WMIREG_ACTION_DEREGISTER);
  ASSERT_SEEN_NOTHING(p); /* no IRP follows a DEREGISTER */
  ASSERT_EVENTS(f, {WMIEV_BLOCK_REMOVED, &guid_a, pid(p), WMIREG_FLAG_INSTANCE_BASENAME},
                {WMIEV_BLOCK_REMOVED, &guid_b, pid(p), WMIREG_FLAG_EXPENSIVE});
  assert_no_blocks(f);
  assert_int_equal(name_status(f, &guid_a, pid(p), 0), WMIEV_STATUS_WMI_GUID_NOT_FOUND);
  assert_not_found(f, &guid_a, "Leaver0");
  assert_int_equal(control(p, WMIREG_ACTION_DEREGISTER), WMIEV_STATUS_INVALID_PARAMETER);
  assert_int_equal(stats_of(f).deregistrations, 1);
  /* And back. */
  control_ok(p, WMIREG_ACTION_REGISTER);
  ASSERT_SEEN(p, EX_REGISTER(256));
  ASSERT_EVENTS(f, {WMIEV_BLOCK_ADDED, &guid_a, pid(p), WMIREG_FLAG_INSTANCE_BASENAME},
                {WMIEV_BLOCK_ADDED, &guid_b, pid(p), WMIREG_FLAG_EXPENSIVE});
  uint32_t gone = prov_free(p);
  ASSERT_EVENTS(f, {WMIEV_BLOCK_REMOVED, &guid_a, gone, WMIREG_FLAG_INSTANCE_BASENAME},
                {WMIEV_BLOCK_REMOVED, &guid_b, gone, WMIREG_FLAG_EXPENSIVE});
  assert_int_equal(stats_of(f).deregistrations, 2);
  fixture_done(f);
}

static bool load_flag(bool *flag) { return __atomic_load_n(flag, __ATOMIC_ACQUIRE); }
static void store_flag(bool *flag) { __atomic_store_n(flag, true, __ATOMIC_RELEASE); }

/* Completes the held IRP 100 ms after DEREGISTER started; first checks
 * that the device takes no new WMI IRPs while DEREGISTER waits. */
static void *slow_completer(void *arg) {
  prov *p = arg;
  while (!load_flag(&p->dereg_started)) {
    sleep_ms(1);
  }
  sleep_ms(100);
  p->late_send_status = query(p);
  store_flag(&p->completed);
  (void)wmiev_irp_complete(p->held, WMIEV_STATUS_SUCCESS, 0);
  return NULL;
}

static wmiev_status pend_slowly(prov *p, wmiev_device *device, wmiev_irp *irp) {
  (void)device;
  wmiev_irp_mark_pending(irp);
  p->held = irp;
  assert_int_equal(pthread_create(&p->thread, NULL, slow_completer, p), 0);
  store_flag(&p->pended);
  return WMIEV_STATUS_PENDING;
}

typedef struct sender {
  prov *p;
  wmiev_status status;
} sender;

static void *send_query_thread(void *arg) {
  sender *s = arg;
  s->status = query(s->p);
  return NULL;
}

static void test_deregister_waits_for_pended_irp(void **state) {
  (void)state;
  wmiev_registry_options o = {0};
  o.irp_timeout_ms = 10000;
  fixture *f = fixture_new(&o);
  prov *p = prov_new(f, "slow", NULL, NULL);
  reginfo r;
  ri_one(&r, &guid_a, 0);
  p->on_register = &r;
  control_ok(p, WMIREG_ACTION_REGISTER);
  ASSERT_SEEN(p, EX_REGISTER(256));
  p->on_other = pend_slowly;
  sender s = {p, 0};
  pthread_t thread;
  assert_int_equal(pthread_create(&thread, NULL, send_query_thread, &s), 0);
  while (!load_flag(&p->pended)) {
    sleep_ms(1);
  }
  store_flag(&p->dereg_started);
  control_ok(p, WMIREG_ACTION_DEREGISTER);
  /* It returned only after the pended IRP was completed. */
  assert_true(load_flag(&p->completed));
  assert_int_equal(pthread_join(thread, NULL), 0);
  assert_int_equal(pthread_join(p->thread, NULL), 0);
  assert_int_equal(s.status, WMIEV_STATUS_SUCCESS);
  assert_int_equal(p->late_send_status, WMIEV_STATUS_WMI_GUID_DISCONNECTED);
  ASSERT_SEEN(p, {IRP_MN_QUERY_ALL_DATA, (uintptr_t)&guid_a, 64}); /* not the refused one */
  ASSERT_EVENTS(f, {WMIEV_BLOCK_ADDED, &guid_a, pid(p), 0},
                {WMIEV_BLOCK_REMOVED, &guid_a, pid(p), 0});
  assert_int_equal(f->violation_total, 0);
  prov_free(p);
  fixture_done(f);
}

static wmiev_status pend_forever(prov *p, wmiev_device *device, wmiev_irp *irp) {
  (void)device;
  wmiev_irp_mark_pending(irp);
  p->held = irp;
  return WMIEV_STATUS_PENDING;
}

/* An IRP whose sender timed out is nobody's to wait for: DEREGISTER and
 * BLOCK_IRPS go through at once, and the late completion is harmless. */
static void test_deregister_after_abandoned_irp(void **state) {
  (void)state;
  wmiev_registry_options o = {0};
  o.irp_timeout_ms = 50;
  fixture *f = fixture_new(&o);
  prov *p = prov_new(f, "abandoned", NULL, NULL);
  reginfo r;
  ri_one(&r, &guid_a, 0);
  p->on_register = &r;
  control_ok(p, WMIREG_ACTION_REGISTER);
  p->on_other = pend_forever;
  assert_int_equal(query(p), WMIEV_STATUS_IO_TIMEOUT);
  assert_int_equal(violations(f, WMIEV_VIOLATION_PENDING_TIMEOUT), 1);
  control_ok(p, WMIREG_ACTION_BLOCK_IRPS);
  control_ok(p, WMIREG_ACTION_DEREGISTER);
  /* Neither gave up waiting on it: no second timeout reported. */
  assert_int_equal(violations(f, WMIEV_VIOLATION_PENDING_TIMEOUT), 1);
  assert_no_blocks(f);
  assert_int_equal(wmiev_irp_complete(p->held, WMIEV_STATUS_SUCCESS, 0), WMIEV_STATUS_SUCCESS);
  ASSERT_SEEN(p, EX_REGISTER(256), {IRP_MN_QUERY_ALL_DATA, (uintptr_t)&guid_a, 64});
  ASSERT_EVENTS(f, {WMIEV_BLOCK_ADDED, &guid_a, pid(p), 0},
                {WMIEV_BLOCK_REMOVED, &guid_a, pid(p), 0});
  prov_free(p);
  fixture_done(f);
}

/* Calls `inner_action` on `other` (or itself) from inside its dispatch. */
static wmiev_status control_inside(prov *p, wmiev_device *device, wmiev_irp *irp) {
  prov *target = p->other != NULL ? p->other : p;
  p->inner_status = wmiev_registration_control(target->device, p->inner_action, &p->inner_diag);
  if (irp->Wmi.ProviderId != wmiev_device_irp_provider_id(device)) {
    return wmiev_irp_forward(device, irp);
  }
  return wmiev_irp_complete(irp, WMIEV_STATUS_SUCCESS, 0);
}

static void check_control_inside(uint32_t action, bool from_filter) {
  fixture *f = fixture_new(NULL);
  prov *p = prov_new(f, "self", NULL, NULL);
  prov *filter = from_filter ? prov_new(f, "filter", p->device, NULL) : NULL;
  prov *actor = from_filter ? filter : p;
  reginfo r;
  ri_one(&r, &guid_a, 0);
  p->on_register = &r;
  control_ok(p, WMIREG_ACTION_REGISTER);
  ASSERT_EVENTS(f, {WMIEV_BLOCK_ADDED, &guid_a, pid(p), 0});
  actor->inner_action = action;
  if (from_filter) {
    filter->other = p;
    filter->on_foreign = control_inside;
  } else {
    p->on_other = control_inside;
  }
  assert_int_equal(query(p), WMIEV_STATUS_SUCCESS);
  assert_int_equal(actor->inner_status, WMIEV_STATUS_POSSIBLE_DEADLOCK);
  assert_int_equal(actor->inner_diag.status, WMIEV_STATUS_POSSIBLE_DEADLOCK);
  assert_int_equal(violations(f, WMIEV_VIOLATION_DEREGISTER_IN_DISPATCH),
                   action == WMIREG_ACTION_DEREGISTER ? 1 : 0);
  /* The registration is intact and IRPs still flow. */
  ASSERT_NO_EVENTS(f);
  assert_int_equal(blocks_of(f, &guid_a, NULL, 0), 1);
  p->on_other = NULL;
  if (filter != NULL) {
    filter->on_foreign = NULL;
  }
  assert_int_equal(query(p), WMIEV_STATUS_SUCCESS);
  control_ok(p, WMIREG_ACTION_DEREGISTER);
  ASSERT_EVENTS(f, {WMIEV_BLOCK_REMOVED, &guid_a, pid(p), 0});
  if (filter != NULL) {
    prov_free(filter);
  }
  prov_free(p);
  fixture_done(f);
}

static void test_deregister_inside_own_dispatch(void **state) {
  (void)state;
  check_control_inside(WMIREG_ACTION_DEREGISTER, false);
}

static void test_deregister_inside_filter_dispatch(void **state) {
  (void)state;
  check_control_inside(WMIREG_ACTION_DEREGISTER, true);
}

static void test_block_irps_inside_dispatch(void **state) {
  (void)state;
  check_control_inside(WMIREG_ACTION_BLOCK_IRPS, false);
}

static void test_block_irps(void **state) {
  (void)state;
  fixture *f = fixture_new(NULL);
  prov *p = prov_new(f, "blocked", NULL, NULL);
  reginfo r, up;
  ri_one(&r, &guid_a, 0);
  ri_one(&up, &guid_b, 0);
  p->on_register = &r;
  p->on_update = &up;
  assert_int_equal(control(p, WMIREG_ACTION_BLOCK_IRPS), WMIEV_STATUS_INVALID_PARAMETER);
  control_ok(p, WMIREG_ACTION_REGISTER);
  ASSERT_SEEN(p, EX_REGISTER(256));
  ASSERT_EVENTS(f, {WMIEV_BLOCK_ADDED, &guid_a, pid(p), 0});

  control_ok(p, WMIREG_ACTION_BLOCK_IRPS);
  assert_int_equal(query(p), WMIEV_STATUS_WMI_GUID_DISCONNECTED);
  ASSERT_SEEN_NOTHING(p);
  ASSERT_NO_EVENTS(f);
  assert_int_equal(blocks_of(f, &guid_a, NULL, 0), 1); /* still registered */
  /* The registry's own REGINFO still gets through, the device stays blocked. */
  control_ok(p, WMIREG_ACTION_UPDATE_GUIDS);
  ASSERT_SEEN(p, EX_UPDATE(256));
  ASSERT_EVENTS(f, {WMIEV_BLOCK_ADDED, &guid_b, pid(p), 0});
  assert_int_equal(query(p), WMIEV_STATUS_WMI_GUID_DISCONNECTED);
  ASSERT_SEEN_NOTHING(p);

  /* REREGISTER unblocks. */
  control_ok(p, WMIREG_ACTION_REREGISTER);
  ASSERT_SEEN(p, EX_REGISTER(256));
  ASSERT_EVENTS(f, {WMIEV_BLOCK_REMOVED, &guid_a, pid(p), 0},
                {WMIEV_BLOCK_REMOVED, &guid_b, pid(p), 0}, {WMIEV_BLOCK_ADDED, &guid_a, pid(p), 0});
  assert_int_equal(query(p), WMIEV_STATUS_SUCCESS);
  ASSERT_SEEN(p, {IRP_MN_QUERY_ALL_DATA, (uintptr_t)&guid_a, 64});

  /* A blocked device deregisters (and is destroyed) normally. */
  control_ok(p, WMIREG_ACTION_BLOCK_IRPS);
  uint32_t gone = prov_free(p);
  ASSERT_EVENTS(f, {WMIEV_BLOCK_REMOVED, &guid_a, gone, 0});
  fixture_done(f);
}

static void test_bad_actions(void **state) {
  (void)state;
  fixture *f = fixture_new(NULL);
  prov *p = prov_new(f, "actor", NULL, NULL);
  reginfo r;
  ri_one(&r, &guid_a, 0);
  p->on_register = &r;
  static const uint32_t bad[] = {0, 6, 0x80000001u,
                                 0x80000000u | WMIREG_ACTION_REGISTER | 0x10000u};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    wmiev_diag diag;
    memset(&diag, 0, sizeof diag);
    assert_int_equal(wmiev_registration_control(p->device, bad[i], &diag),
                     WMIEV_STATUS_INVALID_PARAMETER);
    assert_int_equal(diag.status, WMIEV_STATUS_INVALID_PARAMETER);
    assert_string_equal(diag.field, "Action");
    assert_true(diag.message[0] != '\0');
  }
  ASSERT_SEEN_NOTHING(p);
  ASSERT_NO_EVENTS(f);
  assert_no_blocks(f);
  /* Without a diag too. */
  assert_int_equal(wmiev_registration_control(p->device, 6, NULL), WMIEV_STATUS_INVALID_PARAMETER);
  assert_int_equal(wmiev_registration_control(NULL, WMIREG_ACTION_REGISTER, NULL),
                   WMIEV_STATUS_INVALID_PARAMETER);
  prov_free(p);
  fixture_done(f);
}

/* One observer log across a whole life: every change exactly once, in order. */
static void test_observer_sees_everything(void **state) {
  (void)state;
  fixture *f = fixture_new(NULL);
  prov *p1 = prov_new(f, "p1", NULL, NULL);
  prov *p2 = prov_new(f, "p2", NULL, NULL);
  const uint32_t x = WMIREG_FLAG_EXPENSIVE;
  const uint32_t e = WMIREG_FLAG_EVENT_ONLY_GUID;
  reginfo r1, r1u, r2, r2b;
  ri_one(&r1, &guid_a, 0);
  ri_one(&r1u, &guid_a, x);
  ri_begin(&r2, 2);
  ri_dynamic(&r2, 0, &guid_a, e, 0);
  ri_dynamic(&r2, 1, &guid_b, 0, 0);
  ri_finish(&r2);
  ri_one(&r2b, &guid_b, e);
  p1->on_register = &r1;
  p1->on_update = &r1u;
  p2->on_register = &r2;
  control_ok(p1, WMIREG_ACTION_REGISTER);
  control_ok(p2, WMIREG_ACTION_REGISTER);
  control_ok(p1, WMIREG_ACTION_UPDATE_GUIDS);
  control_ok(p1, WMIREG_ACTION_UPDATE_GUIDS); /* identical: silent */
  p2->on_register = &r2b;
  control_ok(p2, WMIREG_ACTION_REREGISTER);
  control_ok(p1, WMIREG_ACTION_DEREGISTER);
  uint32_t id1 = pid(p1);
  uint32_t id2 = pid(p2);
  prov_free(p2);
  prov_free(p1);
  ASSERT_EVENTS(f, {WMIEV_BLOCK_ADDED, &guid_a, id1, 0}, {WMIEV_BLOCK_ADDED, &guid_a, id2, e},
                {WMIEV_BLOCK_ADDED, &guid_b, id2, 0}, {WMIEV_BLOCK_CHANGED, &guid_a, id1, x},
                {WMIEV_BLOCK_REMOVED, &guid_a, id2, e}, {WMIEV_BLOCK_REMOVED, &guid_b, id2, 0},
                {WMIEV_BLOCK_ADDED, &guid_b, id2, e}, {WMIEV_BLOCK_REMOVED, &guid_a, id1, x},
                {WMIEV_BLOCK_REMOVED, &guid_b, id2, e});
  fixture_done(f);
}

/* ---- fault injection ------------------------------------------------------------------- */

#define SNAP_MAX 8

typedef struct snapshot {
  size_t count;
  wmiev_block_info blocks[SNAP_MAX];
} snapshot;

static snapshot snap(fixture *f) {
  snapshot s;
  memset(&s, 0, sizeof s);
  s.count = blocks_of(f, NULL, s.blocks, SNAP_MAX);
  assert_true(s.count <= SNAP_MAX);
  return s;
}

static void assert_same_snapshot(const snapshot *x, const snapshot *y) {
  assert_int_equal(x->count, y->count);
  for (size_t i = 0; i < x->count; i++) {
    const wmiev_block_info *a = &x->blocks[i];
    const wmiev_block_info *b = &y->blocks[i];
    assert_true(guid_eq(&a->guid, &b->guid));
    assert_ptr_equal(a->device, b->device);
    assert_int_equal(a->provider_id, b->provider_id);
    assert_int_equal(a->flags, b->flags);
    assert_int_equal(a->instance_count, b->instance_count);
    assert_int_equal(a->names, b->names);
  }
}

static size_t event_count(fixture *f) {
  pthread_mutex_lock(&f->lock);
  size_t n = f->event_count;
  pthread_mutex_unlock(&f->lock);
  return n;
}

/*
 * Runs one action under fault injection. If the injected failure happened
 * during it, the action must fail with STATUS_INSUFFICIENT_RESOURCES and
 * leave the blocks exactly as they were, with no observer event. Returns
 * true if it succeeded.
 */
static bool oom_step(fixture *f, prov *p, uint32_t action) {
  snapshot before = snap(f);
  size_t events_before = event_count(f);
  bool hit_before = debug_alloc_failure_hit(f->alloc);
  wmiev_status st = wmiev_registration_control(p->device, action, NULL);
  bool hit_now = !hit_before && debug_alloc_failure_hit(f->alloc);
  if (WMIEV_SUCCESS(st)) {
    assert_false(hit_now);
    return true;
  }
  assert_true(hit_now);
  assert_int_equal(st, WMIEV_STATUS_INSUFFICIENT_RESOURCES);
  snapshot after = snap(f);
  assert_same_snapshot(&before, &after);
  assert_int_equal(event_count(f), events_before);
  assert_int_equal(stats_of(f).rejected_reginfo, 0); /* running out of memory is not a bad answer */
  return false;
}

/*
 * registry -> pdo + fdo -> REGISTER (list, base name, PDO and dynamic
 * blocks, paths, grown from a 64-byte buffer) -> UPDATE_GUIDS (change, add,
 * remove) -> DEREGISTER -> destroy. Returns true if it ran to the end.
 */
static bool oom_scenario(debug_alloc *alloc) {
  fixture *f = fixture_alloc(alloc);
  wmiev_registry_options extra = {0};
  extra.reginfo_initial_size = 64;
  wmiev_registry_options o = fixture_options(f, &extra);
  wmiev_status st = wmiev_registry_create(&o, &f->registry);
  if (!WMIEV_SUCCESS(st)) {
    assert_int_equal(st, WMIEV_STATUS_INSUFFICIENT_RESOURCES);
    fixture_release(f);
    return false;
  }
  static prov pdo, fdo;
  static reginfo reg, up;
  static const char *const names[] = {"first", "second", "third"};
  bool done = false;
  st = prov_init(&pdo, f, "pdo", NULL, "ROOT\\OOM\\0000");
  if (!WMIEV_SUCCESS(st)) {
    assert_int_equal(st, WMIEV_STATUS_INSUFFICIENT_RESOURCES);
    assert_null(pdo.device);
    pthread_mutex_destroy(&pdo.lock);
    goto out;
  }
  st = prov_init(&fdo, f, "fdo", pdo.device, NULL);
  if (!WMIEV_SUCCESS(st)) {
    assert_int_equal(st, WMIEV_STATUS_INSUFFICIENT_RESOURCES);
    assert_null(fdo.device);
    goto out_fdo;
  }
  ri_begin(&reg, 4);
  ri_list(&reg, 0, &guid_a, 0, names, 3, true);
  ri_basename(&reg, 1, &guid_b, 0, 2, "Base", false);
  ri_pdo(&reg, 2, &guid_c, WMIREG_FLAG_EXPENSIVE, 2, (uintptr_t)pdo.device);
  ri_dynamic(&reg, 3, &guid_d, WMIREG_FLAG_EVENT_ONLY_GUID, 0);
  ri_paths(&reg, "\\Registry\\Machine\\oom", "MofOom");
  ri_finish(&reg);
  ri_begin(&up, 3);
  ri_basename(&up, 0, &guid_b, 0, 5, "Base", false);
  ri_dynamic(&up, 1, &guid_none, 0, 0);
  ri_dynamic(&up, 2, &guid_a, WMIREG_FLAG_REMOVE_GUID, 0);
  ri_finish(&up);
  fdo.on_register = &reg;
  fdo.on_update = &up;
  if (oom_step(f, &fdo, WMIREG_ACTION_REGISTER)) {
    assert_int_equal(blocks_of(f, NULL, NULL, 0), 4);
    if (oom_step(f, &fdo, WMIREG_ACTION_UPDATE_GUIDS)) {
      snapshot s = snap(f);
      assert_int_equal(s.count, 4);
      assert_int_equal(s.blocks[0].instance_count, 5);
      assert_true(guid_eq(&s.blocks[3].guid, &guid_none));
      /* DEREGISTER needs no memory: it cannot fail, not even now. */
      assert_true(oom_step(f, &fdo, WMIREG_ACTION_DEREGISTER));
      assert_no_blocks(f);
      done = true;
    }
  }
  /* Teardown needs no memory either. */
  assert_int_equal(wmiev_device_destroy(fdo.device), WMIEV_STATUS_SUCCESS);
out_fdo:
  pthread_mutex_destroy(&fdo.lock);
  assert_int_equal(wmiev_device_destroy(pdo.device), WMIEV_STATUS_SUCCESS);
  pthread_mutex_destroy(&pdo.lock);
out:
  assert_no_blocks(f);
  wmiev_registry_destroy(f->registry);
  fixture_release(f);
  return done;
}

static void oom_walk(bool sticky) {
  uint64_t n = 1;
  for (;; n++) {
    assert_true(n < 1000);
    debug_alloc *alloc = debug_alloc_create();
    debug_alloc_fail_nth(alloc, n, sticky);
    bool finished = oom_scenario(alloc);
    bool hit = debug_alloc_failure_hit(alloc);
    if (debug_alloc_live_count(alloc) != 0) {
      (void)debug_alloc_report_leaks(alloc);
    }
    assert_int_equal(debug_alloc_live_count(alloc), 0);
    assert_int_equal(debug_alloc_errors(alloc), 0);
    debug_alloc_destroy(alloc);
    if (!hit) {
      assert_true(finished);
      break;
    }
    assert_false(finished);
  }
  assert_true(n > 20);
}

static void test_oom_walk(void **state) {
  (void)state;
  oom_walk(false);
}

static void test_oom_walk_sticky(void **state) {
  (void)state;
  oom_walk(true);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_register_sends_reginfo_ex),
      cmocka_unit_test(test_fallback_not_supported),
      cmocka_unit_test(test_fallback_invalid_device_request),
      cmocka_unit_test(test_no_fallback_on_real_failure),
      cmocka_unit_test(test_fallback_through_stack),
      cmocka_unit_test(test_growth_buffer_too_small),
      cmocka_unit_test(test_growth_classpnp_form),
      cmocka_unit_test(test_growth_from_tiny_buffer),
      cmocka_unit_test(test_growth_same_size_refused),
      cmocka_unit_test(test_growth_smaller_size_refused),
      cmocka_unit_test(test_growth_over_16mib_refused),
      cmocka_unit_test(test_growth_without_end_refused),
      cmocka_unit_test(test_growth_to_16mib),
      cmocka_unit_test(test_malformed_info_past_buffer),
      cmocka_unit_test(test_malformed_info_below_header),
      cmocka_unit_test(test_malformed_buffersize_past_end),
      cmocka_unit_test(test_malformed_two_name_flags),
      cmocka_unit_test(test_malformed_same_guid_twice),
      cmocka_unit_test(test_malformed_name_in_guid_array),
      cmocka_unit_test(test_malformed_pdo_null),
      cmocka_unit_test(test_names_instance_list),
      cmocka_unit_test(test_names_basename),
      cmocka_unit_test(test_names_pdo),
      cmocka_unit_test(test_names_pdo_not_a_device),
      cmocka_unit_test(test_names_pdo_without_instance_id),
      cmocka_unit_test(test_names_pdo_resolver),
      cmocka_unit_test(test_names_dynamic),
      cmocka_unit_test(test_blocks_snapshot_order),
      cmocka_unit_test(test_register_twice),
      cmocka_unit_test(test_update_guids),
      cmocka_unit_test(test_reregister),
      cmocka_unit_test(test_deregister),
      cmocka_unit_test(test_deregister_waits_for_pended_irp),
      cmocka_unit_test(test_deregister_after_abandoned_irp),
      cmocka_unit_test(test_deregister_inside_own_dispatch),
      cmocka_unit_test(test_deregister_inside_filter_dispatch),
      cmocka_unit_test(test_block_irps_inside_dispatch),
      cmocka_unit_test(test_block_irps),
      cmocka_unit_test(test_bad_actions),
      cmocka_unit_test(test_observer_sees_everything),
      cmocka_unit_test(test_oom_walk),
      cmocka_unit_test(test_oom_walk_sticky),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
