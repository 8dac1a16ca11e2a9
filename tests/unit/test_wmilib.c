/*
 * The wmilib logic and portable providers (lib/core/wmilib.c, provider.c).
 *
 * Providers are driven through the real path: a registry with the debug
 * allocator, wmiev_provider_create(), wmiev_registration_control(REGISTER)
 * (which sends REGINFO_EX through wmilib), then hand-built request WNODEs sent
 * with wmiev_device_send_wmi_irp(). Replies are compared byte for byte with
 * golden arrays written out by hand (TimeStamp is checked against a clock
 * range instead), and every callback call is recorded with its arguments.
 * A "probe" device runs wmiev_wmilib_system_control() itself so that the
 * dispositions can be observed, and a few IRPs are built by hand (no library
 * state) to cover that path.
 *
 * Every test ends with all objects destroyed, no leak and no allocator error,
 * and no violation that the test did not expect and clear.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <wmiev/wmiev.h>

#include "debug_alloc.h"
#include "status_assert.h"
#include "test_util.h"

#define ALIGN8(x) (((x) + 7u) & ~7u)

/* ---- Wire bytes, written out by hand ---------------------------------------- */

#define U16(x) (uint8_t)((x)&0xffu), (uint8_t)(((x) >> 8) & 0xffu)
#define U32(x) U16((x)&0xffffu), U16(((x) >> 16) & 0xffffu)
#define Z8 0, 0, 0, 0, 0, 0, 0, 0

/* {04030201-0605-0807-090A-0B0C0D0E0F10}: 3 instances, no flags of its own. */
static const GUID guid_data = {0x04030201, 0x0605, 0x0807, {9, 10, 11, 12, 13, 14, 15, 16}};
#define GUID_DATA_BYTES 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16
/* {14131211-...}: 2 instances, EXPENSIVE (collection control), has methods. */
static const GUID guid_method = {0x14131211, 0x1615, 0x1817, {25, 26, 27, 28, 29, 30, 31, 32}};
#define GUID_METHOD_BYTES 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32
/* {24232221-...}: 1 instance, EVENT_ONLY_GUID. */
static const GUID guid_event = {0x24232221, 0x2625, 0x2827, {41, 42, 43, 44, 45, 46, 47, 48}};
#define GUID_EVENT_BYTES 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48
/* Registered by nobody. */
static const GUID guid_unknown = {0xdeadbeef, 0xdead, 0xbeef, {1, 1, 2, 3, 5, 8, 13, 21}};

static const uint16_t units_dev[] = {'D', 'e', 'v'};
static const uint16_t units_reg[] = {'R', 'e', 'g'};
static const uint16_t units_mof[] = {'M', 'o', 'f'};

/*
 * WMIREGINFOW differs between word sizes (spec §3.1-§3.2): the header is 24
 * bytes on x86_64 (4 of them padding before the 8-aligned array) and 20 on
 * i386; WMIREGGUIDW is 32 / 28 because of the pointer-sized union.
 */
/* clang-format off */
#if UINTPTR_MAX == 0xffffffffu
#define HDR_PAD            /* i386: the GUID array starts at 20 */
#define UNION_HIGH         /* i386: the union is 4 bytes */
#define RI_GUIDS_END 104u  /* 20 + 3 * 28 */
#else
#define HDR_PAD U32(0),    /* x86_64: padding at 20, the array starts at 24 */
#define UNION_HIGH U32(0), /* x86_64: upper half of the 8-byte union */
#define RI_GUIDS_END 120u  /* 24 + 3 * 32 */
#endif
#define RI_BASE RI_GUIDS_END        /* counted "Dev": 2 + 6 bytes */
#define RI_REGPATH (RI_BASE + 8u)   /* counted "Reg" */
#define RI_MOF (RI_REGPATH + 8u)    /* counted "Mof" */
#define RI_TOTAL (RI_MOF + 8u)
#define RI_UPDATE_TOTAL (RI_BASE + 8u)
/* clang-format on */

/* The answer to WMIREGISTER: every block gets RegFlags INSTANCE_BASENAME. */
/* clang-format off */
static const uint8_t golden_reginfo_register[] = {
    U32(RI_TOTAL),   /* BufferSize */
    U32(0),          /* NextWmiRegInfo: last record */
    U32(RI_REGPATH), /* RegistryPath */
    U32(RI_MOF),     /* MofResourceName */
    U32(3),          /* GuidCount */
    HDR_PAD
    /* WmiRegGuid[0] */
    GUID_DATA_BYTES,
    U32(0x08),    /* Flags: INSTANCE_BASENAME (from RegFlags) */
    U32(3),       /* InstanceCount */
    U32(RI_BASE), /* BaseNameOffset */
    UNION_HIGH
    /* WmiRegGuid[1] */
    GUID_METHOD_BYTES,
    U32(0x09), /* Flags: EXPENSIVE | INSTANCE_BASENAME */
    U32(2),
    U32(RI_BASE),
    UNION_HIGH
    /* WmiRegGuid[2] */
    GUID_EVENT_BYTES,
    U32(0x48), /* Flags: EVENT_ONLY_GUID | INSTANCE_BASENAME */
    U32(1),
    U32(RI_BASE),
    UNION_HIGH
    /* counted strings: USHORT byte count, UTF-16LE, no NUL */
    U16(6), 'D', 0, 'e', 0, 'v', 0, /* base name */
    U16(6), 'R', 0, 'e', 0, 'g', 0, /* registry path */
    U16(6), 'M', 0, 'o', 0, 'f', 0, /* MOF resource name */
};
/* clang-format on */

/* The answer to WMIUPDATE: the same blocks, no registry path or MOF name. */
/* clang-format off */
static const uint8_t golden_reginfo_update[] = {
    U32(RI_UPDATE_TOTAL), /* BufferSize */
    U32(0),               /* NextWmiRegInfo */
    U32(0),               /* RegistryPath: only on WMIREGISTER */
    U32(0),               /* MofResourceName: only on WMIREGISTER */
    U32(3),               /* GuidCount */
    HDR_PAD
    GUID_DATA_BYTES, U32(0x08), U32(3), U32(RI_BASE), UNION_HIGH
    GUID_METHOD_BYTES, U32(0x09), U32(2), U32(RI_BASE), UNION_HIGH
    GUID_EVENT_BYTES, U32(0x48), U32(1), U32(RI_BASE), UNION_HIGH
    U16(6), 'D', 0, 'e', 0, 'v', 0, /* base name */
};
/* clang-format on */

/* ---- Fixture ---------------------------------------------------------------------- */

enum { G_DATA, G_METHOD, G_EVENT, G_COUNT };

typedef enum cb_kind { CB_QUERY = 1, CB_SET_BLOCK, CB_SET_ITEM, CB_METHOD, CB_FUNCTION } cb_kind;

/* One recorded callback call. */
typedef struct call {
  cb_kind kind;
  wmiev_device *device;
  wmiev_irp *irp;
  uint32_t guid_index;
  uint32_t instance_index;
  uint32_t instance_count; /* query */
  bool lengths_null;       /* query */
  uint32_t avail;          /* query: buffer_avail; method: out_size */
  ptrdiff_t buffer_at;     /* buffer - Parameters.WMI.Buffer */
  uint32_t id;             /* item / method id */
  uint32_t in_size;        /* set: buffer_size; method: in_size */
  uint8_t in[16];          /* first bytes of the input */
  wmiev_function_control function;
  bool enable;
} call;

typedef enum act {
  ACT_COMPLETE = 0, /* answer and complete inline */
  ACT_PEND_THREAD,  /* pend; a thread completes 20 ms later */
  ACT_DEFER,        /* return PENDING; the test completes it */
  ACT_COMPLETE_TWICE
} act;

typedef enum lie {
  LIE_NONE = 0,
  LIE_USED_SHORT,      /* instance lengths claim more than `used` */
  LIE_USED_PAST_AVAIL, /* `used` larger than the space given */
  LIE_TOO_SMALL_FITS,  /* BUFFER_TOO_SMALL asking for 1 byte */
  LIE_IGNORE_SIZE      /* STATUS_SUCCESS, 0 bytes, whatever it was given */
} lie;

#define MAX_CALLS 8
#define MAX_CLEANUP 8

typedef struct fixture {
  debug_alloc *alloc;
  wmiev_registry *registry;
  wmiev_provider *provider; /* the main provider (full callbacks) */
  wmiev_device *device;     /* its device */
  wmiev_guid_reg guids[G_COUNT];
  wmiev_wmilib_context ctx; /* full callbacks, for probes and hand-built IRPs */
  /* query_reginfo */
  wmiev_reginfo_answer answer;
  wmiev_status reginfo_status;
  bool late_list;
  wmiev_provider *late_provider;
  unsigned reginfo_calls;
  /* data callbacks */
  act act;
  lie lie;
  wmiev_status status; /* what data callbacks complete with */
  uint32_t len[4];     /* instance lengths */
  uint8_t out[128];    /* method output */
  uint32_t out_size;
  call calls[MAX_CALLS];
  size_t ncalls;
  wmiev_status completes[2]; /* what wmiev_wmilib_complete_request returned */
  size_t ncompletes;
  struct {
    wmiev_device *device;
    wmiev_irp *irp;
    uint32_t index, count, avail;
    uint32_t *lengths;
    uint8_t *buffer;
  } deferred;
  pthread_t thread;
  bool thread_started;
  /* violations */
  wmiev_violation violations[8];
  size_t nviolations;
  /* probe devices */
  wmiev_irp_disposition disposition;
  wmiev_status probe_ret;
  wmiev_io_status probe_io; /* IoStatus right after wmiev_wmilib_system_control */
  uint8_t probe_minors[8];
  size_t nprobe;
  /* lower recording device */
  unsigned lower_calls;
  uint8_t lower_minor;
  uintptr_t lower_provider_id;
  /* objects destroyed in reverse order at teardown */
  struct {
    wmiev_provider *provider;
    wmiev_device *device;
  } cleanup[MAX_CLEANUP];
  size_t ncleanup;
} fixture;

static void dump(const char *what, const uint8_t *p, size_t n) {
  fprintf(stderr, "%s (%zu bytes):", what, n);
  for (size_t i = 0; i < n; i++) {
    fprintf(stderr, "%s%02x", i % 16 == 0 ? "\n  " : " ", p[i]);
  }
  fprintf(stderr, "\n");
}

static void assert_bytes_eq(const uint8_t *got, const uint8_t *want, size_t n, const char *file,
                            int line) {
  if (memcmp(got, want, n) != 0) {
    for (size_t i = 0; i < n; i++) {
      if (got[i] != want[i]) {
        print_error("%s:%d: first difference at byte %zu: 0x%02x, expected 0x%02x\n", file, line, i,
                    got[i], want[i]);
        break;
      }
    }
    dump("got", got, n);
    dump("expected", want, n);
    fail();
  }
}
#define assert_bytes(got, want, n) assert_bytes_eq((got), (want), (n), __FILE__, __LINE__)

/* A data reply: the TimeStamp (16..24) must lie in [before - TICK_SLACK, after]
 * (precise readings around the request); the rest is golden. */
static void assert_reply_eq(const uint8_t *got, const uint8_t *want, size_t n, int64_t before,
                            int64_t after, const char *file, int line) {
  int64_t stamp;
  memcpy(&stamp, got + offsetof(WNODE_HEADER, TimeStamp), sizeof stamp);
  if (stamp < before - TICK_SLACK_100NS || stamp > after) {
    print_error("%s:%d: TimeStamp %lld outside [%lld, %lld]\n", file, line, (long long)stamp,
                (long long)(before - TICK_SLACK_100NS), (long long)after);
    fail();
  }
  uint8_t masked[512];
  assert_true(n <= sizeof masked);
  memcpy(masked, got, n);
  memset(masked + offsetof(WNODE_HEADER, TimeStamp), 0, 8);
  assert_bytes_eq(masked, want, n, file, line);
}
#define assert_reply(got, want, n, before, after)                                                  \
  assert_reply_eq((got), (want), (n), (before), (after), __FILE__, __LINE__)

static void expect_violation(fixture *f, wmiev_violation rule) {
  assert_int_equal(f->nviolations, 1);
  assert_int_equal(f->violations[0], rule);
  f->nviolations = 0;
}

static void on_violation(wmiev_violation rule, const char *message, void *ctx) {
  fixture *f = ctx;
  (void)message;
  if (f->nviolations < 8) {
    f->violations[f->nviolations] = rule;
  }
  f->nviolations++;
}

/* ---- Callbacks ----------------------------------------------------------------- */

static call *record(fixture *f, cb_kind kind, wmiev_device *device, wmiev_irp *irp,
                    uint32_t guid_index) {
  assert_true(f->ncalls < MAX_CALLS);
  call *c = &f->calls[f->ncalls++];
  memset(c, 0, sizeof *c);
  c->kind = kind;
  c->device = device;
  c->irp = irp;
  c->guid_index = guid_index;
  return c;
}

static void keep_input(call *c, const uint8_t *buffer, uint32_t size) {
  c->in_size = size;
  memcpy(c->in, buffer, size < sizeof c->in ? size : sizeof c->in);
}

static wmiev_status complete(fixture *f, wmiev_device *device, wmiev_irp *irp, wmiev_status status,
                             uint32_t used) {
  wmiev_status ret = wmiev_wmilib_complete_request(device, irp, status, used);
  f->completes[f->ncompletes++ % 2] = ret;
  if (f->act == ACT_COMPLETE_TWICE && f->ncompletes == 1) {
    f->completes[f->ncompletes++ % 2] =
        wmiev_wmilib_complete_request(device, irp, WMIEV_STATUS_SUCCESS, 0);
  }
  return ret;
}

/* Byte j of instance k: 0x10 * (k + 1) + j + 1, so 0x11.. 0x21.. 0x31.. */
static uint8_t pattern(uint32_t instance, uint32_t j) {
  return (uint8_t)(0x10u * (instance + 1u) + j + 1u);
}

/* What a correct driver does: instances 8-aligned, padding zeroed, lengths
 * reported; too small (or no length array) → the bytes needed. */
static wmiev_status finish_query(fixture *f, wmiev_device *device, wmiev_irp *irp, uint32_t index,
                                 uint32_t count, uint32_t *lengths, uint32_t avail,
                                 uint8_t *buffer) {
  if (f->status != WMIEV_STATUS_SUCCESS) {
    return complete(f, device, irp, f->status, 0);
  }
  if (f->lie == LIE_TOO_SMALL_FITS) {
    return complete(f, device, irp, WMIEV_STATUS_BUFFER_TOO_SMALL, 1);
  }
  if (f->lie == LIE_IGNORE_SIZE) {
    return complete(f, device, irp, WMIEV_STATUS_SUCCESS, 0);
  }
  uint32_t need = 0;
  for (uint32_t i = 0; i < count; i++) {
    need = (i == 0 ? 0 : ALIGN8(need)) + f->len[index + i];
  }
  if (lengths == NULL || need > avail) {
    return complete(f, device, irp, WMIEV_STATUS_BUFFER_TOO_SMALL, need);
  }
  uint32_t at = 0;
  for (uint32_t i = 0; i < count; i++) {
    uint32_t start = i == 0 ? 0 : ALIGN8(at);
    memset(buffer + at, 0, start - at);
    for (uint32_t j = 0; j < f->len[index + i]; j++) {
      buffer[start + j] = pattern(index + i, j);
    }
    lengths[i] = f->len[index + i];
    at = start + f->len[index + i];
  }
  uint32_t used = need;
  if (f->lie == LIE_USED_SHORT) {
    used = need - 1;
  } else if (f->lie == LIE_USED_PAST_AVAIL) {
    used = avail + 1;
  }
  return complete(f, device, irp, WMIEV_STATUS_SUCCESS, used);
}

static void *pend_thread(void *arg) {
  fixture *f = arg;
  struct timespec pause = {0, 20 * 1000 * 1000};
  nanosleep(&pause, NULL);
  (void)finish_query(f, f->deferred.device, f->deferred.irp, f->deferred.index, f->deferred.count,
                     f->deferred.lengths, f->deferred.avail, f->deferred.buffer);
  return NULL;
}

static wmiev_status cb_query_reginfo(wmiev_device *device, wmiev_reginfo_answer *answer,
                                     void *payload) {
  fixture *f = payload;
  (void)device;
  f->reginfo_calls++;
  if (f->late_list) {
    wmiev_provider_set_guid_list(f->late_provider, f->guids, G_COUNT);
  }
  *answer = f->answer;
  return f->reginfo_status;
}

static wmiev_status cb_query_data_block(wmiev_device *device, wmiev_irp *irp, uint32_t guid_index,
                                        uint32_t instance_index, uint32_t instance_count,
                                        uint32_t *instance_lengths, uint32_t buffer_avail,
                                        uint8_t *buffer, void *payload) {
  fixture *f = payload;
  call *c = record(f, CB_QUERY, device, irp, guid_index);
  c->instance_index = instance_index;
  c->instance_count = instance_count;
  c->lengths_null = instance_lengths == NULL;
  c->avail = buffer_avail;
  c->buffer_at = buffer - (uint8_t *)irp->Wmi.Buffer;
  if (f->act == ACT_PEND_THREAD || f->act == ACT_DEFER) {
    f->deferred.device = device;
    f->deferred.irp = irp;
    f->deferred.index = instance_index;
    f->deferred.count = instance_count;
    f->deferred.lengths = instance_lengths;
    f->deferred.avail = buffer_avail;
    f->deferred.buffer = buffer;
    wmiev_irp_mark_pending(irp);
    if (f->act == ACT_PEND_THREAD) {
      assert_int_equal(pthread_create(&f->thread, NULL, pend_thread, f), 0);
      f->thread_started = true;
    }
    return WMIEV_STATUS_PENDING;
  }
  return finish_query(f, device, irp, instance_index, instance_count, instance_lengths,
                      buffer_avail, buffer);
}

static wmiev_status cb_set_data_block(wmiev_device *device, wmiev_irp *irp, uint32_t guid_index,
                                      uint32_t instance_index, uint32_t buffer_size,
                                      const uint8_t *buffer, void *payload) {
  fixture *f = payload;
  call *c = record(f, CB_SET_BLOCK, device, irp, guid_index);
  c->instance_index = instance_index;
  c->buffer_at = buffer - (const uint8_t *)irp->Wmi.Buffer;
  keep_input(c, buffer, buffer_size);
  return complete(f, device, irp, f->status, 0);
}

static wmiev_status cb_set_data_item(wmiev_device *device, wmiev_irp *irp, uint32_t guid_index,
                                     uint32_t instance_index, uint32_t item_id,
                                     uint32_t buffer_size, const uint8_t *buffer, void *payload) {
  fixture *f = payload;
  call *c = record(f, CB_SET_ITEM, device, irp, guid_index);
  c->instance_index = instance_index;
  c->id = item_id;
  c->buffer_at = buffer - (const uint8_t *)irp->Wmi.Buffer;
  keep_input(c, buffer, buffer_size);
  return complete(f, device, irp, f->status, 0);
}

static wmiev_status cb_execute_method(wmiev_device *device, wmiev_irp *irp, uint32_t guid_index,
                                      uint32_t instance_index, uint32_t method_id, uint32_t in_size,
                                      uint32_t out_size, uint8_t *buffer, void *payload) {
  fixture *f = payload;
  call *c = record(f, CB_METHOD, device, irp, guid_index);
  c->instance_index = instance_index;
  c->id = method_id;
  c->avail = out_size;
  c->buffer_at = buffer - (uint8_t *)irp->Wmi.Buffer;
  keep_input(c, buffer, in_size);
  if (f->status != WMIEV_STATUS_SUCCESS) {
    return complete(f, device, irp, f->status, 0);
  }
  /* Check the output size before any side effect (spec §4.3). */
  if (out_size < f->out_size) {
    return complete(f, device, irp, WMIEV_STATUS_BUFFER_TOO_SMALL, f->out_size);
  }
  memcpy(buffer, f->out, f->out_size);
  uint32_t used = f->lie == LIE_USED_PAST_AVAIL ? out_size + 1 : f->out_size;
  return complete(f, device, irp, WMIEV_STATUS_SUCCESS, used);
}

static wmiev_status cb_function_control(wmiev_device *device, wmiev_irp *irp, uint32_t guid_index,
                                        wmiev_function_control function, bool enable,
                                        void *payload) {
  fixture *f = payload;
  call *c = record(f, CB_FUNCTION, device, irp, guid_index);
  c->function = function;
  c->enable = enable;
  return complete(f, device, irp, f->status, 0);
}

static const wmiev_wmilib_callbacks full_callbacks = {
    cb_query_reginfo, cb_query_data_block, cb_set_data_block,
    cb_set_data_item, cb_execute_method,   cb_function_control,
};

static const wmiev_wmilib_callbacks minimal_callbacks = {
    cb_query_reginfo, cb_query_data_block, NULL, NULL, NULL, NULL};

/* ---- Devices ------------------------------------------------------------------- */

static void keep(fixture *f, wmiev_provider *provider, wmiev_device *device) {
  assert_true(f->ncleanup < MAX_CLEANUP);
  f->cleanup[f->ncleanup].provider = provider;
  f->cleanup[f->ncleanup].device = device;
  f->ncleanup++;
}

static wmiev_provider *add_provider(fixture *f, const wmiev_wmilib_callbacks *callbacks,
                                    wmiev_device *lower, const char *name) {
  wmiev_provider_options options;
  memset(&options, 0, sizeof options);
  options.context = f->ctx;
  options.context.callbacks = *callbacks;
  options.lower = lower;
  options.name = name;
  wmiev_provider *provider = NULL;
  assert_status(wmiev_provider_create(f->registry, &options, &provider), WMIEV_STATUS_SUCCESS);
  keep(f, provider, NULL);
  return provider;
}

static wmiev_device *add_device(fixture *f, wmiev_dispatch_fn dispatch, wmiev_device *lower,
                                const char *instance_id, const char *name) {
  wmiev_device_options options;
  memset(&options, 0, sizeof options);
  options.dispatch = dispatch;
  options.payload = f;
  options.lower = lower;
  options.instance_id = instance_id;
  options.name = name;
  wmiev_device *device = NULL;
  assert_status(wmiev_device_create(f->registry, &options, &device), WMIEV_STATUS_SUCCESS);
  keep(f, NULL, device);
  return device;
}

/* Runs wmilib with f->ctx (changed freely by tests) and records the disposition. */
static wmiev_status probe_dispatch(wmiev_device *device, wmiev_irp *irp, void *payload) {
  fixture *f = payload;
  wmiev_irp_disposition disposition = (wmiev_irp_disposition)99;
  f->probe_ret = wmiev_wmilib_system_control(&f->ctx, device, irp, &disposition);
  f->disposition = disposition;
  f->probe_io = irp->IoStatus;
  if (f->nprobe < sizeof f->probe_minors) {
    f->probe_minors[f->nprobe] = irp->MinorFunction;
  }
  f->nprobe++;
  switch (disposition) {
  case WMIEV_IRP_PROCESSED:
    return f->probe_ret;
  case WMIEV_IRP_NOT_COMPLETED:
    return wmiev_irp_complete(irp, irp->IoStatus.Status, irp->IoStatus.Information);
  default:
    return wmiev_irp_forward(device, irp);
  }
}

/* A lower device with a WMI handler of its own: records and completes. */
static wmiev_status lower_dispatch(wmiev_device *device, wmiev_irp *irp, void *payload) {
  fixture *f = payload;
  (void)device;
  f->lower_calls++;
  f->lower_minor = irp->MinorFunction;
  f->lower_provider_id = irp->Wmi.ProviderId;
  return wmiev_irp_complete(irp, WMIEV_STATUS_SUCCESS, 7);
}

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  assert_non_null(f);
  f->alloc = debug_alloc_create();
  wmiev_registry_options options;
  memset(&options, 0, sizeof options);
  options.allocator = debug_alloc_allocator(f->alloc);
  options.on_violation = on_violation;
  options.violation_ctx = f;
  options.irp_timeout_ms = 5000;
  assert_status(wmiev_registry_create(&options, &f->registry), WMIEV_STATUS_SUCCESS);
  f->guids[G_DATA] = (wmiev_guid_reg){&guid_data, 3, 0};
  f->guids[G_METHOD] = (wmiev_guid_reg){&guid_method, 2, WMIREG_FLAG_EXPENSIVE};
  f->guids[G_EVENT] = (wmiev_guid_reg){&guid_event, 1, WMIREG_FLAG_EVENT_ONLY_GUID};
  f->answer.reg_flags = WMIREG_FLAG_INSTANCE_BASENAME;
  f->answer.base_name = units_dev;
  f->answer.base_name_units = 3;
  f->answer.registry_path = units_reg;
  f->answer.registry_path_units = 3;
  f->answer.mof_resource = units_mof;
  f->answer.mof_resource_units = 3;
  f->ctx.guid_count = G_COUNT;
  f->ctx.guid_list = f->guids;
  f->ctx.callbacks = full_callbacks;
  f->ctx.payload = f;
  for (size_t i = 0; i < 4; i++) {
    f->len[i] = 6;
  }
  f->provider = add_provider(f, &full_callbacks, NULL, "main");
  f->device = wmiev_provider_device(f->provider);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  if (f->thread_started) {
    pthread_join(f->thread, NULL);
  }
  while (f->ncleanup > 0) {
    f->ncleanup--;
    if (f->cleanup[f->ncleanup].provider != NULL) {
      assert_status(wmiev_provider_destroy(f->cleanup[f->ncleanup].provider), WMIEV_STATUS_SUCCESS);
    } else {
      assert_status(wmiev_device_destroy(f->cleanup[f->ncleanup].device), WMIEV_STATUS_SUCCESS);
    }
  }
  wmiev_registry_destroy(f->registry);
  assert_int_equal(debug_alloc_report_leaks(f->alloc), 0);
  assert_int_equal(debug_alloc_errors(f->alloc), 0);
  assert_int_equal(f->nviolations, 0);
  debug_alloc_destroy(f->alloc);
  free(f);
  return 0;
}

static void register_device(wmiev_device *device) {
  wmiev_diag diag;
  wmiev_status status = wmiev_registration_control(device, WMIREG_ACTION_REGISTER, &diag);
  if (status != WMIEV_STATUS_SUCCESS) {
    print_error("REGISTER: %s: %s\n", wmiev_status_name(status), diag.message);
  }
  assert_status(status, WMIEV_STATUS_SUCCESS);
}

/* ---- Requests -------------------------------------------------------------------- */

#define CLIENT_CONTEXT 0xC0FFEEu

static wmiev_wnode_header_params header_for(const GUID *guid) {
  wmiev_wnode_header_params hdr;
  memset(&hdr, 0, sizeof hdr);
  hdr.guid = *guid;
  hdr.client_context = CLIENT_CONTEXT;
  return hdr;
}

static const uint8_t input_abc[] = {'a', 'b', 'c'};
static const uint8_t input_item[] = {0xde, 0xad, 0xbe, 0xef};

/* The request WMI would send for @p minor, addressing instance @p index; the
 * buffer is zeroed first. Returns the GUID DataPath points at. */
static const GUID *make_request(uint8_t minor, uint32_t index, uint8_t *buf, size_t cap) {
  memset(buf, 0, cap);
  size_t needed = 0;
  wmiev_wnode_instance inst;
  memset(&inst, 0, sizeof inst);
  inst.index = index;
  wmiev_wnode_header_params hdr;
  switch (minor) {
  case IRP_MN_QUERY_ALL_DATA: {
    /* WMI sends a header; wmilib fills in the rest. */
    uint32_t client = CLIENT_CONTEXT;
    memcpy(buf + offsetof(WNODE_HEADER, ClientContext), &client, sizeof client);
    return &guid_data;
  }
  case IRP_MN_QUERY_SINGLE_INSTANCE:
    hdr = header_for(&guid_data);
    assert_status(wmiev_wnode_build_single_instance(buf, cap, &hdr, &inst, &needed, NULL),
                  WMIEV_STATUS_SUCCESS);
    return &guid_data;
  case IRP_MN_CHANGE_SINGLE_INSTANCE:
    hdr = header_for(&guid_data);
    inst.data = input_abc;
    inst.size = sizeof input_abc;
    assert_status(wmiev_wnode_build_single_instance(buf, cap, &hdr, &inst, &needed, NULL),
                  WMIEV_STATUS_SUCCESS);
    return &guid_data;
  case IRP_MN_CHANGE_SINGLE_ITEM:
    hdr = header_for(&guid_data);
    inst.data = input_item;
    inst.size = sizeof input_item;
    assert_status(wmiev_wnode_build_single_item(buf, cap, &hdr, &inst, 5, &needed, NULL),
                  WMIEV_STATUS_SUCCESS);
    return &guid_data;
  case IRP_MN_EXECUTE_METHOD:
    hdr = header_for(&guid_method);
    inst.data = input_abc;
    inst.size = sizeof input_abc;
    assert_status(wmiev_wnode_build_method_item(buf, cap, &hdr, &inst, 7, &needed, NULL),
                  WMIEV_STATUS_SUCCESS);
    return &guid_method;
  default: {
    /* ENABLE/DISABLE_*: a WNODE_HEADER naming the block. */
    const GUID *guid = minor == IRP_MN_ENABLE_EVENTS || minor == IRP_MN_DISABLE_EVENTS
                           ? &guid_event
                           : &guid_method;
    uint32_t size = (uint32_t)sizeof(WNODE_HEADER);
    memcpy(buf + offsetof(WNODE_HEADER, BufferSize), &size, sizeof size);
    memcpy(buf + offsetof(WNODE_HEADER, Guid), guid, sizeof *guid);
    return guid;
  }
  }
}

static wmiev_status send(wmiev_device *device, uint8_t minor, const void *data_path, void *buf,
                         uint32_t size, wmiev_io_status *io) {
  io->Status = WMIEV_STATUS_UNSUCCESSFUL;
  io->Information = 0xbad;
  return wmiev_device_send_wmi_irp(device, minor, (void *)(uintptr_t)data_path, buf, size, io);
}

static void *reginfo_path(uintptr_t which) { return (void *)which; }

static const uint8_t all_minors[] = {
    IRP_MN_QUERY_ALL_DATA,     IRP_MN_QUERY_SINGLE_INSTANCE, IRP_MN_CHANGE_SINGLE_INSTANCE,
    IRP_MN_CHANGE_SINGLE_ITEM, IRP_MN_ENABLE_EVENTS,         IRP_MN_DISABLE_EVENTS,
    IRP_MN_ENABLE_COLLECTION,  IRP_MN_DISABLE_COLLECTION,    IRP_MN_EXECUTE_METHOD,
};
#define N_MINORS (sizeof all_minors / sizeof all_minors[0])

static const uint8_t addressed_minors[] = {IRP_MN_QUERY_SINGLE_INSTANCE,
                                           IRP_MN_CHANGE_SINGLE_INSTANCE, IRP_MN_CHANGE_SINGLE_ITEM,
                                           IRP_MN_EXECUTE_METHOD};

/* ---- REGINFO ------------------------------------------------------------------------ */

static void test_reginfo_ex_register_golden(void **state) {
  fixture *f = *state;
  _Alignas(8) uint8_t buf[256];
  memset(buf, 0xee, sizeof buf);
  wmiev_io_status io;
  assert_status(send(f->device, IRP_MN_REGINFO_EX, reginfo_path(WMIREGISTER), buf, sizeof buf, &io),
                WMIEV_STATUS_SUCCESS);
  assert_int_equal(io.Information, RI_TOTAL);
  assert_int_equal(sizeof golden_reginfo_register, RI_TOTAL);
  assert_bytes(buf, golden_reginfo_register, RI_TOTAL);
  assert_int_equal(buf[RI_TOTAL], 0xee); /* nothing written past BufferSize */
  assert_int_equal(f->reginfo_calls, 1);
  assert_int_equal(f->ncalls, 0);
}

static void test_reginfo_plain_update_golden(void **state) {
  fixture *f = *state;
  _Alignas(8) uint8_t buf[256];
  memset(buf, 0xee, sizeof buf);
  wmiev_io_status io;
  /* The Windows 2000 minor gets the same answer; WMIUPDATE drops the two strings. */
  assert_status(send(f->device, IRP_MN_REGINFO, reginfo_path(WMIUPDATE), buf, sizeof buf, &io),
                WMIEV_STATUS_SUCCESS);
  assert_int_equal(io.Information, RI_UPDATE_TOTAL);
  assert_int_equal(sizeof golden_reginfo_update, RI_UPDATE_TOTAL);
  assert_bytes(buf, golden_reginfo_update, RI_UPDATE_TOTAL);
  assert_int_equal(buf[RI_UPDATE_TOTAL], 0xee);

  /* And REGINFO with WMIREGISTER is byte-identical to REGINFO_EX. */
  assert_status(send(f->device, IRP_MN_REGINFO, reginfo_path(WMIREGISTER), buf, sizeof buf, &io),
                WMIEV_STATUS_SUCCESS);
  assert_bytes(buf, golden_reginfo_register, RI_TOTAL);
}

static void test_reginfo_strings_absent(void **state) {
  fixture *f = *state;
  f->answer.registry_path = NULL;
  f->answer.registry_path_units = 0;
  f->answer.mof_resource = NULL;
  f->answer.mof_resource_units = 0;
  _Alignas(8) uint8_t buf[256];
  wmiev_io_status io;
  assert_status(send(f->device, IRP_MN_REGINFO_EX, reginfo_path(WMIREGISTER), buf, sizeof buf, &io),
                WMIEV_STATUS_SUCCESS);
  /* Without them a WMIREGISTER answer is the WMIUPDATE one. */
  assert_int_equal(io.Information, RI_UPDATE_TOTAL);
  assert_bytes(buf, golden_reginfo_update, RI_UPDATE_TOTAL);
}

static void test_reginfo_too_small(void **state) {
  fixture *f = *state;
  _Alignas(8) uint8_t buf[16];
  memset(buf, 0xee, sizeof buf);
  wmiev_io_status io;
  /* The documented form: the ULONG needed, STATUS_BUFFER_TOO_SMALL, Information 4. */
  assert_status(send(f->device, IRP_MN_REGINFO_EX, reginfo_path(WMIREGISTER), buf, sizeof buf, &io),
                WMIEV_STATUS_BUFFER_TOO_SMALL);
  assert_int_equal(io.Information, sizeof(uint32_t));
  const uint8_t want[16] = {U32(RI_TOTAL), 0xee, 0xee, 0xee, 0xee, 0xee, 0xee,
                            0xee,          0xee, 0xee, 0xee, 0xee, 0xee};
  assert_bytes(buf, want, sizeof want);

  /* Not even a ULONG fits: nothing written, Information 0. */
  memset(buf, 0xee, sizeof buf);
  assert_status(send(f->device, IRP_MN_REGINFO_EX, reginfo_path(WMIREGISTER), buf, 3, &io),
                WMIEV_STATUS_BUFFER_TOO_SMALL);
  assert_int_equal(io.Information, 0);
  assert_int_equal(buf[0], 0xee);
  assert_int_equal(buf[2], 0xee);
}

static void test_reginfo_growth_registers(void **state) {
  fixture *f = *state;
  /* A registry whose first REGINFO buffer is 32 bytes: the provider must say
   * "too small" and the registry must grow and ask again. */
  debug_alloc *alloc = debug_alloc_create();
  wmiev_registry_options options;
  memset(&options, 0, sizeof options);
  options.allocator = debug_alloc_allocator(alloc);
  options.reginfo_initial_size = 32;
  options.on_violation = on_violation;
  options.violation_ctx = f;
  wmiev_registry *registry = NULL;
  assert_status(wmiev_registry_create(&options, &registry), WMIEV_STATUS_SUCCESS);
  wmiev_provider_options popt;
  memset(&popt, 0, sizeof popt);
  popt.context = f->ctx;
  wmiev_provider *provider = NULL;
  assert_status(wmiev_provider_create(registry, &popt, &provider), WMIEV_STATUS_SUCCESS);
  register_device(wmiev_provider_device(provider));
  assert_int_equal(f->reginfo_calls, 2);

  wmiev_block_info blocks[4];
  assert_int_equal(wmiev_registry_blocks(registry, NULL, blocks, 4), 3);
  assert_memory_equal(&blocks[0].guid, &guid_data, sizeof(GUID));
  assert_int_equal(blocks[0].flags, WMIREG_FLAG_INSTANCE_BASENAME);
  assert_int_equal(blocks[0].instance_count, 3);
  assert_int_equal(blocks[0].names, WMIEV_NAMES_BASENAME);
  assert_int_equal(blocks[1].flags, WMIREG_FLAG_INSTANCE_BASENAME | WMIREG_FLAG_EXPENSIVE);
  assert_int_equal(blocks[2].flags, WMIREG_FLAG_INSTANCE_BASENAME | WMIREG_FLAG_EVENT_ONLY_GUID);
  /* Base name + index, as Windows shows static names. */
  uint16_t name[8];
  size_t units = 0;
  assert_status(wmiev_registry_instance_name(
                    registry, &guid_data, wmiev_device_provider_id(wmiev_provider_device(provider)),
                    2, name, 8, &units),
                WMIEV_STATUS_SUCCESS);
  const uint16_t dev2[] = {'D', 'e', 'v', '2'};
  assert_int_equal(units, 4);
  assert_memory_equal(name, dev2, sizeof dev2);
  wmiev_registry_stats stats;
  wmiev_registry_get_stats(registry, &stats);
  assert_int_equal(stats.registrations, 1);
  assert_int_equal(stats.rejected_reginfo, 0);

  assert_status(wmiev_provider_destroy(provider), WMIEV_STATUS_SUCCESS);
  assert_int_equal(wmiev_registry_blocks(registry, NULL, blocks, 4), 0);
  wmiev_registry_destroy(registry);
  assert_int_equal(debug_alloc_report_leaks(alloc), 0);
  assert_int_equal(debug_alloc_errors(alloc), 0);
  debug_alloc_destroy(alloc);
}

static void test_reginfo_sent_as_ex(void **state) {
  fixture *f = *state;
  /* A probe device shows what REGISTER sends: REGINFO_EX, answered at once
   * (no fallback to REGINFO), disposition IrpNotCompleted. */
  wmiev_device *probe = add_device(f, probe_dispatch, NULL, NULL, "probe");
  register_device(probe);
  assert_int_equal(f->nprobe, 1);
  assert_int_equal(f->probe_minors[0], IRP_MN_REGINFO_EX);
  assert_int_equal(f->disposition, WMIEV_IRP_NOT_COMPLETED);
  assert_status(f->probe_ret, WMIEV_STATUS_SUCCESS);
  assert_status(f->probe_io.Status, WMIEV_STATUS_SUCCESS);
  assert_int_equal(f->probe_io.Information, RI_TOTAL);
  assert_int_equal(wmiev_registry_blocks(f->registry, NULL, NULL, 0), 3);
}

static void test_reginfo_late_guid_list(void **state) {
  fixture *f = *state;
  /* GuidCount/GuidList filled inside query_reginfo (spec §3.5). */
  wmiev_provider_options options;
  memset(&options, 0, sizeof options);
  options.context.callbacks = full_callbacks;
  options.context.payload = f;
  wmiev_provider *provider = NULL;
  assert_status(wmiev_provider_create(f->registry, &options, &provider), WMIEV_STATUS_SUCCESS);
  keep(f, provider, NULL);
  f->late_list = true;
  f->late_provider = provider;
  register_device(wmiev_provider_device(provider));
  wmiev_block_info blocks[4];
  assert_int_equal(wmiev_registry_blocks(f->registry, NULL, blocks, 4), 3);
  assert_memory_equal(&blocks[2].guid, &guid_event, sizeof(GUID));

  /* The late list serves requests too. */
  _Alignas(8) uint8_t buf[128];
  const GUID *guid = make_request(IRP_MN_QUERY_SINGLE_INSTANCE, 0, buf, sizeof buf);
  wmiev_io_status io;
  assert_status(send(wmiev_provider_device(provider), IRP_MN_QUERY_SINGLE_INSTANCE, guid, buf,
                     sizeof buf, &io),
                WMIEV_STATUS_SUCCESS);
  assert_int_equal(io.Information, 64 + 6);
}

static void test_reginfo_update_guids_remove(void **state) {
  fixture *f = *state;
  register_device(f->device);
  /* Retire the event block: REMOVE_GUID on a WMIUPDATE answer removes it. */
  wmiev_guid_reg updated[G_COUNT];
  memcpy(updated, f->guids, sizeof updated);
  updated[G_EVENT].flags |= WMIREG_FLAG_REMOVE_GUID;
  wmiev_provider_set_guid_list(f->provider, updated, G_COUNT);
  assert_status(wmiev_registration_control(f->device, WMIREG_ACTION_UPDATE_GUIDS, NULL),
                WMIEV_STATUS_SUCCESS);
  assert_int_equal(wmiev_registry_blocks(f->registry, &guid_event, NULL, 0), 0);
  assert_int_equal(wmiev_registry_blocks(f->registry, NULL, NULL, 0), 2);
  /* `updated` is about to go out of scope. */
  wmiev_provider_set_guid_list(f->provider, f->guids, G_COUNT);
}

static void test_reginfo_pdo(void **state) {
  fixture *f = *state;
  /* RegFlags INSTANCE_PDO with the PDO a wmiev_device with an instance id. */
  wmiev_device *pdo = add_device(f, NULL, NULL, "ROOT\\TOASTER\\0000", "pdo");
  f->answer.reg_flags = WMIREG_FLAG_INSTANCE_PDO;
  f->answer.pdo = (uintptr_t)pdo;
  f->answer.base_name = NULL;
  f->answer.base_name_units = 0;
  wmiev_provider *provider = add_provider(f, &full_callbacks, pdo, "fdo");
  wmiev_device *fdo = wmiev_provider_device(provider);

  _Alignas(8) uint8_t buf[256];
  wmiev_io_status io;
  assert_status(send(fdo, IRP_MN_REGINFO_EX, reginfo_path(WMIREGISTER), buf, sizeof buf, &io),
                WMIEV_STATUS_SUCCESS);
  /* No base name: the strings are the registry path and the MOF name only. */
  uint32_t total = RI_GUIDS_END + 16u;
  assert_int_equal(io.Information, total);
  WMIREGINFOW head;
  memcpy(&head, buf, sizeof head);
  assert_int_equal(head.BufferSize, total);
  assert_int_equal(head.RegistryPath, RI_GUIDS_END);
  assert_int_equal(head.MofResourceName, RI_GUIDS_END + 8u);
  for (uint32_t i = 0; i < G_COUNT; i++) {
    WMIREGGUIDW entry;
    memcpy(&entry, buf + offsetof(WMIREGINFOW, WmiRegGuid) + i * sizeof entry, sizeof entry);
    assert_int_equal(entry.Flags, f->guids[i].flags | WMIREG_FLAG_INSTANCE_PDO);
    assert_true(entry.Pdo == (uintptr_t)pdo);
  }

  register_device(fdo);
  uint16_t name[32];
  size_t units = 0;
  assert_status(wmiev_registry_instance_name(f->registry, &guid_data, wmiev_device_provider_id(fdo),
                                             1, name, 32, &units),
                WMIEV_STATUS_SUCCESS);
  const char *want = "ROOT\\TOASTER\\0000_1";
  assert_int_equal(units, strlen(want));
  for (size_t i = 0; i < units; i++) {
    assert_int_equal(name[i], (uint16_t)want[i]);
  }

  /* ALL_DATA replies of a PDO-named block say PDO_INSTANCE_NAMES. */
  make_request(IRP_MN_QUERY_ALL_DATA, 0, buf, sizeof buf);
  assert_status(send(fdo, IRP_MN_QUERY_ALL_DATA, &guid_data, buf, sizeof buf, &io),
                WMIEV_STATUS_SUCCESS);
  WNODE_ALL_DATA reply;
  memcpy(&reply, buf, sizeof reply);
  assert_int_equal(reply.WnodeHeader.Flags, WNODE_FLAG_ALL_DATA | WNODE_FLAG_FIXED_INSTANCE_SIZE |
                                                WNODE_FLAG_STATIC_INSTANCE_NAMES |
                                                WNODE_FLAG_PDO_INSTANCE_NAMES);
  /* Deregister before the PDO goes (teardown destroys from the top). */
}

static void test_reginfo_callback_failures(void **state) {
  fixture *f = *state;
  _Alignas(8) uint8_t buf[256];
  wmiev_io_status io;
  /* The callback's own failure is the IRP's status. */
  f->reginfo_status = WMIEV_STATUS_INSUFFICIENT_RESOURCES;
  assert_status(send(f->device, IRP_MN_REGINFO_EX, reginfo_path(WMIREGISTER), buf, sizeof buf, &io),
                WMIEV_STATUS_INSUFFICIENT_RESOURCES);
  assert_int_equal(io.Information, 0);
  /* ... and registration fails with it. */
  assert_status(wmiev_registration_control(f->device, WMIREG_ACTION_REGISTER, NULL),
                WMIEV_STATUS_INSUFFICIENT_RESOURCES);
  assert_int_equal(wmiev_registry_blocks(f->registry, NULL, NULL, 0), 0);
  f->reginfo_status = WMIEV_STATUS_SUCCESS;

  /* BASENAME promised, no base name given. */
  f->answer.base_name = NULL;
  assert_status(send(f->device, IRP_MN_REGINFO_EX, reginfo_path(WMIREGISTER), buf, sizeof buf, &io),
                WMIEV_STATUS_INVALID_PARAMETER);
  f->answer.base_name = units_dev;
  /* A string a USHORT cannot count. */
  f->answer.mof_resource_units = 40000;
  assert_status(send(f->device, IRP_MN_REGINFO_EX, reginfo_path(WMIREGISTER), buf, sizeof buf, &io),
                WMIEV_STATUS_NAME_TOO_LONG);
  f->answer.mof_resource_units = 3;
  /* A DataPath that is neither WMIREGISTER nor WMIUPDATE. */
  assert_status(send(f->device, IRP_MN_REGINFO_EX, reginfo_path(7), buf, sizeof buf, &io),
                WMIEV_STATUS_INVALID_PARAMETER);
  assert_int_equal(io.Information, 0);
}

/* ---- QUERY_ALL_DATA ------------------------------------------------------------------- */

/* Three 6-byte instances: FIXED_INSTANCE_SIZE, data at 88 with stride 8. */
/* clang-format off */
static const uint8_t golden_all_fixed[] = {
    U32(110),            /* 0  BufferSize: end of the last instance (104 + 6) */
    U32(0),              /* 4  ProviderId: as the request had it */
    Z8,                  /* 8  HistoricalContext */
    Z8,                  /* 16 TimeStamp (checked separately) */
    GUID_DATA_BYTES,     /* 24 Guid */
    U32(CLIENT_CONTEXT), /* 40 ClientContext: as the request had it */
    U32(0x91),           /* 44 Flags: ALL_DATA | FIXED_INSTANCE_SIZE | STATIC_INSTANCE_NAMES */
    U32(88),             /* 48 DataBlockOffset = ALIGN8(60 + 8 * 3) */
    U32(3),              /* 52 InstanceCount */
    U32(0),              /* 56 OffsetInstanceNameOffsets */
    U32(6),              /* 60 FixedInstanceSize */
    Z8, Z8, Z8,          /* 64 the unused rest of the length array, zeroed */
    0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0, 0, /* 88 instance 0, padding */
    0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0, 0, /* 96 instance 1, padding */
    0x31, 0x32, 0x33, 0x34, 0x35, 0x36,       /* 104 instance 2 */
};
/* clang-format on */

/* Lengths 5, 12, 3: the OffsetInstanceDataAndLength array. */
/* clang-format off */
static const uint8_t golden_all_variable[] = {
    U32(115),            /* 0  BufferSize: 112 + 3 */
    U32(0),              /* 4  ProviderId */
    Z8,                  /* 8  HistoricalContext */
    Z8,                  /* 16 TimeStamp */
    GUID_DATA_BYTES,     /* 24 Guid */
    U32(CLIENT_CONTEXT), /* 40 ClientContext */
    U32(0x81),           /* 44 Flags: ALL_DATA | STATIC_INSTANCE_NAMES */
    U32(88),             /* 48 DataBlockOffset (first instance) */
    U32(3),              /* 52 InstanceCount */
    U32(0),              /* 56 OffsetInstanceNameOffsets */
    U32(88), U32(5),     /* 60 [0] OffsetInstanceData, LengthInstanceData */
    U32(96), U32(12),    /* 68 [1] */
    U32(112), U32(3),    /* 76 [2] */
    U32(0),              /* 84 padding to 8 */
    0x11, 0x12, 0x13, 0x14, 0x15, 0, 0, 0,                         /* 88 instance 0 */
    0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, /* 96 instance 1 */
    0, 0, 0, 0,                                                    /* 108 padding */
    0x31, 0x32, 0x33,                                              /* 112 instance 2 */
};
/* clang-format on */

static void query_all(fixture *f, uint8_t *buf, uint32_t size, wmiev_status want,
                      uintptr_t want_info) {
  make_request(IRP_MN_QUERY_ALL_DATA, 0, buf, size);
  wmiev_io_status io;
  assert_status(send(f->device, IRP_MN_QUERY_ALL_DATA, &guid_data, buf, size, &io), want);
  assert_status(io.Status, want);
  assert_int_equal(io.Information, want_info);
}

static void assert_query_call(const call *c, fixture *f, uint32_t index, uint32_t count,
                              bool lengths_null, uint32_t avail, ptrdiff_t buffer_at) {
  assert_int_equal(c->kind, CB_QUERY);
  assert_ptr_equal(c->device, f->device);
  assert_int_equal(c->guid_index, G_DATA);
  assert_int_equal(c->instance_index, index);
  assert_int_equal(c->instance_count, count);
  assert_int_equal(c->lengths_null, lengths_null);
  assert_int_equal(c->avail, avail);
  assert_int_equal(c->buffer_at, buffer_at);
}

static void test_query_all_data_fixed(void **state) {
  fixture *f = *state;
  register_device(f->device);
  _Alignas(8) uint8_t buf[128];
  int64_t before = windows_time_100ns(false);
  query_all(f, buf, sizeof buf, WMIEV_STATUS_SUCCESS, 110);
  int64_t after = windows_time_100ns(false);
  assert_reply(buf, golden_all_fixed, sizeof golden_all_fixed, before, after);
  for (size_t i = sizeof golden_all_fixed; i < sizeof buf; i++) {
    assert_int_equal(buf[i], 0); /* nothing past BufferSize */
  }
  assert_int_equal(f->ncalls, 1);
  assert_query_call(&f->calls[0], f, 0, 3, false, 128 - 88, 88);
  assert_status(f->completes[0], WMIEV_STATUS_SUCCESS);

  /* What the validator makes of it. */
  wmiev_wnode_view view;
  assert_status(wmiev_wnode_validate(buf, sizeof buf, 0, &view, NULL), WMIEV_STATUS_SUCCESS);
  assert_true(view.fixed_instance_size);
  assert_int_equal(view.instance_count, 3);
}

static void test_query_all_data_variable(void **state) {
  fixture *f = *state;
  f->len[0] = 5;
  f->len[1] = 12;
  f->len[2] = 3;
  _Alignas(8) uint8_t buf[160];
  int64_t before = windows_time_100ns(false);
  query_all(f, buf, sizeof buf, WMIEV_STATUS_SUCCESS, 115);
  int64_t after = windows_time_100ns(false);
  assert_reply(buf, golden_all_variable, sizeof golden_all_variable, before, after);
  assert_query_call(&f->calls[0], f, 0, 3, false, 160 - 88, 88);
  wmiev_wnode_view view;
  assert_status(wmiev_wnode_validate(buf, sizeof buf, 0, &view, NULL), WMIEV_STATUS_SUCCESS);
  assert_false(view.fixed_instance_size);
  wmiev_wnode_instance_view inst;
  assert_status(wmiev_wnode_view_instance(&view, 1, &inst), WMIEV_STATUS_SUCCESS);
  assert_int_equal(inst.data_offset, 96);
  assert_int_equal(inst.size, 12);
}

static void test_query_all_data_no_instances(void **state) {
  fixture *f = *state;
  f->guids[G_DATA].instance_count = 0;
  _Alignas(8) uint8_t buf[64];
  int64_t before = windows_time_100ns(false);
  query_all(f, buf, sizeof buf, WMIEV_STATUS_SUCCESS, 64);
  int64_t after = windows_time_100ns(false);
  /* clang-format off */
  static const uint8_t want[] = {
      U32(64), U32(0), Z8, Z8, GUID_DATA_BYTES, U32(CLIENT_CONTEXT),
      U32(0x91), /* Flags: ALL_DATA | FIXED_INSTANCE_SIZE | STATIC_INSTANCE_NAMES */
      U32(64),   /* DataBlockOffset */
      U32(0),    /* InstanceCount */
      U32(0),    /* OffsetInstanceNameOffsets */
      U32(0),    /* FixedInstanceSize */
  };
  /* clang-format on */
  assert_reply(buf, want, sizeof want, before, after);
  /* The length array (empty) fits, no data space: lengths given, avail 0. */
  assert_query_call(&f->calls[0], f, 0, 0, false, 0, 64);

  /* 56..63 bytes: not even the empty reply fits. */
  query_all(f, buf, 60, WMIEV_STATUS_SUCCESS, 56);
  /* clang-format off */
  static const uint8_t too_small[] = {
      U32(56), U32(0), Z8, Z8, GUID_DATA_BYTES, U32(CLIENT_CONTEXT),
      U32(0x20), /* Flags: TOO_SMALL */
      U32(64),   /* SizeNeeded */
      U32(0),    /* padding */
  };
  /* clang-format on */
  assert_bytes(buf, too_small, sizeof too_small);
  assert_query_call(&f->calls[1], f, 0, 0, true, 0, 60);
}

/* The WNODE_TOO_SMALL answer to a 3 x 6-byte query (needs 110 bytes). */
/* clang-format off */
static const uint8_t golden_all_too_small[] = {
    U32(56),             /* 0  BufferSize = sizeof(WNODE_TOO_SMALL) */
    U32(0),              /* 4  ProviderId: kept */
    Z8,                  /* 8  HistoricalContext: kept */
    Z8,                  /* 16 TimeStamp: not stamped */
    GUID_DATA_BYTES,     /* 24 Guid: preset by wmilib */
    U32(CLIENT_CONTEXT), /* 40 ClientContext: kept */
    U32(0x20),           /* 44 Flags: TOO_SMALL only */
    U32(110),            /* 48 SizeNeeded = 88 + 22 */
    U32(0),              /* 52 padding (InstanceCount was preset here) */
};
/* clang-format on */

static void test_query_all_data_too_small(void **state) {
  fixture *f = *state;
  _Alignas(8) uint8_t buf[128];
  /* 80 bytes: the length array does not fit (D = 88): no lengths, avail 0. */
  query_all(f, buf, 80, WMIEV_STATUS_SUCCESS, 56);
  assert_bytes(buf, golden_all_too_small, sizeof golden_all_too_small);
  for (size_t i = 56; i < 80; i++) {
    assert_int_equal(buf[i], 0);
  }
  assert_query_call(&f->calls[0], f, 0, 3, true, 0, 80);
  /* The callback's WmiCompleteRequest returned STATUS_SUCCESS too. */
  assert_status(f->completes[0], WMIEV_STATUS_SUCCESS);

  /* 100 bytes: lengths fit, 12 bytes of data space for 22. */
  query_all(f, buf, 100, WMIEV_STATUS_SUCCESS, 56);
  assert_bytes(buf, golden_all_too_small, sizeof golden_all_too_small);
  assert_query_call(&f->calls[1], f, 0, 3, false, 12, 88);

  /* Below sizeof(WNODE_TOO_SMALL): wmilib answers alone, no callback. */
  query_all(f, buf, 55, WMIEV_STATUS_BUFFER_TOO_SMALL, 0);
  query_all(f, buf, 0, WMIEV_STATUS_BUFFER_TOO_SMALL, 0);
  assert_int_equal(f->ncalls, 2);
}

static void test_query_all_data_grow_and_retry(void **state) {
  fixture *f = *state;
  /* What WMI does: ask, read SizeNeeded, ask again with that much. */
  _Alignas(8) uint8_t buf[256];
  query_all(f, buf, 64, WMIEV_STATUS_SUCCESS, 56);
  WNODE_TOO_SMALL small;
  memcpy(&small, buf, sizeof small);
  assert_int_equal(small.WnodeHeader.Flags, WNODE_FLAG_TOO_SMALL);
  int64_t before = windows_time_100ns(false);
  query_all(f, buf, small.SizeNeeded, WMIEV_STATUS_SUCCESS, small.SizeNeeded);
  int64_t after = windows_time_100ns(false);
  assert_reply(buf, golden_all_fixed, sizeof golden_all_fixed, before, after);
}

/* ---- QUERY_SINGLE_INSTANCE ------------------------------------------------------------ */

/* clang-format off */
static const uint8_t golden_single[] = {
    U32(76),             /* 0  BufferSize = DataBlockOffset + 12 */
    U32(0),              /* 4  ProviderId */
    Z8,                  /* 8  HistoricalContext */
    Z8,                  /* 16 TimeStamp */
    GUID_DATA_BYTES,     /* 24 Guid */
    U32(CLIENT_CONTEXT), /* 40 ClientContext */
    U32(0x82),           /* 44 Flags: SINGLE_INSTANCE | STATIC_INSTANCE_NAMES (as sent) */
    U32(0),              /* 48 OffsetInstanceName */
    U32(1),              /* 52 InstanceIndex */
    U32(64),             /* 56 DataBlockOffset: unchanged */
    U32(12),             /* 60 SizeDataBlock */
    0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, /* 64 data */
};
/* clang-format on */

static void test_query_single_instance(void **state) {
  fixture *f = *state;
  register_device(f->device);
  f->len[1] = 12;
  _Alignas(8) uint8_t buf[96];
  const GUID *guid = make_request(IRP_MN_QUERY_SINGLE_INSTANCE, 1, buf, sizeof buf);
  wmiev_io_status io;
  int64_t before = windows_time_100ns(false);
  assert_status(send(f->device, IRP_MN_QUERY_SINGLE_INSTANCE, guid, buf, sizeof buf, &io),
                WMIEV_STATUS_SUCCESS);
  int64_t after = windows_time_100ns(false);
  assert_int_equal(io.Information, 76);
  assert_reply(buf, golden_single, sizeof golden_single, before, after);
  assert_query_call(&f->calls[0], f, 1, 1, false, 96 - 64, 64);

  /* Too small: a 64-byte buffer has no data space; 56 bytes hold the answer. */
  make_request(IRP_MN_QUERY_SINGLE_INSTANCE, 1, buf, sizeof buf);
  assert_status(send(f->device, IRP_MN_QUERY_SINGLE_INSTANCE, guid, buf, 64, &io),
                WMIEV_STATUS_SUCCESS);
  assert_int_equal(io.Information, 56);
  /* clang-format off */
  static const uint8_t too_small[] = {
      U32(56), U32(0), Z8, Z8, GUID_DATA_BYTES, U32(CLIENT_CONTEXT),
      U32(0x20), /* Flags: TOO_SMALL */
      U32(76),   /* SizeNeeded = 64 + 12 */
      U32(0),    /* padding (InstanceIndex was here) */
  };
  /* clang-format on */
  assert_bytes(buf, too_small, sizeof too_small);
  assert_query_call(&f->calls[1], f, 1, 1, false, 0, 64);
}

/* ---- CHANGE_SINGLE_INSTANCE / CHANGE_SINGLE_ITEM -------------------------------------- */

static void test_change_single_instance(void **state) {
  fixture *f = *state;
  _Alignas(8) uint8_t buf[96];
  const GUID *guid = make_request(IRP_MN_CHANGE_SINGLE_INSTANCE, 2, buf, sizeof buf);
  uint8_t before[96];
  memcpy(before, buf, sizeof before);
  wmiev_io_status io;
  assert_status(send(f->device, IRP_MN_CHANGE_SINGLE_INSTANCE, guid, buf, sizeof buf, &io),
                WMIEV_STATUS_SUCCESS);
  assert_int_equal(io.Information, 0);
  assert_bytes(buf, before, sizeof before); /* a change returns no data */
  assert_int_equal(f->ncalls, 1);
  const call *c = &f->calls[0];
  assert_int_equal(c->kind, CB_SET_BLOCK);
  assert_ptr_equal(c->device, f->device);
  assert_int_equal(c->guid_index, G_DATA);
  assert_int_equal(c->instance_index, 2);
  assert_int_equal(c->in_size, 3);
  assert_memory_equal(c->in, input_abc, 3);
  assert_int_equal(c->buffer_at, 64);
}

static void test_change_single_item(void **state) {
  fixture *f = *state;
  _Alignas(8) uint8_t buf[96];
  const GUID *guid = make_request(IRP_MN_CHANGE_SINGLE_ITEM, 0, buf, sizeof buf);
  wmiev_io_status io;
  assert_status(send(f->device, IRP_MN_CHANGE_SINGLE_ITEM, guid, buf, sizeof buf, &io),
                WMIEV_STATUS_SUCCESS);
  assert_int_equal(io.Information, 0);
  const call *c = &f->calls[0];
  assert_int_equal(c->kind, CB_SET_ITEM);
  assert_int_equal(c->guid_index, G_DATA);
  assert_int_equal(c->instance_index, 0);
  assert_int_equal(c->id, 5);
  assert_int_equal(c->in_size, 4);
  assert_memory_equal(c->in, input_item, 4);
  assert_int_equal(c->buffer_at, 72); /* SINGLE_ITEM data starts at ALIGN8(68) */
}

/* ---- EXECUTE_METHOD ------------------------------------------------------------------- */

/* clang-format off */
static const uint8_t golden_method[] = {
    U32(81),             /* 0  BufferSize = DataBlockOffset + 9 */
    U32(0),              /* 4  ProviderId */
    Z8,                  /* 8  HistoricalContext */
    Z8,                  /* 16 TimeStamp */
    GUID_METHOD_BYTES,   /* 24 Guid */
    U32(CLIENT_CONTEXT), /* 40 ClientContext */
    U32(0x8080),         /* 44 Flags: METHOD_ITEM | STATIC_INSTANCE_NAMES */
    U32(0),              /* 48 OffsetInstanceName */
    U32(1),              /* 52 InstanceIndex */
    U32(7),              /* 56 MethodId */
    U32(72),             /* 60 DataBlockOffset: unchanged */
    U32(9),              /* 64 SizeDataBlock: the output size now */
    U32(0),              /* 68 padding */
    0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, /* 72 output, over the input */
};
/* clang-format on */

static void test_execute_method_in_place(void **state) {
  fixture *f = *state;
  register_device(f->device);
  for (uint32_t i = 0; i < 9; i++) {
    f->out[i] = (uint8_t)(0xa0 + i);
  }
  f->out_size = 9;
  _Alignas(8) uint8_t buf[128];
  const GUID *guid = make_request(IRP_MN_EXECUTE_METHOD, 1, buf, sizeof buf);
  wmiev_io_status io;
  int64_t before = windows_time_100ns(false);
  assert_status(send(f->device, IRP_MN_EXECUTE_METHOD, guid, buf, sizeof buf, &io),
                WMIEV_STATUS_SUCCESS);
  int64_t after = windows_time_100ns(false);
  assert_int_equal(io.Information, 81);
  assert_reply(buf, golden_method, sizeof golden_method, before, after);
  const call *c = &f->calls[0];
  assert_int_equal(c->kind, CB_METHOD);
  assert_int_equal(c->guid_index, G_METHOD);
  assert_int_equal(c->instance_index, 1);
  assert_int_equal(c->id, 7);
  assert_int_equal(c->in_size, 3);
  assert_memory_equal(c->in, input_abc, 3);
  assert_int_equal(c->avail, 128 - 72); /* out_size: the rest of the buffer */
  assert_int_equal(c->buffer_at, 72);
}

static void test_execute_method_too_small(void **state) {
  fixture *f = *state;
  f->out_size = 100;
  _Alignas(8) uint8_t buf[128];
  const GUID *guid = make_request(IRP_MN_EXECUTE_METHOD, 1, buf, sizeof buf);
  wmiev_io_status io;
  assert_status(send(f->device, IRP_MN_EXECUTE_METHOD, guid, buf, sizeof buf, &io),
                WMIEV_STATUS_SUCCESS);
  assert_int_equal(io.Information, 56);
  /* clang-format off */
  static const uint8_t want[] = {
      U32(56),             /* BufferSize */
      U32(0),              /* ProviderId */
      Z8,                  /* HistoricalContext */
      Z8,                  /* TimeStamp: not stamped */
      GUID_METHOD_BYTES,   /* Guid: as sent */
      U32(CLIENT_CONTEXT), /* ClientContext */
      U32(0x20),           /* Flags: TOO_SMALL */
      U32(172),            /* SizeNeeded = 72 + 100 */
      U32(0),              /* padding (InstanceIndex 1 was here) */
      U32(7),              /* 56: the request's MethodId, beyond the reply */
  };
  /* clang-format on */
  assert_bytes(buf, want, sizeof want);
  assert_status(f->completes[0], WMIEV_STATUS_SUCCESS);
}

/* ---- Function control ------------------------------------------------------------------ */

static void test_function_control(void **state) {
  fixture *f = *state;
  static const struct {
    uint8_t minor;
    uint32_t guid_index;
    wmiev_function_control function;
    bool enable;
  } cases[] = {
      {IRP_MN_ENABLE_EVENTS, G_EVENT, WMIEV_EVENT_CONTROL, true},
      {IRP_MN_DISABLE_EVENTS, G_EVENT, WMIEV_EVENT_CONTROL, false},
      {IRP_MN_ENABLE_COLLECTION, G_METHOD, WMIEV_DATA_BLOCK_CONTROL, true},
      {IRP_MN_DISABLE_COLLECTION, G_METHOD, WMIEV_DATA_BLOCK_CONTROL, false},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    _Alignas(8) uint8_t buf[48];
    const GUID *guid = make_request(cases[i].minor, 0, buf, sizeof buf);
    wmiev_io_status io;
    assert_status(send(f->device, cases[i].minor, guid, buf, sizeof buf, &io),
                  WMIEV_STATUS_SUCCESS);
    assert_int_equal(io.Information, 0);
    const call *c = &f->calls[i];
    assert_int_equal(c->kind, CB_FUNCTION);
    assert_ptr_equal(c->device, f->device);
    assert_int_equal(c->guid_index, cases[i].guid_index);
    assert_int_equal(c->function, cases[i].function);
    assert_int_equal(c->enable, cases[i].enable);
  }
  /* The buffer is not looked at: none at all is fine. */
  wmiev_io_status io;
  assert_status(send(f->device, IRP_MN_ENABLE_EVENTS, &guid_event, NULL, 0, &io),
                WMIEV_STATUS_SUCCESS);
  assert_int_equal(f->ncalls, 5);
}

/* ---- Defaults of missing callbacks ------------------------------------------------------ */

static void test_missing_callback_defaults(void **state) {
  fixture *f = *state;
  wmiev_provider *minimal = add_provider(f, &minimal_callbacks, NULL, "minimal");
  wmiev_device *device = wmiev_provider_device(minimal);
  register_device(device);
  static const struct {
    uint8_t minor;
    wmiev_status status;
  } cases[] = {
      {IRP_MN_CHANGE_SINGLE_INSTANCE, WMIEV_STATUS_WMI_READ_ONLY},
      {IRP_MN_CHANGE_SINGLE_ITEM, WMIEV_STATUS_WMI_READ_ONLY},
      {IRP_MN_EXECUTE_METHOD, WMIEV_STATUS_INVALID_DEVICE_REQUEST},
      {IRP_MN_ENABLE_EVENTS, WMIEV_STATUS_SUCCESS},
      {IRP_MN_DISABLE_EVENTS, WMIEV_STATUS_SUCCESS},
      {IRP_MN_ENABLE_COLLECTION, WMIEV_STATUS_SUCCESS},
      {IRP_MN_DISABLE_COLLECTION, WMIEV_STATUS_SUCCESS},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    _Alignas(8) uint8_t buf[128];
    const GUID *guid = make_request(cases[i].minor, 1, buf, sizeof buf);
    wmiev_io_status io;
    assert_status(send(device, cases[i].minor, guid, buf, sizeof buf, &io), cases[i].status);
    assert_int_equal(io.Information, 0);
  }
  assert_int_equal(f->ncalls, 0);

  /* The required callbacks, missing, as a WDK driver's WMILIB_CONTEXT could
   * have them (a provider refuses to be created without them). */
  wmiev_device *probe = add_device(f, probe_dispatch, NULL, NULL, "probe");
  f->ctx.callbacks = minimal_callbacks;
  f->ctx.callbacks.query_reginfo = NULL;
  f->ctx.callbacks.query_data_block = NULL;
  _Alignas(8) uint8_t buf[128];
  wmiev_io_status io;
  assert_status(send(probe, IRP_MN_REGINFO_EX, reginfo_path(WMIREGISTER), buf, sizeof buf, &io),
                WMIEV_STATUS_INVALID_DEVICE_REQUEST);
  assert_int_equal(f->disposition, WMIEV_IRP_NOT_COMPLETED);
  for (uint8_t minor = IRP_MN_QUERY_ALL_DATA; minor <= IRP_MN_QUERY_SINGLE_INSTANCE; minor++) {
    const GUID *guid = make_request(minor, 0, buf, sizeof buf);
    assert_status(send(probe, minor, guid, buf, sizeof buf, &io),
                  WMIEV_STATUS_INVALID_DEVICE_REQUEST);
    assert_int_equal(f->disposition, WMIEV_IRP_NOT_COMPLETED);
    assert_int_equal(io.Information, 0);
  }
  assert_int_equal(f->ncalls, 0);
  assert_int_equal(f->reginfo_calls, 1); /* the registration above only */
}

/* ---- Dispositions ------------------------------------------------------------------------ */

static void test_dispositions(void **state) {
  fixture *f = *state;
  wmiev_device *lower = add_device(f, lower_dispatch, NULL, NULL, "lower");
  wmiev_device *probe = add_device(f, probe_dispatch, lower, NULL, "probe");
  _Alignas(8) uint8_t buf[256];
  wmiev_io_status io;

  /* REGINFO: answered, the caller completes. */
  assert_status(send(probe, IRP_MN_REGINFO_EX, reginfo_path(WMIREGISTER), buf, sizeof buf, &io),
                WMIEV_STATUS_SUCCESS);
  assert_int_equal(f->disposition, WMIEV_IRP_NOT_COMPLETED);
  assert_status(f->probe_ret, WMIEV_STATUS_SUCCESS);
  assert_int_equal(f->probe_io.Information, RI_TOTAL);

  /* A callback ran and completed: PROCESSED, its return value returned. */
  make_request(IRP_MN_QUERY_ALL_DATA, 0, buf, sizeof buf);
  assert_status(send(probe, IRP_MN_QUERY_ALL_DATA, &guid_data, buf, sizeof buf, &io),
                WMIEV_STATUS_SUCCESS);
  assert_int_equal(f->disposition, WMIEV_IRP_PROCESSED);
  assert_status(f->probe_ret, WMIEV_STATUS_SUCCESS);
  assert_int_equal(io.Information, 110);

  /* A callback's failure: PROCESSED still, its status returned. */
  f->status = WMIEV_STATUS_WMI_SET_FAILURE;
  make_request(IRP_MN_CHANGE_SINGLE_INSTANCE, 0, buf, sizeof buf);
  assert_status(send(probe, IRP_MN_CHANGE_SINGLE_INSTANCE, &guid_data, buf, sizeof buf, &io),
                WMIEV_STATUS_WMI_SET_FAILURE);
  assert_int_equal(f->disposition, WMIEV_IRP_PROCESSED);
  assert_status(f->probe_ret, WMIEV_STATUS_WMI_SET_FAILURE);
  f->status = WMIEV_STATUS_SUCCESS;

  /* wmilib's own error: NOT_COMPLETED, status set, Information 0. */
  make_request(IRP_MN_QUERY_ALL_DATA, 0, buf, sizeof buf);
  assert_status(send(probe, IRP_MN_QUERY_ALL_DATA, &guid_unknown, buf, sizeof buf, &io),
                WMIEV_STATUS_WMI_GUID_NOT_FOUND);
  assert_int_equal(f->disposition, WMIEV_IRP_NOT_COMPLETED);
  assert_status(f->probe_ret, WMIEV_STATUS_WMI_GUID_NOT_FOUND);
  assert_status(f->probe_io.Status, WMIEV_STATUS_WMI_GUID_NOT_FOUND);
  assert_int_equal(f->probe_io.Information, 0);

  /* Not WMI minors (0x0A has no IRP_MN_ name, 0x0C and up are not WMI's):
   * IRP untouched, its status returned; the provider forwards. */
  const uint8_t not_wmi[] = {0x0a, 0x0c, 0x17, 0xff};
  for (size_t i = 0; i < sizeof not_wmi; i++) {
    unsigned lower_calls = f->lower_calls;
    assert_status(send(probe, not_wmi[i], &guid_data, buf, sizeof buf, &io), WMIEV_STATUS_SUCCESS);
    assert_int_equal(f->disposition, WMIEV_IRP_NOT_WMI);
    assert_status(f->probe_ret, WMIEV_STATUS_NOT_SUPPORTED);
    assert_status(f->probe_io.Status, WMIEV_STATUS_NOT_SUPPORTED);
    assert_int_equal(f->probe_io.Information, 0);
    assert_int_equal(f->lower_calls, lower_calls + 1);
    assert_int_equal(f->lower_minor, not_wmi[i]);
  }

  /* For the device below: FORWARD, every minor, REGINFO included. */
  for (uint8_t minor = 0; minor <= IRP_MN_REGINFO_EX; minor++) {
    if (minor == 0x0a) {
      continue;
    }
    unsigned lower_calls = f->lower_calls;
    const GUID *guid = minor == IRP_MN_REGINFO || minor == IRP_MN_REGINFO_EX
                           ? NULL
                           : make_request(minor, 0, buf, sizeof buf);
    assert_status(send(lower, minor, guid, buf, sizeof buf, &io), WMIEV_STATUS_SUCCESS);
    assert_int_equal(io.Information, 7); /* the lower device's answer */
    assert_int_equal(f->disposition, WMIEV_IRP_FORWARD);
    assert_status(f->probe_ret, WMIEV_STATUS_NOT_SUPPORTED);
    assert_int_equal(f->lower_calls, lower_calls + 1);
    assert_int_equal(f->lower_minor, minor);
    assert_true(f->lower_provider_id == wmiev_device_irp_provider_id(lower));
  }
  assert_int_equal(f->ncalls, 1 + 1); /* the ALL_DATA and the CHANGE above */
}

static void test_forward_through_provider(void **state) {
  fixture *f = *state;
  /* A provider on top of a plain device (no dispatch) and of a device with a
   * WMI handler: IRPs for the lower devices pass through untouched. */
  wmiev_device *plain = add_device(f, NULL, NULL, NULL, "plain");
  wmiev_provider *upper = add_provider(f, &full_callbacks, plain, "upper");
  _Alignas(8) uint8_t buf[128];
  wmiev_io_status io;
  const GUID *guid = make_request(IRP_MN_QUERY_SINGLE_INSTANCE, 0, buf, sizeof buf);
  uint8_t sent[128];
  memcpy(sent, buf, sizeof sent);
  assert_status(send(plain, IRP_MN_QUERY_SINGLE_INSTANCE, guid, buf, sizeof buf, &io),
                WMIEV_STATUS_NOT_SUPPORTED);
  assert_int_equal(io.Information, 0);
  assert_bytes(buf, sent, sizeof sent);
  assert_status(send(plain, IRP_MN_REGINFO_EX, reginfo_path(WMIREGISTER), buf, sizeof buf, &io),
                WMIEV_STATUS_NOT_SUPPORTED);
  /* Registration of the plain device therefore fails, after the fallback. */
  assert_status(wmiev_registration_control(plain, WMIREG_ACTION_REGISTER, NULL),
                WMIEV_STATUS_NOT_SUPPORTED);
  assert_int_equal(f->ncalls, 0);
  assert_int_equal(f->reginfo_calls, 0);

  /* The provider itself still answers for its own id. */
  make_request(IRP_MN_QUERY_SINGLE_INSTANCE, 0, buf, sizeof buf);
  assert_status(
      send(wmiev_provider_device(upper), IRP_MN_QUERY_SINGLE_INSTANCE, guid, buf, sizeof buf, &io),
      WMIEV_STATUS_SUCCESS);
  assert_int_equal(io.Information, 70);
  assert_ptr_equal(f->calls[0].device, wmiev_provider_device(upper));

  wmiev_device *handler = add_device(f, lower_dispatch, NULL, NULL, "handler");
  add_provider(f, &full_callbacks, handler, "upper2");
  make_request(IRP_MN_QUERY_ALL_DATA, 0, buf, sizeof buf);
  assert_status(send(handler, IRP_MN_QUERY_ALL_DATA, &guid_data, buf, sizeof buf, &io),
                WMIEV_STATUS_SUCCESS);
  assert_int_equal(io.Information, 7);
  assert_int_equal(f->lower_calls, 1);
  assert_int_equal(f->ncalls, 1);
}

/* ---- Addressing errors ---------------------------------------------------------------- */

static void test_unknown_guid(void **state) {
  fixture *f = *state;
  register_device(f->device);
  for (size_t i = 0; i < N_MINORS; i++) {
    _Alignas(8) uint8_t buf[128];
    make_request(all_minors[i], 0, buf, sizeof buf);
    wmiev_io_status io;
    assert_status(send(f->device, all_minors[i], &guid_unknown, buf, sizeof buf, &io),
                  WMIEV_STATUS_WMI_GUID_NOT_FOUND);
    assert_int_equal(io.Information, 0);
    assert_status(send(f->device, all_minors[i], NULL, buf, sizeof buf, &io),
                  WMIEV_STATUS_WMI_GUID_NOT_FOUND);
  }
  assert_int_equal(f->ncalls, 0);
}

static void test_bad_instance(void **state) {
  fixture *f = *state;
  for (size_t i = 0; i < sizeof addressed_minors; i++) {
    uint8_t minor = addressed_minors[i];
    _Alignas(8) uint8_t buf[128];
    /* One past the block's instances (3 for the data block, 2 for the method block). */
    uint32_t count = minor == IRP_MN_EXECUTE_METHOD ? 2 : 3;
    const GUID *guid = make_request(minor, count, buf, sizeof buf);
    wmiev_io_status io;
    assert_status(send(f->device, minor, guid, buf, sizeof buf, &io),
                  WMIEV_STATUS_WMI_INSTANCE_NOT_FOUND);
    assert_int_equal(io.Information, 0);
    make_request(minor, UINT32_MAX, buf, sizeof buf);
    assert_status(send(f->device, minor, guid, buf, sizeof buf, &io),
                  WMIEV_STATUS_WMI_INSTANCE_NOT_FOUND);
    /* The last one is fine. */
    make_request(minor, count - 1, buf, sizeof buf);
    assert_status(send(f->device, minor, guid, buf, sizeof buf, &io), WMIEV_STATUS_SUCCESS);
  }
  assert_int_equal(f->ncalls, 4);
}

static void test_dynamic_name_request(void **state) {
  fixture *f = *state;
  /* wmilib has static names only: a request by name finds no instance (and
   * WMI then asks the other providers of the GUID). */
  static const uint16_t name[] = {'D', 'e', 'v', '0'};
  for (size_t i = 0; i < sizeof addressed_minors; i++) {
    uint8_t minor = addressed_minors[i];
    _Alignas(8) uint8_t buf[128];
    memset(buf, 0, sizeof buf);
    wmiev_wnode_header_params hdr =
        header_for(minor == IRP_MN_EXECUTE_METHOD ? &guid_method : &guid_data);
    wmiev_wnode_instance inst;
    memset(&inst, 0, sizeof inst);
    inst.dynamic_name = true;
    inst.name = name;
    inst.name_units = 4;
    size_t needed = 0;
    if (minor == IRP_MN_CHANGE_SINGLE_ITEM) {
      assert_status(wmiev_wnode_build_single_item(buf, sizeof buf, &hdr, &inst, 1, &needed, NULL),
                    WMIEV_STATUS_SUCCESS);
    } else if (minor == IRP_MN_EXECUTE_METHOD) {
      assert_status(wmiev_wnode_build_method_item(buf, sizeof buf, &hdr, &inst, 1, &needed, NULL),
                    WMIEV_STATUS_SUCCESS);
    } else {
      assert_status(wmiev_wnode_build_single_instance(buf, sizeof buf, &hdr, &inst, &needed, NULL),
                    WMIEV_STATUS_SUCCESS);
    }
    wmiev_io_status io;
    assert_status(send(f->device, minor, &hdr.guid, buf, sizeof buf, &io),
                  WMIEV_STATUS_WMI_INSTANCE_NOT_FOUND);
    assert_int_equal(io.Information, 0);
  }
  assert_int_equal(f->ncalls, 0);
}

static void test_malformed_request(void **state) {
  fixture *f = *state;
  _Alignas(8) uint8_t buf[128];
  wmiev_io_status io;
  /* The wrong kind for the minor. */
  make_request(IRP_MN_CHANGE_SINGLE_INSTANCE, 0, buf, sizeof buf);
  assert_status(send(f->device, IRP_MN_CHANGE_SINGLE_ITEM, &guid_data, buf, sizeof buf, &io),
                WMIEV_STATUS_INVALID_PARAMETER);
  make_request(IRP_MN_CHANGE_SINGLE_ITEM, 0, buf, sizeof buf);
  assert_status(send(f->device, IRP_MN_QUERY_SINGLE_INSTANCE, &guid_data, buf, sizeof buf, &io),
                WMIEV_STATUS_INVALID_PARAMETER);
  make_request(IRP_MN_QUERY_SINGLE_INSTANCE, 0, buf, sizeof buf);
  assert_status(send(f->device, IRP_MN_EXECUTE_METHOD, &guid_method, buf, sizeof buf, &io),
                WMIEV_STATUS_INVALID_PARAMETER);
  assert_int_equal(io.Information, 0);
  /* What the validator says, passed on: BufferSize past the buffer ... */
  make_request(IRP_MN_QUERY_SINGLE_INSTANCE, 0, buf, sizeof buf);
  uint32_t huge = 200;
  memcpy(buf, &huge, sizeof huge);
  assert_status(send(f->device, IRP_MN_QUERY_SINGLE_INSTANCE, &guid_data, buf, sizeof buf, &io),
                WMIEV_STATUS_INVALID_BUFFER_SIZE);
  /* ... misaligned data ... */
  make_request(IRP_MN_CHANGE_SINGLE_INSTANCE, 0, buf, sizeof buf);
  uint32_t odd = 66;
  memcpy(buf + offsetof(WNODE_SINGLE_INSTANCE, DataBlockOffset), &odd, sizeof odd);
  assert_status(send(f->device, IRP_MN_CHANGE_SINGLE_INSTANCE, &guid_data, buf, sizeof buf, &io),
                WMIEV_STATUS_DATATYPE_MISALIGNMENT);
  /* ... no header at all. */
  assert_status(send(f->device, IRP_MN_QUERY_SINGLE_INSTANCE, &guid_data, buf, 40, &io),
                WMIEV_STATUS_BUFFER_TOO_SMALL);
  assert_status(send(f->device, IRP_MN_EXECUTE_METHOD, &guid_method, NULL, 0, &io),
                WMIEV_STATUS_BUFFER_TOO_SMALL);
  assert_int_equal(f->ncalls, 0);
}

/* ---- Callback statuses ---------------------------------------------------------------- */

static void test_callback_errors_pass_through(void **state) {
  fixture *f = *state;
  static const wmiev_status statuses[] = {
      WMIEV_STATUS_WMI_READ_ONLY,        WMIEV_STATUS_WMI_SET_FAILURE,
      WMIEV_STATUS_WMI_ITEMID_NOT_FOUND, WMIEV_STATUS_WMI_INSTANCE_NOT_FOUND,
      WMIEV_STATUS_WMI_GUID_NOT_FOUND,   WMIEV_STATUS_INVALID_DEVICE_REQUEST,
      WMIEV_STATUS_WMI_TRY_AGAIN,        WMIEV_STATUS_WMI_NOT_SUPPORTED,
      WMIEV_STATUS_UNSUCCESSFUL,         WMIEV_STATUS_INSUFFICIENT_RESOURCES,
      WMIEV_STATUS_WMI_ALREADY_ENABLED,  WMIEV_STATUS_WMI_ALREADY_DISABLED,
      WMIEV_STATUS_INVALID_PARAMETER,
  };
  for (size_t s = 0; s < sizeof statuses / sizeof statuses[0]; s++) {
    for (size_t m = 0; m < N_MINORS; m++) {
      f->ncalls = 0;
      f->ncompletes = 0;
      f->status = statuses[s];
      _Alignas(8) uint8_t buf[128];
      const GUID *guid = make_request(all_minors[m], 0, buf, sizeof buf);
      uint8_t sent[128];
      memcpy(sent, buf, sizeof sent);
      wmiev_io_status io;
      assert_status(send(f->device, all_minors[m], guid, buf, sizeof buf, &io), statuses[s]);
      assert_int_equal(io.Information, 0);
      assert_int_equal(f->ncalls, 1);
      assert_status(f->completes[0], statuses[s]);
      if (all_minors[m] != IRP_MN_QUERY_ALL_DATA) {
        assert_bytes(buf, sent, sizeof sent); /* no reply packaged */
      }
    }
  }
}

/* ---- Pending ---------------------------------------------------------------------------- */

static void test_pended_completed_by_thread(void **state) {
  fixture *f = *state;
  register_device(f->device);
  f->act = ACT_PEND_THREAD;
  _Alignas(8) uint8_t buf[128];
  int64_t before = windows_time_100ns(false);
  /* The sender waits for the other thread's completion. */
  query_all(f, buf, sizeof buf, WMIEV_STATUS_SUCCESS, 110);
  int64_t after = windows_time_100ns(false);
  assert_int_equal(pthread_join(f->thread, NULL), 0);
  f->thread_started = false;
  assert_reply(buf, golden_all_fixed, sizeof golden_all_fixed, before, after);
  assert_int_equal(f->ncompletes, 1);
  assert_status(f->completes[0], WMIEV_STATUS_SUCCESS);

  /* A pended single-instance query whose answer is "too small". */
  f->len[0] = 40;
  const GUID *guid = make_request(IRP_MN_QUERY_SINGLE_INSTANCE, 0, buf, sizeof buf);
  wmiev_io_status io;
  assert_status(send(f->device, IRP_MN_QUERY_SINGLE_INSTANCE, guid, buf, 80, &io),
                WMIEV_STATUS_SUCCESS);
  assert_int_equal(pthread_join(f->thread, NULL), 0);
  f->thread_started = false;
  assert_int_equal(io.Information, 56);
  WNODE_TOO_SMALL small;
  memcpy(&small, buf, sizeof small);
  assert_int_equal(small.SizeNeeded, 104);
}

/* ---- Broken replies --------------------------------------------------------------------- */

static void test_lying_callbacks(void **state) {
  fixture *f = *state;
  _Alignas(8) uint8_t buf[128];
  wmiev_io_status io;

  /* Lengths that claim more than the bytes used. */
  f->lie = LIE_USED_SHORT;
  query_all(f, buf, sizeof buf, WMIEV_STATUS_INVALID_BUFFER_SIZE, 0);
  expect_violation(f, WMIEV_VIOLATION_BAD_REPLY);
  assert_status(f->completes[0], WMIEV_STATUS_INVALID_BUFFER_SIZE);

  /* More used than the buffer had. */
  f->lie = LIE_USED_PAST_AVAIL;
  query_all(f, buf, sizeof buf, WMIEV_STATUS_INVALID_BUFFER_SIZE, 0);
  expect_violation(f, WMIEV_VIOLATION_BAD_REPLY);
  const GUID *guid = make_request(IRP_MN_QUERY_SINGLE_INSTANCE, 0, buf, sizeof buf);
  assert_status(send(f->device, IRP_MN_QUERY_SINGLE_INSTANCE, guid, buf, sizeof buf, &io),
                WMIEV_STATUS_INVALID_BUFFER_SIZE);
  assert_int_equal(io.Information, 0);
  expect_violation(f, WMIEV_VIOLATION_BAD_REPLY);
  f->out_size = 4;
  guid = make_request(IRP_MN_EXECUTE_METHOD, 0, buf, sizeof buf);
  assert_status(send(f->device, IRP_MN_EXECUTE_METHOD, guid, buf, sizeof buf, &io),
                WMIEV_STATUS_INVALID_BUFFER_SIZE);
  expect_violation(f, WMIEV_VIOLATION_BAD_REPLY);

  /* "Too small" for a size the buffer already has: WMI would loop. */
  f->lie = LIE_TOO_SMALL_FITS;
  query_all(f, buf, sizeof buf, WMIEV_STATUS_INVALID_BUFFER_SIZE, 0);
  expect_violation(f, WMIEV_VIOLATION_BAD_REPLY);

  /* Success with K > 0 instances and no length array to report them in. */
  f->lie = LIE_IGNORE_SIZE;
  query_all(f, buf, 80, WMIEV_STATUS_INVALID_BUFFER_SIZE, 0);
  expect_violation(f, WMIEV_VIOLATION_BAD_REPLY);

  /* Empty instances with a length array and no data space are fine. */
  f->lie = LIE_NONE;
  f->len[0] = f->len[1] = f->len[2] = 0;
  query_all(f, buf, 88, WMIEV_STATUS_SUCCESS, 88);
  WNODE_ALL_DATA reply;
  memcpy(&reply, buf, sizeof reply);
  assert_int_equal(reply.WnodeHeader.Flags, 0x91);
  assert_int_equal(reply.FixedInstanceSize, 0);
}

static void test_double_completion(void **state) {
  fixture *f = *state;
  f->act = ACT_COMPLETE_TWICE;
  f->len[1] = 12;
  _Alignas(8) uint8_t buf[96];
  const GUID *guid = make_request(IRP_MN_QUERY_SINGLE_INSTANCE, 1, buf, sizeof buf);
  wmiev_io_status io;
  int64_t before = windows_time_100ns(false);
  assert_status(send(f->device, IRP_MN_QUERY_SINGLE_INSTANCE, guid, buf, sizeof buf, &io),
                WMIEV_STATUS_SUCCESS);
  int64_t after = windows_time_100ns(false);
  expect_violation(f, WMIEV_VIOLATION_COMPLETED_TWICE);
  assert_int_equal(f->ncompletes, 2);
  assert_status(f->completes[0], WMIEV_STATUS_SUCCESS);
  assert_status(f->completes[1], WMIEV_STATUS_INVALID_DEVICE_REQUEST);
  /* The first reply stands, untouched by the second completion. */
  assert_int_equal(io.Information, 76);
  assert_reply(buf, golden_single, sizeof golden_single, before, after);

  /* Same for ALL_DATA, whose completion rewrites the buffer in place. */
  f->ncompletes = 0;
  f->len[0] = 5;
  f->len[1] = 12;
  f->len[2] = 3;
  before = windows_time_100ns(false);
  _Alignas(8) uint8_t all[160];
  query_all(f, all, sizeof all, WMIEV_STATUS_SUCCESS, 115);
  after = windows_time_100ns(false);
  expect_violation(f, WMIEV_VIOLATION_COMPLETED_TWICE);
  assert_reply(all, golden_all_variable, sizeof golden_all_variable, before, after);
}

/* ---- IRPs built by hand (no library state) -------------------------------------------- */

static wmiev_irp hand_irp(wmiev_device *device, uint8_t minor, const GUID *guid, void *buf,
                          uint32_t size) {
  wmiev_irp irp;
  memset(&irp, 0, sizeof irp);
  irp.MajorFunction = IRP_MJ_SYSTEM_CONTROL;
  irp.MinorFunction = minor;
  irp.Wmi.ProviderId = wmiev_device_irp_provider_id(device);
  irp.Wmi.DataPath = (void *)(uintptr_t)guid;
  irp.Wmi.BufferSize = size;
  irp.Wmi.Buffer = buf;
  irp.IoStatus.Status = WMIEV_STATUS_NOT_SUPPORTED;
  return irp;
}

static void test_hand_built_irp_deferred(void **state) {
  fixture *f = *state;
  /* No irp->internal: what completion needs travels in the preset header. */
  f->act = ACT_DEFER;
  _Alignas(8) uint8_t buf[128];
  make_request(IRP_MN_QUERY_ALL_DATA, 0, buf, sizeof buf);
  wmiev_irp irp = hand_irp(f->device, IRP_MN_QUERY_ALL_DATA, &guid_data, buf, sizeof buf);
  wmiev_irp_disposition disposition;
  assert_status(wmiev_wmilib_system_control(&f->ctx, f->device, &irp, &disposition),
                WMIEV_STATUS_PENDING);
  assert_int_equal(disposition, WMIEV_IRP_PROCESSED);
  assert_query_call(&f->calls[0], f, 0, 3, false, 128 - 88, 88);
  int64_t before = windows_time_100ns(false);
  f->act = ACT_COMPLETE;
  assert_status(finish_query(f, f->deferred.device, f->deferred.irp, 0, 3, f->deferred.lengths,
                             f->deferred.avail, f->deferred.buffer),
                WMIEV_STATUS_SUCCESS);
  int64_t after = windows_time_100ns(false);
  assert_status(irp.IoStatus.Status, WMIEV_STATUS_SUCCESS);
  assert_int_equal(irp.IoStatus.Information, 110);
  assert_reply(buf, golden_all_fixed, sizeof golden_all_fixed, before, after);

  /* Single instance: InstanceLengthArray points at the SizeDataBlock it fills. */
  f->len[1] = 12;
  make_request(IRP_MN_QUERY_SINGLE_INSTANCE, 1, buf, sizeof buf);
  irp = hand_irp(f->device, IRP_MN_QUERY_SINGLE_INSTANCE, &guid_data, buf, 96);
  before = windows_time_100ns(false);
  assert_status(wmiev_wmilib_system_control(&f->ctx, f->device, &irp, &disposition),
                WMIEV_STATUS_SUCCESS);
  after = windows_time_100ns(false);
  assert_int_equal(disposition, WMIEV_IRP_PROCESSED);
  assert_int_equal(irp.IoStatus.Information, 76);
  assert_reply(buf, golden_single, sizeof golden_single, before, after);

  /* Method output, likewise. */
  f->out_size = 9;
  for (uint32_t i = 0; i < 9; i++) {
    f->out[i] = (uint8_t)(0xa0 + i);
  }
  make_request(IRP_MN_EXECUTE_METHOD, 1, buf, sizeof buf);
  irp = hand_irp(f->device, IRP_MN_EXECUTE_METHOD, &guid_method, buf, sizeof buf);
  before = windows_time_100ns(false);
  assert_status(wmiev_wmilib_system_control(&f->ctx, f->device, &irp, &disposition),
                WMIEV_STATUS_SUCCESS);
  after = windows_time_100ns(false);
  assert_int_equal(irp.IoStatus.Information, 81);
  assert_reply(buf, golden_method, sizeof golden_method, before, after);
}

static void test_hand_built_irp_checks(void **state) {
  fixture *f = *state;
  _Alignas(8) uint8_t buf[168];
  wmiev_irp_disposition disposition;

  /* A buffer that is not 8-aligned cannot take the callback's data. */
  make_request(IRP_MN_QUERY_SINGLE_INSTANCE, 0, buf + 4, 128);
  wmiev_irp irp = hand_irp(f->device, IRP_MN_QUERY_SINGLE_INSTANCE, &guid_data, buf + 4, 128);
  assert_status(wmiev_wmilib_system_control(&f->ctx, f->device, &irp, &disposition),
                WMIEV_STATUS_DATATYPE_MISALIGNMENT);
  assert_int_equal(disposition, WMIEV_IRP_NOT_COMPLETED);
  assert_status(irp.IoStatus.Status, WMIEV_STATUS_DATATYPE_MISALIGNMENT);
  /* ... but REGINFO is written byte by byte and does not care. */
  irp = hand_irp(f->device, IRP_MN_REGINFO_EX, NULL, buf + 2, 160);
  assert_status(wmiev_wmilib_system_control(&f->ctx, f->device, &irp, &disposition),
                WMIEV_STATUS_SUCCESS);
  assert_int_equal(irp.IoStatus.Information, RI_TOTAL);
  assert_bytes(buf + 2, golden_reginfo_register, RI_TOTAL);

  /* Another major function is not WMI; the IRP is left alone. */
  irp = hand_irp(f->device, IRP_MN_QUERY_ALL_DATA, &guid_data, buf, 128);
  irp.MajorFunction = 0x0e;
  assert_status(wmiev_wmilib_system_control(&f->ctx, f->device, &irp, &disposition),
                WMIEV_STATUS_NOT_SUPPORTED);
  assert_int_equal(disposition, WMIEV_IRP_NOT_WMI);
  assert_status(irp.IoStatus.Status, WMIEV_STATUS_NOT_SUPPORTED);

  /* NULL arguments. */
  irp = hand_irp(f->device, IRP_MN_QUERY_ALL_DATA, &guid_data, buf, 128);
  disposition = WMIEV_IRP_PROCESSED;
  assert_status(wmiev_wmilib_system_control(NULL, f->device, &irp, &disposition),
                WMIEV_STATUS_INVALID_PARAMETER);
  assert_int_equal(disposition, WMIEV_IRP_NOT_COMPLETED);
  assert_status(irp.IoStatus.Status, WMIEV_STATUS_INVALID_PARAMETER);
  assert_status(wmiev_wmilib_system_control(&f->ctx, NULL, &irp, &disposition),
                WMIEV_STATUS_INVALID_PARAMETER);
  assert_status(wmiev_wmilib_system_control(&f->ctx, f->device, NULL, &disposition),
                WMIEV_STATUS_INVALID_PARAMETER);
  assert_status(wmiev_wmilib_system_control(&f->ctx, f->device, &irp, NULL),
                WMIEV_STATUS_INVALID_PARAMETER);
  assert_status(wmiev_wmilib_complete_request(f->device, NULL, WMIEV_STATUS_SUCCESS, 0),
                WMIEV_STATUS_INVALID_PARAMETER);

  /* WmiCompleteRequest on an IRP wmilib never saw: changes and function
   * control carry no data; a query's preset fields are missing, so the
   * status goes through with no reply packaged. */
  irp = hand_irp(f->device, IRP_MN_ENABLE_EVENTS, &guid_event, NULL, 0);
  assert_status(wmiev_wmilib_complete_request(f->device, &irp, WMIEV_STATUS_SUCCESS, 0),
                WMIEV_STATUS_SUCCESS);
  assert_int_equal(irp.IoStatus.Information, 0);
  irp = hand_irp(f->device, IRP_MN_QUERY_ALL_DATA, &guid_data, buf, 40);
  assert_status(wmiev_wmilib_complete_request(f->device, &irp, WMIEV_STATUS_BUFFER_TOO_SMALL, 200),
                WMIEV_STATUS_BUFFER_TOO_SMALL);
  assert_int_equal(irp.IoStatus.Information, 0);
  assert_int_equal(f->ncalls, 0);
}

/* ---- Provider object -------------------------------------------------------------------- */

static void test_provider_lifecycle(void **state) {
  fixture *f = *state;
  wmiev_provider_options options;
  memset(&options, 0, sizeof options);
  options.context = f->ctx;
  wmiev_provider *provider = (wmiev_provider *)&options;
  assert_status(wmiev_provider_create(NULL, &options, &provider), WMIEV_STATUS_INVALID_PARAMETER);
  assert_null(provider);
  assert_status(wmiev_provider_create(f->registry, NULL, &provider),
                WMIEV_STATUS_INVALID_PARAMETER);
  assert_status(wmiev_provider_create(f->registry, &options, NULL), WMIEV_STATUS_INVALID_PARAMETER);
  options.context.callbacks.query_reginfo = NULL;
  assert_status(wmiev_provider_create(f->registry, &options, &provider),
                WMIEV_STATUS_INVALID_PARAMETER);
  options.context.callbacks = full_callbacks;
  options.context.callbacks.query_data_block = NULL;
  assert_status(wmiev_provider_create(f->registry, &options, &provider),
                WMIEV_STATUS_INVALID_PARAMETER);
  options.context.callbacks = full_callbacks;
  options.context.guid_list = NULL;
  assert_status(wmiev_provider_create(f->registry, &options, &provider),
                WMIEV_STATUS_INVALID_PARAMETER);
  assert_status(wmiev_provider_destroy(NULL), WMIEV_STATUS_INVALID_PARAMETER);
  assert_null(wmiev_provider_device(NULL));
  wmiev_provider_set_guid_list(NULL, f->guids, 1);

  /* Out of memory at each allocation of create: nothing leaks. */
  options.context = f->ctx;
  options.name = "oom";
  for (uint64_t n = 1;; n++) {
    debug_alloc_fail_nth(f->alloc, n, false);
    wmiev_status status = wmiev_provider_create(f->registry, &options, &provider);
    bool hit = debug_alloc_failure_hit(f->alloc);
    debug_alloc_fail_nth(f->alloc, 0, false);
    if (!hit) {
      assert_status(status, WMIEV_STATUS_SUCCESS);
      assert_status(wmiev_provider_destroy(provider), WMIEV_STATUS_SUCCESS);
      break;
    }
    assert_status(status, WMIEV_STATUS_INSUFFICIENT_RESOURCES);
    assert_null(provider);
  }

  /* Destroy deregisters; a provider with a device on top is refused and stays usable. */
  register_device(f->device);
  wmiev_device *upper = add_device(f, NULL, f->device, NULL, "filter");
  assert_status(wmiev_provider_destroy(f->provider), WMIEV_STATUS_INVALID_DEVICE_REQUEST);
  _Alignas(8) uint8_t buf[128];
  const GUID *guid = make_request(IRP_MN_QUERY_SINGLE_INSTANCE, 0, buf, sizeof buf);
  wmiev_io_status io;
  /* Through the filter on top (it forwards everything). */
  assert_status(send(f->device, IRP_MN_QUERY_SINGLE_INSTANCE, guid, buf, sizeof buf, &io),
                WMIEV_STATUS_SUCCESS);
  assert_status(wmiev_device_destroy(upper), WMIEV_STATUS_SUCCESS);
  f->ncleanup--; /* the filter is gone already */
  assert_int_equal(wmiev_registry_blocks(f->registry, NULL, NULL, 0), 3);
  assert_status(wmiev_provider_destroy(f->provider), WMIEV_STATUS_SUCCESS);
  f->cleanup[0].provider = NULL;
  f->cleanup[0].device = NULL;
  f->ncleanup = 0;
  assert_int_equal(wmiev_registry_blocks(f->registry, NULL, NULL, 0), 0);
  wmiev_registry_stats stats;
  wmiev_registry_get_stats(f->registry, &stats);
  assert_int_equal(stats.deregistrations, 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
      T(test_reginfo_ex_register_golden),
      T(test_reginfo_plain_update_golden),
      T(test_reginfo_strings_absent),
      T(test_reginfo_too_small),
      T(test_reginfo_growth_registers),
      T(test_reginfo_sent_as_ex),
      T(test_reginfo_late_guid_list),
      T(test_reginfo_update_guids_remove),
      T(test_reginfo_pdo),
      T(test_reginfo_callback_failures),
      T(test_query_all_data_fixed),
      T(test_query_all_data_variable),
      T(test_query_all_data_no_instances),
      T(test_query_all_data_too_small),
      T(test_query_all_data_grow_and_retry),
      T(test_query_single_instance),
      T(test_change_single_instance),
      T(test_change_single_item),
      T(test_execute_method_in_place),
      T(test_execute_method_too_small),
      T(test_function_control),
      T(test_missing_callback_defaults),
      T(test_dispositions),
      T(test_forward_through_provider),
      T(test_unknown_guid),
      T(test_bad_instance),
      T(test_dynamic_name_request),
      T(test_malformed_request),
      T(test_callback_errors_pass_through),
      T(test_pended_completed_by_thread),
      T(test_lying_callbacks),
      T(test_double_completion),
      T(test_hand_built_irp_deferred),
      T(test_hand_built_irp_checks),
      T(test_provider_lifecycle),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
