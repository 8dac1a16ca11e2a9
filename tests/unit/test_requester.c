/*
 * The requester (lib/core/requester.c) against hand-written providers.
 *
 * Every provider here is a device whose dispatch routine is written out in
 * this file: it answers IRP_MN_REGINFO_EX with WMIREGINFO bytes laid out
 * with offsetof(WMIREGINFOW, WmiRegGuid) and sizeof(WMIREGGUIDW) (so the
 * same code runs on x86_64 and i386), and answers data IRPs with exact bytes.
 * It records every data IRP it sees (minor, DataPath GUID, BufferSize and
 * the buffer's bytes on arrival) and appends to one global log, so tests can
 * check the request WNODEs byte for byte and the order in which providers
 * were asked. The registry runs on the debug allocator; every test ends with
 * no leaks and no allocator errors.
 */
/* cmocka.h needs these first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wmiev/wmiev.h>

#include "debug_alloc.h"
#include "status_assert.h"

/* ---- bytes ---------------------------------------------------------------------- */

#define U32(v)                                                                                     \
  (uint8_t)((v)&0xffu), (uint8_t)(((v) >> 8) & 0xffu), (uint8_t)(((v) >> 16) & 0xffu),             \
      (uint8_t)(((v) >> 24) & 0xffu)
#define Z8 0, 0, 0, 0, 0, 0, 0, 0

/* {01020304-0506-0708-090A-0B0C0D0E0F10} as it lies in memory. */
static const GUID guid_data = {
    0x01020304, 0x0506, 0x0708, {0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10}};
#define GUID_DATA_BYTES                                                                            \
  0x04, 0x03, 0x02, 0x01, 0x06, 0x05, 0x08, 0x07, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10
static const GUID guid_dyn = {
    0xa1a2a3a4, 0xb1b2, 0xc1c2, {0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8}};
#define GUID_DYN_BYTES                                                                             \
  0xa4, 0xa3, 0xa2, 0xa1, 0xb2, 0xb1, 0xc2, 0xc1, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8
static const GUID guid_pdo = {
    0x5a5a5a5a, 0x1111, 0x2222, {0x33, 0x33, 0x44, 0x44, 0x55, 0x55, 0x66, 0x66}};
static const GUID guid_nobody = {
    0xdeadbeef, 0x0000, 0x0000, {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01}};

static void put32(uint8_t *p, size_t at, uint32_t v) { memcpy(p + at, &v, sizeof v); }

static uint32_t get32(const uint8_t *p, size_t at) {
  uint32_t v;
  memcpy(&v, p + at, sizeof v);
  return v;
}

/* clang-format off */
/* ---- golden WNODEs ----------------------------------------------------------------- */

/* QUERY_SINGLE_INSTANCE for static instance 1 of guid_data, as WMI sends it. */
static const uint8_t golden_query_static[64] = {
    U32(64),         U32(0),    /* BufferSize, ProviderId */
    U32(0),          U32(0),    /* Version, Linkage */
    Z8,                         /* TimeStamp */
    GUID_DATA_BYTES,            /* Guid */
    U32(0),          U32(0x82), /* ClientContext, Flags = SINGLE_INSTANCE | STATIC_INSTANCE_NAMES */
    U32(0),          U32(1),    /* OffsetInstanceName, InstanceIndex */
    U32(64),         U32(0),    /* DataBlockOffset (preset), SizeDataBlock */
};

/* QUERY_SINGLE_INSTANCE for the dynamic name "dyn" of guid_dyn. */
static const uint8_t golden_query_dynamic[72] = {
    U32(72), U32(0), U32(0), U32(0), Z8, GUID_DYN_BYTES,
    U32(0),  U32(0x02),                  /* Flags = SINGLE_INSTANCE */
    U32(64), U32(0),                     /* OffsetInstanceName, InstanceIndex */
    U32(72), U32(0),                     /* DataBlockOffset = ALIGN8(66 + 6), SizeDataBlock */
    0x06,    0x00,    'd', 0, 'y', 0, 'n', 0, /* counted name: 6 bytes */
};

/* EXECUTE_METHOD 7 on static instance 0 of guid_data with input "abc". */
static const uint8_t golden_method[75] = {
    U32(75), U32(0), U32(0), U32(0), Z8, GUID_DATA_BYTES,
    U32(0),  U32(0x8080),           /* Flags = METHOD_ITEM | STATIC_INSTANCE_NAMES */
    U32(0),  U32(0),                /* OffsetInstanceName, InstanceIndex */
    U32(7),  U32(72),  U32(3),      /* MethodId, DataBlockOffset, SizeDataBlock */
    0,       0,       0,   0,       /* padding 68..71 */
    'a',     'b',     'c',
};

/* CHANGE_SINGLE_INSTANCE of static instance 1 of guid_data to "xyz". */
static const uint8_t golden_change_instance[67] = {
    U32(67), U32(0), U32(0), U32(0), Z8, GUID_DATA_BYTES,
    U32(0),  U32(0x82), U32(0), U32(1), U32(64), U32(3), 'x', 'y', 'z',
};

/* CHANGE_SINGLE_ITEM 5 of static instance 0 of guid_data ("b-one", provider B) to "QR". */
static const uint8_t golden_change_item[74] = {
    U32(74), U32(0), U32(0), U32(0), Z8, GUID_DATA_BYTES,
    U32(0),  U32(0x84),          /* Flags = SINGLE_ITEM | STATIC_INSTANCE_NAMES */
    U32(0),  U32(0),             /* OffsetInstanceName, InstanceIndex */
    U32(5),  U32(72), U32(2),    /* ItemId, DataBlockOffset, SizeDataItem */
    0,       0,       0,  0,  'Q', 'R',
};

/* The ALL_DATA request header for a static-name block of guid_data in a 1024-byte buffer. */
static const uint8_t golden_all_data_request[64] = {
    U32(1024), U32(0), U32(0), U32(0), Z8, GUID_DATA_BYTES,
    U32(0),    U32(0x81),        /* Flags = ALL_DATA | STATIC_INSTANCE_NAMES */
    U32(64),   U32(0), U32(0), U32(0), /* DataBlockOffset preset, rest zero */
};

/* Provider A's ALL_DATA reply: 2 instances of 4 bytes, fixed size. ProviderId and
 * Linkage hold garbage the requester must overwrite. */
static const uint8_t reply_a[76] = {
    U32(76), U32(0x11111111), U32(0), U32(0xdeadbeef), Z8, GUID_DATA_BYTES,
    U32(0),  U32(0x91),       /* ALL_DATA | FIXED_INSTANCE_SIZE | STATIC_INSTANCE_NAMES */
    U32(64), U32(2), U32(0), U32(4), /* DataBlockOffset, InstanceCount, names, FixedInstanceSize */
    'a',     '0',     'a',    '0',   0, 0, 0, 0, 'a', '1', 'a', '1',
};

/* Provider B's ALL_DATA reply: instances of 3 and 5 bytes, offset/length array. */
static const uint8_t reply_b[93] = {
    U32(93), U32(0x22222222), U32(0), U32(0x0badf00d), Z8, GUID_DATA_BYTES,
    U32(0),  U32(0x81),                /* ALL_DATA | STATIC_INSTANCE_NAMES */
    U32(80), U32(2),  U32(0),          /* DataBlockOffset, InstanceCount, names */
    U32(80), U32(3),  U32(88), U32(5), /* OffsetInstanceDataAndLength[2] */
    0,       0,       0,       0,      /* padding 76..79 */
    'b',     '0',     '0',     0,   0, 0, 0, 0, 'b', '1', '1', '1', '1',
};

/* clang-format on */

/* ---- providers ---------------------------------------------------------------------- */

#define MAX_PROVIDERS 6
#define MAX_BLOCKS 2
#define MAX_SEEN 24
#define REC_BYTES 160

typedef struct block_spec {
  const GUID *guid;
  uint32_t flags;          /* WMIREG_FLAG_* */
  uint32_t count;          /* static instances */
  const char *base;        /* INSTANCE_BASENAME */
  const char *const *list; /* INSTANCE_LIST: `count` names */
  wmiev_device *pdo;       /* INSTANCE_PDO */
} block_spec;

typedef struct seen_irp {
  uint8_t minor;
  GUID data_path;
  uint32_t buffer_size;
  uint8_t bytes[REC_BYTES]; /* the buffer as it arrived (first REC_BYTES bytes) */
} seen_irp;

/* Misbehaviours, for the malformed-reply tests. */
typedef enum mode {
  MODE_NORMAL = 0,
  MODE_INFO_PAST_BUFFER, /* Information = BufferSize + 1 */
  MODE_WRONG_KIND,       /* a single-instance query answered with a WNODE_ALL_DATA */
  MODE_SIZE_PAST_INFO,   /* WnodeHeader.BufferSize larger than Information */
  MODE_TOO_SMALL_SAME,   /* WNODE_TOO_SMALL asking for the size it was given */
  MODE_TOO_SMALL_HUGE,   /* WNODE_TOO_SMALL asking for 64 MiB + 1 */
  MODE_TOO_SMALL_CREEP,  /* WNODE_TOO_SMALL asking 8 bytes more, forever */
  MODE_TOO_SMALL_SHORT,  /* WNODE_TOO_SMALL with Information 20 */
  MODE_STATUS_TOO_SMALL  /* fails with STATUS_BUFFER_TOO_SMALL */
} mode;

typedef struct provider {
  const char *name;
  wmiev_device *device;
  block_spec blocks[MAX_BLOCKS];
  size_t block_count;
  /* Behaviour. */
  mode mode;
  wmiev_status status;  /* non-zero: data IRPs (after the name check) fail with it */
  const uint8_t *reply; /* QUERY_ALL_DATA reply */
  uint32_t reply_size;
  const char *data; /* QUERY_SINGLE_INSTANCE data / EXECUTE_METHOD output */
  uint32_t data_size;
  const char *accept; /* the one dynamic name it has (NULL: none) */
  uint32_t need;      /* queries: answer WNODE_TOO_SMALL while the buffer is below this */
  /* What it saw. */
  seen_irp seen[MAX_SEEN];
  size_t seen_count;
} provider;

typedef struct log_entry {
  const provider *p;
  uint8_t minor;
} log_entry;

static log_entry order_log[64];
static size_t order_count;

typedef struct fixture {
  debug_alloc *alloc;
  wmiev_registry *reg;
  provider providers[MAX_PROVIDERS];
  size_t count;
  wmiev_device *extra[4]; /* devices that are not providers (PDOs, plain devices) */
  size_t extra_count;
  uint64_t violations;
  char last_violation[256];
} fixture;

static wmiev_status complete(wmiev_irp *irp, wmiev_status status, uintptr_t information) {
  return wmiev_irp_complete(irp, status, information);
}

/* The WNODE_TOO_SMALL Microsoft's classpnp sample writes. */
static wmiev_status too_small(wmiev_irp *irp, uint32_t needed, uintptr_t information) {
  uint8_t *b = irp->Wmi.Buffer;
  memset(b, 0, sizeof(WNODE_TOO_SMALL));
  put32(b, 0, (uint32_t)sizeof(WNODE_TOO_SMALL));
  put32(b, 44, WNODE_FLAG_TOO_SMALL);
  put32(b, 48, needed);
  return complete(irp, WMIEV_STATUS_SUCCESS, information);
}

static size_t write_counted_ascii(uint8_t *at, const char *s) {
  size_t n = strlen(s);
  uint16_t bytes = (uint16_t)(2 * n);
  memcpy(at, &bytes, 2);
  for (size_t i = 0; i < n; i++) {
    at[2 + 2 * i] = (uint8_t)s[i];
    at[3 + 2 * i] = 0;
  }
  return 2 + 2 * n;
}

static wmiev_status answer_reginfo(provider *p, wmiev_irp *irp) {
  const uint32_t hdr = (uint32_t)offsetof(WMIREGINFOW, WmiRegGuid);
  const uint32_t ent = (uint32_t)sizeof(WMIREGGUIDW);
  uint8_t tmp[1024];
  memset(tmp, 0, sizeof tmp);
  uint32_t at = hdr + ent * (uint32_t)p->block_count;
  for (size_t i = 0; i < p->block_count; i++) {
    const block_spec *b = &p->blocks[i];
    uint32_t e = hdr + ent * (uint32_t)i;
    memcpy(tmp + e + offsetof(WMIREGGUIDW, Guid), b->guid, sizeof(GUID));
    put32(tmp, e + offsetof(WMIREGGUIDW, Flags), b->flags);
    put32(tmp, e + offsetof(WMIREGGUIDW, InstanceCount), b->count);
    if ((b->flags & WMIREG_FLAG_INSTANCE_BASENAME) != 0) {
      put32(tmp, e + offsetof(WMIREGGUIDW, BaseNameOffset), at);
      at += (uint32_t)write_counted_ascii(tmp + at, b->base);
    } else if ((b->flags & WMIREG_FLAG_INSTANCE_LIST) != 0) {
      put32(tmp, e + offsetof(WMIREGGUIDW, InstanceNameList), at);
      for (uint32_t k = 0; k < b->count; k++) {
        at += (uint32_t)write_counted_ascii(tmp + at, b->list[k]);
      }
    } else if ((b->flags & WMIREG_FLAG_INSTANCE_PDO) != 0) {
      uintptr_t pdo = (uintptr_t)b->pdo;
      memcpy(tmp + e + offsetof(WMIREGGUIDW, Pdo), &pdo, sizeof pdo);
    }
  }
  put32(tmp, offsetof(WMIREGINFOW, BufferSize), at);
  put32(tmp, offsetof(WMIREGINFOW, GuidCount), (uint32_t)p->block_count);
  if (irp->Wmi.BufferSize < at) {
    put32(irp->Wmi.Buffer, 0, at);
    return complete(irp, WMIEV_STATUS_BUFFER_TOO_SMALL, sizeof(uint32_t));
  }
  memcpy(irp->Wmi.Buffer, tmp, at);
  return complete(irp, WMIEV_STATUS_SUCCESS, at);
}

static void record(provider *p, const wmiev_irp *irp) {
  if (order_count < sizeof order_log / sizeof order_log[0]) {
    order_log[order_count].p = p;
    order_log[order_count].minor = irp->MinorFunction;
    order_count++;
  }
  if (p->seen_count == MAX_SEEN) {
    return;
  }
  seen_irp *s = &p->seen[p->seen_count++];
  memset(s, 0, sizeof *s);
  s->minor = irp->MinorFunction;
  if (irp->Wmi.DataPath != NULL) {
    memcpy(&s->data_path, irp->Wmi.DataPath, sizeof(GUID));
  }
  s->buffer_size = irp->Wmi.BufferSize;
  uint32_t n = irp->Wmi.BufferSize < REC_BYTES ? irp->Wmi.BufferSize : REC_BYTES;
  if (n != 0) {
    memcpy(s->bytes, irp->Wmi.Buffer, n);
  }
}

/* Does the request name the instance this provider has? Static: any index
 * (the requester checks ranges); dynamic: exactly `accept`. */
static bool has_instance(const provider *p, const uint8_t *b) {
  uint32_t flags = get32(b, 44);
  if ((flags & WNODE_FLAG_STATIC_INSTANCE_NAMES) != 0) {
    return true;
  }
  if (p->accept == NULL) {
    return false;
  }
  uint32_t off = get32(b, 48);
  uint16_t bytes;
  memcpy(&bytes, b + off, 2);
  size_t n = strlen(p->accept);
  if (bytes != 2 * n) {
    return false;
  }
  for (size_t i = 0; i < n; i++) {
    if (b[off + 2 + 2 * i] != (uint8_t)p->accept[i] || b[off + 3 + 2 * i] != 0) {
      return false;
    }
  }
  return true;
}

static wmiev_status answer_misbehaving(provider *p, wmiev_irp *irp) {
  uint8_t *b = irp->Wmi.Buffer;
  uint32_t size = irp->Wmi.BufferSize;
  switch (p->mode) {
  case MODE_INFO_PAST_BUFFER:
    put32(b, 0, size);
    return complete(irp, WMIEV_STATUS_SUCCESS, (uintptr_t)size + 1u);
  case MODE_WRONG_KIND:
    memcpy(b, reply_a, sizeof reply_a);
    return complete(irp, WMIEV_STATUS_SUCCESS, sizeof reply_a);
  case MODE_SIZE_PAST_INFO:
    put32(b, 0, 80);
    put32(b, 60, 16);
    return complete(irp, WMIEV_STATUS_SUCCESS, 72);
  case MODE_TOO_SMALL_SAME:
    return too_small(irp, size, sizeof(WNODE_TOO_SMALL));
  case MODE_TOO_SMALL_HUGE:
    return too_small(irp, 64u * 1024u * 1024u + 1u, sizeof(WNODE_TOO_SMALL));
  case MODE_TOO_SMALL_CREEP:
    return too_small(irp, size + 8u, sizeof(WNODE_TOO_SMALL));
  case MODE_TOO_SMALL_SHORT:
    return too_small(irp, size * 2u, 20);
  case MODE_STATUS_TOO_SMALL:
  default:
    return complete(irp, WMIEV_STATUS_BUFFER_TOO_SMALL, 0);
  }
}

/* A well-behaved provider, with the knobs of `provider`. */
static wmiev_status answer(provider *p, wmiev_irp *irp) {
  uint8_t *b = irp->Wmi.Buffer;
  uint32_t size = irp->Wmi.BufferSize;
  uint8_t minor = irp->MinorFunction;
  if (minor >= IRP_MN_ENABLE_EVENTS && minor <= IRP_MN_DISABLE_COLLECTION) {
    return complete(irp, p->status, 0);
  }
  if (minor != IRP_MN_QUERY_ALL_DATA && !has_instance(p, b)) {
    return complete(irp, WMIEV_STATUS_WMI_INSTANCE_NOT_FOUND, 0);
  }
  if (p->status != WMIEV_STATUS_SUCCESS) {
    return complete(irp, p->status, 0);
  }
  if (p->mode != MODE_NORMAL) {
    return answer_misbehaving(p, irp);
  }
  switch (minor) {
  case IRP_MN_QUERY_ALL_DATA: {
    uint32_t need = p->reply_size > p->need ? p->reply_size : p->need;
    if (size < need) {
      return too_small(irp, need, sizeof(WNODE_TOO_SMALL));
    }
    memcpy(b, p->reply, p->reply_size);
    return complete(irp, WMIEV_STATUS_SUCCESS, p->reply_size);
  }
  case IRP_MN_QUERY_SINGLE_INSTANCE:
  case IRP_MN_EXECUTE_METHOD: {
    /* Data at the preset DataBlockOffset, as WmiCompleteRequest does (§4.5). */
    bool method = minor == IRP_MN_EXECUTE_METHOD;
    size_t dbo_at = method ? offsetof(WNODE_METHOD_ITEM, DataBlockOffset)
                           : offsetof(WNODE_SINGLE_INSTANCE, DataBlockOffset);
    size_t size_at = method ? offsetof(WNODE_METHOD_ITEM, SizeDataBlock)
                            : offsetof(WNODE_SINGLE_INSTANCE, SizeDataBlock);
    uint32_t dbo = get32(b, dbo_at);
    uint32_t need = dbo + p->data_size;
    uint32_t floor = method ? 0 : p->need; /* `need` forces growth of queries only */
    if (size < need || size < floor) {
      return too_small(irp, need > floor ? need : floor, sizeof(WNODE_TOO_SMALL));
    }
    memcpy(b + dbo, p->data, p->data_size);
    put32(b, size_at, p->data_size);
    put32(b, 0, need);
    return complete(irp, WMIEV_STATUS_SUCCESS, need);
  }
  default: /* CHANGE_*: no output */
    return complete(irp, WMIEV_STATUS_SUCCESS, 0);
  }
}

static wmiev_status dispatch(wmiev_device *device, wmiev_irp *irp, void *payload) {
  provider *p = payload;
  if (irp->Wmi.ProviderId != wmiev_device_irp_provider_id(device)) {
    return wmiev_irp_forward(device, irp);
  }
  if (irp->MinorFunction == IRP_MN_REGINFO_EX || irp->MinorFunction == IRP_MN_REGINFO) {
    return answer_reginfo(p, irp);
  }
  record(p, irp);
  return answer(p, irp);
}

static void on_violation(wmiev_violation rule, const char *message, void *ctx) {
  fixture *fx = ctx;
  (void)rule;
  fx->violations++;
  (void)snprintf(fx->last_violation, sizeof fx->last_violation, "%s", message);
}

static int setup(void **state) {
  fixture *fx = calloc(1, sizeof *fx);
  assert_non_null(fx);
  fx->alloc = debug_alloc_create();
  wmiev_registry_options options = {0};
  options.allocator = debug_alloc_allocator(fx->alloc);
  options.on_violation = on_violation;
  options.violation_ctx = fx;
  assert_status(wmiev_registry_create(&options, &fx->reg), WMIEV_STATUS_SUCCESS);
  order_count = 0;
  *state = fx;
  return 0;
}

static int teardown(void **state) {
  fixture *fx = *state;
  for (size_t i = fx->count; i-- > 0;) {
    assert_status(wmiev_device_destroy(fx->providers[i].device), WMIEV_STATUS_SUCCESS);
  }
  for (size_t i = fx->extra_count; i-- > 0;) {
    assert_status(wmiev_device_destroy(fx->extra[i]), WMIEV_STATUS_SUCCESS);
  }
  wmiev_registry_destroy(fx->reg);
  uint64_t leaks = debug_alloc_report_leaks(fx->alloc);
  uint64_t errors = debug_alloc_errors(fx->alloc);
  debug_alloc_destroy(fx->alloc);
  free(fx);
  assert_int_equal(leaks, 0);
  assert_int_equal(errors, 0);
  return 0;
}

/* Creates and registers a provider with the given blocks. */
static provider *add_provider(fixture *fx, const char *name, const block_spec *blocks, size_t n) {
  assert_true(fx->count < MAX_PROVIDERS && n <= MAX_BLOCKS);
  provider *p = &fx->providers[fx->count];
  memset(p, 0, sizeof *p);
  p->name = name;
  memcpy(p->blocks, blocks, n * sizeof *blocks);
  p->block_count = n;
  wmiev_device_options options = {.dispatch = dispatch, .payload = p, .name = name};
  assert_status(wmiev_device_create(fx->reg, &options, &p->device), WMIEV_STATUS_SUCCESS);
  fx->count++;
  wmiev_diag diag;
  wmiev_status status = wmiev_registration_control(p->device, WMIREG_ACTION_REGISTER, &diag);
  if (status != WMIEV_STATUS_SUCCESS) {
    fail_msg("registering %s: %s (%s)", name, wmiev_status_name(status), diag.message);
  }
  return p;
}

static wmiev_device *add_plain_device(fixture *fx, const char *name, const char *instance_id) {
  assert_true(fx->extra_count < 4);
  wmiev_device_options options = {.name = name, .instance_id = instance_id};
  wmiev_device *device = NULL;
  assert_status(wmiev_device_create(fx->reg, &options, &device), WMIEV_STATUS_SUCCESS);
  fx->extra[fx->extra_count++] = device;
  return device;
}

static const char *const b_names[] = {"b-one", "b-two"};

/* A: BASENAME "A" x2 on guid_data; B: LIST "b-one", "b-two" on guid_data. */
static provider *add_a(fixture *fx) {
  block_spec spec = {&guid_data, WMIREG_FLAG_INSTANCE_BASENAME, 2, "A", NULL, NULL};
  provider *p = add_provider(fx, "prov-a", &spec, 1);
  p->reply = reply_a;
  p->reply_size = sizeof reply_a;
  p->data = "DATA";
  p->data_size = 4;
  return p;
}

static provider *add_b(fixture *fx) {
  block_spec spec = {&guid_data, WMIREG_FLAG_INSTANCE_LIST, 2, NULL, b_names, NULL};
  provider *p = add_provider(fx, "prov-b", &spec, 1);
  p->reply = reply_b;
  p->reply_size = sizeof reply_b;
  p->data = "bbbbbb";
  p->data_size = 6;
  return p;
}

/* A dynamic-name provider of guid_dyn. */
static provider *add_dynamic(fixture *fx, const char *name, const char *accept) {
  block_spec spec = {&guid_dyn, 0, 0, NULL, NULL, NULL};
  provider *p = add_provider(fx, name, &spec, 1);
  p->accept = accept;
  p->data = "dynamic!";
  p->data_size = 8;
  return p;
}

/* An instance name in UTF-16 and the reference that points at it. */
typedef struct iname {
  uint16_t units[80];
  wmiev_instance_ref ref;
} iname;

static const wmiev_instance_ref *named(iname *n, const char *s) {
  size_t len = strlen(s);
  assert_true(len < 80);
  for (size_t i = 0; i < len; i++) {
    n->units[i] = (uint16_t)(unsigned char)s[i];
  }
  memset(&n->ref, 0, sizeof n->ref);
  n->ref.name = n->units;
  n->ref.name_units = len;
  return &n->ref;
}

static wmiev_instance_ref by_id(uint32_t provider_id, uint32_t index) {
  wmiev_instance_ref ref = {NULL, 0, provider_id, index};
  return ref;
}

static size_t seen_total(const fixture *fx) {
  size_t n = 0;
  for (size_t i = 0; i < fx->count; i++) {
    n += fx->providers[i].seen_count;
  }
  return n;
}

/* A diag the call must not touch on success. */
static void poison_diag(wmiev_diag *diag) {
  memset(diag, 0, sizeof *diag);
  diag->status = 0x12345678;
}

static void assert_diag_untouched(const wmiev_diag *diag) {
  assert_int_equal(diag->status, 0x12345678);
  assert_null(diag->field);
}

static void assert_diag(const wmiev_diag *diag, wmiev_status status, const char *mentions) {
  assert_status(diag->status, status);
  assert_non_null(diag->field);
  if (mentions != NULL && strstr(diag->message, mentions) == NULL) {
    fail_msg("diag message '%s' does not mention '%s'", diag->message, mentions);
  }
}

/* ---- tests: arguments and missing providers ------------------------------------------- */

static void no_provider_is_guid_not_found(void **state) {
  fixture *fx = *state;
  add_a(fx);
  wmiev_diag diag;
  uint8_t buf[256];
  uint32_t size = sizeof buf;
  assert_status(wmiev_query_all_data(fx->reg, &guid_nobody, buf, &size, &diag),
                WMIEV_STATUS_WMI_GUID_NOT_FOUND);
  assert_int_equal(size, sizeof buf);
  assert_diag(&diag, WMIEV_STATUS_WMI_GUID_NOT_FOUND, "{DEADBEEF-");
  iname n;
  assert_status(
      wmiev_query_single_instance(fx->reg, &guid_nobody, named(&n, "A0"), buf, &size, &diag),
      WMIEV_STATUS_WMI_GUID_NOT_FOUND);
  assert_status(wmiev_set_single_instance(fx->reg, &guid_nobody, named(&n, "A0"), "x", 1, &diag),
                WMIEV_STATUS_WMI_GUID_NOT_FOUND);
  assert_status(wmiev_set_single_item(fx->reg, &guid_nobody, named(&n, "A0"), 1, "x", 1, &diag),
                WMIEV_STATUS_WMI_GUID_NOT_FOUND);
  uint32_t out_size = 0;
  assert_status(wmiev_execute_method(fx->reg, &guid_nobody, named(&n, "A0"), 1, NULL, 0, NULL,
                                     &out_size, &diag),
                WMIEV_STATUS_WMI_GUID_NOT_FOUND);
  assert_int_equal(seen_total(fx), 0);
}

static void arguments_are_checked(void **state) {
  fixture *fx = *state;
  provider *a = add_a(fx);
  wmiev_diag diag;
  uint8_t buf[256];
  uint32_t size = sizeof buf;
  const wmiev_status bad = WMIEV_STATUS_INVALID_PARAMETER;
  assert_status(wmiev_query_all_data(NULL, &guid_data, buf, &size, &diag), bad);
  assert_status(wmiev_query_all_data(fx->reg, NULL, buf, &size, &diag), bad);
  assert_status(wmiev_query_all_data(fx->reg, &guid_data, buf, NULL, &diag), bad);
  assert_status(wmiev_query_all_data(fx->reg, &guid_data, NULL, &size, &diag), bad);
  assert_diag(&diag, bad, NULL);

  wmiev_instance_ref units_without_name = {NULL, 2, wmiev_device_provider_id(a->device), 0};
  wmiev_instance_ref nothing = by_id(0, 0);
  const wmiev_instance_ref *refs[] = {NULL, &units_without_name, &nothing};
  for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++) {
    size = sizeof buf;
    assert_status(wmiev_query_single_instance(fx->reg, &guid_data, refs[i], buf, &size, &diag),
                  bad);
    assert_int_equal(size, sizeof buf);
    assert_status(wmiev_set_single_instance(fx->reg, &guid_data, refs[i], "x", 1, &diag), bad);
    assert_status(wmiev_set_single_item(fx->reg, &guid_data, refs[i], 1, "x", 1, &diag), bad);
    uint32_t out_size = 0;
    assert_status(
        wmiev_execute_method(fx->reg, &guid_data, refs[i], 1, NULL, 0, NULL, &out_size, &diag),
        bad);
  }
  wmiev_instance_ref a0 = by_id(wmiev_device_provider_id(a->device), 0);
  assert_status(wmiev_query_single_instance(fx->reg, &guid_data, &a0, NULL, &size, &diag), bad);
  assert_status(wmiev_query_single_instance(fx->reg, &guid_data, &a0, buf, NULL, &diag), bad);
  assert_status(wmiev_set_single_instance(fx->reg, &guid_data, &a0, NULL, 3, &diag), bad);
  assert_status(wmiev_set_single_item(fx->reg, &guid_data, &a0, 1, NULL, 3, &diag), bad);
  uint32_t out_size = 4;
  assert_status(wmiev_execute_method(fx->reg, &guid_data, &a0, 1, NULL, 0, NULL, &out_size, &diag),
                bad);
  assert_status(wmiev_execute_method(fx->reg, &guid_data, &a0, 1, NULL, 3, buf, &out_size, &diag),
                bad);
  assert_status(wmiev_execute_method(fx->reg, &guid_data, &a0, 1, NULL, 0, buf, NULL, &diag), bad);
  assert_status(wmiev_send_function_control(NULL, &guid_data, IRP_MN_ENABLE_EVENTS, &diag), bad);
  assert_status(wmiev_send_function_control(a->device, NULL, IRP_MN_ENABLE_EVENTS, &diag), bad);
  assert_int_equal(seen_total(fx), 0);
}

/* ---- tests: QUERY_SINGLE_INSTANCE ------------------------------------------------------ */

static void query_static_name_request_is_exact(void **state) {
  fixture *fx = *state;
  provider *a = add_a(fx);
  provider *b = add_b(fx);
  iname n;
  uint8_t buf[256];
  memset(buf, 0xcc, sizeof buf);
  uint32_t size = sizeof buf;
  wmiev_diag diag;
  poison_diag(&diag);
  assert_status(
      wmiev_query_single_instance(fx->reg, &guid_data, named(&n, "A1"), buf, &size, &diag),
      WMIEV_STATUS_SUCCESS);
  assert_diag_untouched(&diag);
  /* Only A was asked, once, with the golden request at the start of a 1024-byte buffer. */
  assert_int_equal(a->seen_count, 1);
  assert_int_equal(b->seen_count, 0);
  const seen_irp *s = &a->seen[0];
  assert_int_equal(s->minor, IRP_MN_QUERY_SINGLE_INSTANCE);
  assert_guid_equal(&s->data_path, &guid_data);
  assert_int_equal(s->buffer_size, 1024);
  assert_memory_equal(s->bytes, golden_query_static, sizeof golden_query_static);
  for (size_t i = sizeof golden_query_static; i < REC_BYTES; i++) {
    assert_int_equal(s->bytes[i], 0);
  }
  /* The reply: the request with the data filled in, ProviderId stamped. */
  uint8_t expected[68];
  memcpy(expected, golden_query_static, 64);
  put32(expected, 0, 68);
  put32(expected, 4, wmiev_device_provider_id(a->device));
  put32(expected, 60, 4);
  memcpy(expected + 64, "DATA", 4);
  assert_int_equal(size, sizeof expected);
  assert_memory_equal(buf, expected, sizeof expected);
  assert_int_equal(buf[68], 0xcc); /* nothing past the reply */

  /* A static name of the second provider goes to that provider, with its index. */
  size = sizeof buf;
  assert_status(
      wmiev_query_single_instance(fx->reg, &guid_data, named(&n, "b-two"), buf, &size, &diag),
      WMIEV_STATUS_SUCCESS);
  assert_int_equal(a->seen_count, 1);
  assert_int_equal(b->seen_count, 1);
  assert_int_equal(get32(b->seen[0].bytes, 52), 1);
  assert_int_equal(get32(b->seen[0].bytes, 44), 0x82);
  assert_int_equal(size, 64 + 6);
  assert_int_equal(get32(buf, 4), wmiev_device_provider_id(b->device));
  assert_memory_equal(buf + 64, "bbbbbb", 6);

  /* "b-one" is B's instance 0. */
  size = sizeof buf;
  assert_status(
      wmiev_query_single_instance(fx->reg, &guid_data, named(&n, "b-one"), buf, &size, &diag),
      WMIEV_STATUS_SUCCESS);
  assert_int_equal(b->seen_count, 2);
  assert_int_equal(get32(b->seen[1].bytes, 52), 0);
}

static void query_by_provider_and_index(void **state) {
  fixture *fx = *state;
  provider *a = add_a(fx);
  provider *b = add_b(fx);
  block_spec other = {&guid_pdo, WMIREG_FLAG_INSTANCE_BASENAME, 1, "O", NULL, NULL};
  provider *o = add_provider(fx, "prov-other", &other, 1);
  uint8_t buf[256];
  uint32_t size = sizeof buf;
  wmiev_diag diag;
  wmiev_instance_ref ref = by_id(wmiev_device_provider_id(b->device), 1);
  assert_status(wmiev_query_single_instance(fx->reg, &guid_data, &ref, buf, &size, &diag),
                WMIEV_STATUS_SUCCESS);
  assert_int_equal(b->seen_count, 1);
  assert_int_equal(get32(b->seen[0].bytes, 52), 1);
  assert_int_equal(get32(buf, 4), wmiev_device_provider_id(b->device));

  /* A provider that does not provide this GUID, and one that does not exist. */
  ref = by_id(wmiev_device_provider_id(o->device), 0);
  size = sizeof buf;
  assert_status(wmiev_query_single_instance(fx->reg, &guid_data, &ref, buf, &size, &diag),
                WMIEV_STATUS_WMI_GUID_NOT_FOUND);
  assert_diag(&diag, WMIEV_STATUS_WMI_GUID_NOT_FOUND, NULL);
  assert_int_equal(size, sizeof buf);
  ref = by_id(0x7fffffffu, 0);
  assert_status(wmiev_query_single_instance(fx->reg, &guid_data, &ref, buf, &size, &diag),
                WMIEV_STATUS_WMI_GUID_NOT_FOUND);
  /* An index past the static instances. */
  ref = by_id(wmiev_device_provider_id(a->device), 2);
  assert_status(wmiev_query_single_instance(fx->reg, &guid_data, &ref, buf, &size, &diag),
                WMIEV_STATUS_WMI_INSTANCE_NOT_FOUND);
  assert_diag(&diag, WMIEV_STATUS_WMI_INSTANCE_NOT_FOUND, "prov-a");
  assert_int_equal(a->seen_count, 0);
  assert_int_equal(o->seen_count, 0);
  assert_int_equal(b->seen_count, 1);
}

static void dynamic_name_falls_through_to_the_provider_that_has_it(void **state) {
  fixture *fx = *state;
  provider *c = add_dynamic(fx, "prov-c", NULL);
  provider *d = add_dynamic(fx, "prov-d", "dyn");
  iname n;
  uint8_t buf[256];
  uint32_t size = sizeof buf;
  wmiev_diag diag;
  poison_diag(&diag);
  assert_status(
      wmiev_query_single_instance(fx->reg, &guid_dyn, named(&n, "dyn"), buf, &size, &diag),
      WMIEV_STATUS_SUCCESS);
  assert_diag_untouched(&diag); /* C's STATUS_WMI_INSTANCE_NOT_FOUND left no trace */
  assert_int_equal(order_count, 2);
  assert_ptr_equal(order_log[0].p, c);
  assert_ptr_equal(order_log[1].p, d);
  for (int i = 0; i < 2; i++) {
    const seen_irp *s = i == 0 ? &c->seen[0] : &d->seen[0];
    assert_int_equal(s->minor, IRP_MN_QUERY_SINGLE_INSTANCE);
    assert_guid_equal(&s->data_path, &guid_dyn);
    assert_int_equal(s->buffer_size, 1024);
    assert_memory_equal(s->bytes, golden_query_dynamic, sizeof golden_query_dynamic);
  }
  uint8_t expected[80];
  memcpy(expected, golden_query_dynamic, 72);
  put32(expected, 0, 80);
  put32(expected, 4, wmiev_device_provider_id(d->device));
  put32(expected, 60, 8);
  memcpy(expected + 72, "dynamic!", 8);
  assert_int_equal(size, sizeof expected);
  assert_memory_equal(buf, expected, sizeof expected);
}

/* name + provider_id: that provider only. A static name of its own goes the
 * static way; any other name is offered to it (and only it) as a dynamic name,
 * which is how the bus follows an event reference. */
static void name_addressed_to_one_provider(void **state) {
  fixture *fx = *state;
  provider *c = add_dynamic(fx, "prov-c", "dyn");
  provider *d = add_dynamic(fx, "prov-d", "dyn");
  iname n;
  uint8_t buf[256];
  uint32_t size = sizeof buf;
  wmiev_instance_ref to_d = *named(&n, "dyn");
  to_d.provider_id = wmiev_device_provider_id(d->device);
  assert_status(wmiev_query_single_instance(fx->reg, &guid_dyn, &to_d, buf, &size, NULL),
                WMIEV_STATUS_SUCCESS);
  assert_int_equal(c->seen_count, 0); /* C would have answered, but was not asked */
  assert_int_equal(d->seen_count, 1);
  assert_int_equal(get32(buf, 4), wmiev_device_provider_id(d->device));

  provider *a = add_a(fx);
  provider *b = add_b(fx);
  wmiev_instance_ref a1 = *named(&n, "A1");
  a1.provider_id = wmiev_device_provider_id(a->device);
  size = sizeof buf;
  assert_status(wmiev_query_single_instance(fx->reg, &guid_data, &a1, buf, &size, NULL),
                WMIEV_STATUS_SUCCESS);
  assert_int_equal(a->seen_count, 1);
  assert_int_equal(get32(a->seen[0].bytes, offsetof(WNODE_SINGLE_INSTANCE, InstanceIndex)), 1);
  /* A's name sent to B: B gets it as a dynamic name, and (static-only) refuses. */
  a1.provider_id = wmiev_device_provider_id(b->device);
  size = sizeof buf;
  assert_status(wmiev_query_single_instance(fx->reg, &guid_data, &a1, buf, &size, NULL),
                WMIEV_STATUS_WMI_INSTANCE_NOT_FOUND);
  assert_int_equal(b->seen_count, 1);
  assert_int_equal(get32(b->seen[0].bytes, offsetof(WNODE_HEADER, Flags)) &
                       WNODE_FLAG_STATIC_INSTANCE_NAMES,
                   0);
  assert_int_equal(a->seen_count, 1);
}

/* Event-only blocks cannot be queried, set or executed by consumers (spec
 * §3.3): nobody is asked, and a GUID with only such providers says so. */
static void event_only_blocks_are_not_queried(void **state) {
  fixture *fx = *state;
  block_spec spec = {&guid_dyn, WMIREG_FLAG_EVENT_ONLY_GUID | WMIREG_FLAG_INSTANCE_BASENAME, 1,
                     "E", NULL, NULL};
  provider *e = add_provider(fx, "prov-e", &spec, 1);
  uint8_t buf[256];
  uint32_t size = sizeof buf;
  wmiev_diag diag;
  assert_status(wmiev_query_all_data(fx->reg, &guid_dyn, buf, &size, &diag),
                WMIEV_STATUS_WMI_NOT_SUPPORTED);
  assert_diag(&diag, WMIEV_STATUS_WMI_NOT_SUPPORTED, "event-only");
  iname n;
  size = sizeof buf;
  assert_status(wmiev_query_single_instance(fx->reg, &guid_dyn, named(&n, "E0"), buf, &size, NULL),
                WMIEV_STATUS_WMI_NOT_SUPPORTED);
  assert_status(wmiev_set_single_instance(fx->reg, &guid_dyn, named(&n, "E0"), "x", 1, NULL),
                WMIEV_STATUS_WMI_NOT_SUPPORTED);
  assert_int_equal(e->seen_count, 0);
  /* A queryable provider of the same GUID is still asked. */
  provider *c = add_dynamic(fx, "prov-c", "dyn");
  size = sizeof buf;
  assert_status(
      wmiev_query_single_instance(fx->reg, &guid_dyn, named(&n, "dyn"), buf, &size, NULL),
      WMIEV_STATUS_SUCCESS);
  assert_int_equal(c->seen_count, 1);
  assert_int_equal(e->seen_count, 0);
}

static void dynamic_name_nobody_has(void **state) {
  fixture *fx = *state;
  provider *a = add_a(fx); /* static provider of guid_data: never offered a dynamic name */
  provider *c = add_dynamic(fx, "prov-c", "other");
  provider *d = add_dynamic(fx, "prov-d", NULL);
  iname n;
  uint8_t buf[256];
  uint32_t size = sizeof buf;
  wmiev_diag diag;
  assert_status(
      wmiev_query_single_instance(fx->reg, &guid_dyn, named(&n, "nobody"), buf, &size, &diag),
      WMIEV_STATUS_WMI_INSTANCE_NOT_FOUND);
  assert_diag(&diag, WMIEV_STATUS_WMI_INSTANCE_NOT_FOUND, "'nobody'");
  assert_int_equal(size, sizeof buf);
  assert_int_equal(order_count, 2);
  assert_ptr_equal(order_log[0].p, c);
  assert_ptr_equal(order_log[1].p, d);
  /* "A2" looks like A's names but is out of range: not static, and guid_data has
   * no dynamic-name provider, so nobody is asked. */
  assert_status(
      wmiev_query_single_instance(fx->reg, &guid_data, named(&n, "A2"), buf, &size, &diag),
      WMIEV_STATUS_WMI_INSTANCE_NOT_FOUND);
  assert_int_equal(a->seen_count, 0);
  assert_int_equal(order_count, 2);
}

static void pdo_blocks_carry_pdo_instance_names(void **state) {
  fixture *fx = *state;
  wmiev_device *pdo = add_plain_device(fx, "pdo", "ROOT\\TOASTER\\0000");
  block_spec spec = {&guid_pdo, WMIREG_FLAG_INSTANCE_PDO, 2, NULL, NULL, pdo};
  provider *p = add_provider(fx, "prov-pdo", &spec, 1);
  p->data = "pd";
  p->data_size = 2;
  /* One 4-byte instance, fixed size, flags as a PDO block's reply carries them. */
  uint8_t reply[68];
  memcpy(reply, reply_a, 64);
  memcpy(reply + 24, &guid_pdo, sizeof(GUID));
  put32(reply, 0, 68);
  put32(reply, 44, 0x10091);
  put32(reply, 52, 1);
  memcpy(reply + 64, "pdo0", 4);
  p->reply = reply;
  p->reply_size = 68;

  iname n;
  uint8_t buf[256];
  uint32_t size = sizeof buf;
  wmiev_diag diag;
  assert_status(wmiev_query_single_instance(fx->reg, &guid_pdo, named(&n, "ROOT\\TOASTER\\0000_1"),
                                            buf, &size, &diag),
                WMIEV_STATUS_SUCCESS);
  assert_int_equal(p->seen_count, 1);
  assert_int_equal(get32(p->seen[0].bytes, 44), 0x10082); /* + PDO_INSTANCE_NAMES */
  assert_int_equal(get32(p->seen[0].bytes, 52), 1);
  size = sizeof buf;
  assert_status(wmiev_query_all_data(fx->reg, &guid_pdo, buf, &size, &diag), WMIEV_STATUS_SUCCESS);
  assert_int_equal(p->seen_count, 2);
  assert_int_equal(get32(p->seen[1].bytes, 44), 0x10081);
  assert_int_equal(size, 68);
}

static void query_grows_to_exactly_size_needed(void **state) {
  fixture *fx = *state;
  provider *a = add_a(fx);
  a->need = 3000;
  iname n;
  uint8_t buf[256];
  uint32_t size = sizeof buf;
  wmiev_diag diag;
  assert_status(
      wmiev_query_single_instance(fx->reg, &guid_data, named(&n, "A1"), buf, &size, &diag),
      WMIEV_STATUS_SUCCESS);
  assert_int_equal(a->seen_count, 2);
  assert_int_equal(a->seen[0].buffer_size, 1024);
  assert_int_equal(a->seen[1].buffer_size, 3000);
  /* The resent request is the pristine one, not what the provider left behind. */
  assert_memory_equal(a->seen[1].bytes, golden_query_static, sizeof golden_query_static);
  assert_int_equal(size, 68);
  assert_memory_equal(buf + 64, "DATA", 4);
}

static void query_two_call(void **state) {
  fixture *fx = *state;
  provider *a = add_a(fx);
  iname n;
  uint8_t buf[128];
  wmiev_diag diag;
  uint32_t size = 0;
  assert_status(
      wmiev_query_single_instance(fx->reg, &guid_data, named(&n, "A0"), NULL, &size, &diag),
      WMIEV_STATUS_BUFFER_TOO_SMALL);
  assert_diag(&diag, WMIEV_STATUS_BUFFER_TOO_SMALL, NULL);
  assert_int_equal(size, 68);
  memset(buf, 0xcc, sizeof buf);
  size = 67;
  assert_status(
      wmiev_query_single_instance(fx->reg, &guid_data, named(&n, "A0"), buf, &size, &diag),
      WMIEV_STATUS_BUFFER_TOO_SMALL);
  assert_int_equal(size, 68);
  for (size_t i = 0; i < sizeof buf; i++) {
    assert_int_equal(buf[i], 0xcc);
  }
  size = 68;
  assert_status(
      wmiev_query_single_instance(fx->reg, &guid_data, named(&n, "A0"), buf, &size, &diag),
      WMIEV_STATUS_SUCCESS);
  assert_int_equal(size, 68);
  assert_int_equal(buf[68], 0xcc);
  assert_int_equal(a->seen_count, 3);
}

/* ---- tests: QUERY_ALL_DATA ------------------------------------------------------------- */

static void all_data_chains_replies_through_linkage(void **state) {
  fixture *fx = *state;
  provider *a = add_a(fx);
  provider *b = add_b(fx);
  uint8_t buf[512];
  memset(buf, 0xcc, sizeof buf);
  uint32_t size = sizeof buf;
  wmiev_diag diag;
  poison_diag(&diag);
  assert_status(wmiev_query_all_data(fx->reg, &guid_data, buf, &size, &diag), WMIEV_STATUS_SUCCESS);
  assert_diag_untouched(&diag);
  /* Providers asked in registration order, each with the preset header. */
  assert_int_equal(order_count, 2);
  assert_ptr_equal(order_log[0].p, a);
  assert_ptr_equal(order_log[1].p, b);
  for (int i = 0; i < 2; i++) {
    const seen_irp *s = i == 0 ? &a->seen[0] : &b->seen[0];
    assert_int_equal(s->minor, IRP_MN_QUERY_ALL_DATA);
    assert_guid_equal(&s->data_path, &guid_data);
    assert_int_equal(s->buffer_size, 1024);
    assert_memory_equal(s->bytes, golden_all_data_request, sizeof golden_all_data_request);
  }
  /* A at 0 (76 bytes), padding to 80, B at 80 (93 bytes): 173 in all. */
  assert_int_equal(size, 173);
  uint8_t expect_a[76];
  memcpy(expect_a, reply_a, sizeof expect_a);
  put32(expect_a, 4, wmiev_device_provider_id(a->device));
  put32(expect_a, 12, 80);
  assert_memory_equal(buf, expect_a, sizeof expect_a);
  for (size_t i = 76; i < 80; i++) {
    assert_int_equal(buf[i], 0);
  }
  uint8_t expect_b[93];
  memcpy(expect_b, reply_b, sizeof expect_b);
  put32(expect_b, 4, wmiev_device_provider_id(b->device));
  put32(expect_b, 12, 0);
  assert_memory_equal(buf + 80, expect_b, sizeof expect_b);
  assert_int_equal(buf[173], 0xcc);
  /* The chain walks as a consumer would walk it, every WNODE 8-aligned and valid. */
  size_t at = 0;
  int wnodes = 0;
  for (;;) {
    assert_int_equal(at % 8, 0);
    wmiev_wnode_view view;
    assert_status(wmiev_wnode_validate(buf + at, size - at, 0, &view, NULL), WMIEV_STATUS_SUCCESS);
    assert_int_equal(view.kind, WMIEV_WNODE_ALL_DATA);
    wnodes++;
    uint32_t linkage = get32(buf + at, 12);
    if (linkage == 0) {
      break;
    }
    at += linkage;
  }
  assert_int_equal(wnodes, 2);

  /* A third provider: Linkage is relative to its own WNODE (B at 80 links
   * 96 bytes on, to 176), not an offset from the start of the buffer. */
  block_spec spec = {&guid_data, WMIREG_FLAG_INSTANCE_BASENAME, 2, "Z", NULL, NULL};
  provider *z = add_provider(fx, "prov-z", &spec, 1);
  z->reply = reply_a;
  z->reply_size = sizeof reply_a;
  size = sizeof buf;
  assert_status(wmiev_query_all_data(fx->reg, &guid_data, buf, &size, &diag), WMIEV_STATUS_SUCCESS);
  assert_int_equal(size, 176 + 76);
  assert_int_equal(get32(buf, 12), 80);
  assert_int_equal(get32(buf + 80, 12), 96);
  assert_int_equal(get32(buf + 176, 12), 0);
  assert_int_equal(get32(buf + 176, 4), wmiev_device_provider_id(z->device));
  for (size_t i = 173; i < 176; i++) {
    assert_int_equal(buf[i], 0);
  }
}

static void all_data_two_call(void **state) {
  fixture *fx = *state;
  provider *a = add_a(fx);
  provider *b = add_b(fx);
  wmiev_diag diag;
  uint32_t size = 0;
  assert_status(wmiev_query_all_data(fx->reg, &guid_data, NULL, &size, &diag),
                WMIEV_STATUS_BUFFER_TOO_SMALL);
  assert_diag(&diag, WMIEV_STATUS_BUFFER_TOO_SMALL, NULL);
  assert_int_equal(size, 173);
  assert_int_equal(a->seen_count, 1); /* the replies were fetched to know the size */
  assert_int_equal(b->seen_count, 1);
  uint8_t buf[200];
  memset(buf, 0xcc, sizeof buf);
  size = 172;
  assert_status(wmiev_query_all_data(fx->reg, &guid_data, buf, &size, &diag),
                WMIEV_STATUS_BUFFER_TOO_SMALL);
  assert_int_equal(size, 173);
  for (size_t i = 0; i < sizeof buf; i++) {
    assert_int_equal(buf[i], 0xcc);
  }
  size = 173;
  assert_status(wmiev_query_all_data(fx->reg, &guid_data, buf, &size, &diag), WMIEV_STATUS_SUCCESS);
  assert_int_equal(size, 173);
  assert_int_equal(buf[173], 0xcc);
}

/* A provider in BLOCK_IRPS no longer answers for its blocks: the query goes on
 * without it (decisions D10), and only when nobody answers does it fail. */
static void all_data_skips_blocked_providers(void **state) {
  fixture *fx = *state;
  provider *a = add_a(fx);
  provider *b = add_b(fx);
  assert_status(wmiev_registration_control(a->device, WMIREG_ACTION_BLOCK_IRPS, NULL),
                WMIEV_STATUS_SUCCESS);
  uint8_t buf[512];
  memset(buf, 0xcc, sizeof buf);
  uint32_t size = sizeof buf;
  wmiev_diag diag;
  poison_diag(&diag);
  assert_status(wmiev_query_all_data(fx->reg, &guid_data, buf, &size, &diag), WMIEV_STATUS_SUCCESS);
  assert_diag_untouched(&diag);
  assert_int_equal(size, 93);
  uint8_t expect_b[93];
  memcpy(expect_b, reply_b, sizeof expect_b);
  put32(expect_b, 4, wmiev_device_provider_id(b->device));
  put32(expect_b, 12, 0); /* the only reply is the last one */
  assert_memory_equal(buf, expect_b, sizeof expect_b);
  assert_int_equal(buf[93], 0xcc);
  assert_status(wmiev_registration_control(b->device, WMIREG_ACTION_BLOCK_IRPS, NULL),
                WMIEV_STATUS_SUCCESS);
  size = sizeof buf;
  assert_status(wmiev_query_all_data(fx->reg, &guid_data, buf, &size, &diag),
                WMIEV_STATUS_WMI_GUID_DISCONNECTED);
  assert_diag(&diag, WMIEV_STATUS_WMI_GUID_DISCONNECTED, NULL);
  assert_int_equal(size, sizeof buf);
}

static void all_data_grows_per_provider(void **state) {
  fixture *fx = *state;
  provider *a = add_a(fx);
  provider *b = add_b(fx);
  a->need = 2000;
  uint8_t buf[512];
  uint32_t size = sizeof buf;
  wmiev_diag diag;
  assert_status(wmiev_query_all_data(fx->reg, &guid_data, buf, &size, &diag), WMIEV_STATUS_SUCCESS);
  assert_int_equal(a->seen_count, 2);
  assert_int_equal(a->seen[0].buffer_size, 1024);
  assert_int_equal(get32(a->seen[0].bytes, 0), 1024);
  assert_int_equal(a->seen[1].buffer_size, 2000);
  assert_int_equal(get32(a->seen[1].bytes, 0), 2000); /* WnodeHeader.BufferSize follows */
  assert_memory_equal(a->seen[1].bytes + 4, golden_all_data_request + 4, 60);
  assert_int_equal(b->seen_count, 1);
  assert_int_equal(b->seen[0].buffer_size, 1024); /* B starts over at the initial size */
  assert_int_equal(size, 173);
}

static void all_data_stops_at_the_first_failure(void **state) {
  fixture *fx = *state;
  provider *a = add_a(fx);
  provider *b = add_b(fx);
  uint8_t buf[512];
  memset(buf, 0xcc, sizeof buf);
  uint32_t size = sizeof buf;
  wmiev_diag diag;
  a->status = WMIEV_STATUS_INVALID_DEVICE_REQUEST;
  assert_status(wmiev_query_all_data(fx->reg, &guid_data, buf, &size, &diag),
                WMIEV_STATUS_INVALID_DEVICE_REQUEST);
  assert_diag(&diag, WMIEV_STATUS_INVALID_DEVICE_REQUEST, "prov-a");
  assert_int_equal(b->seen_count, 0);
  assert_int_equal(size, sizeof buf);

  a->status = WMIEV_STATUS_SUCCESS;
  b->status = WMIEV_STATUS_WMI_GUID_NOT_FOUND;
  assert_status(wmiev_query_all_data(fx->reg, &guid_data, buf, &size, &diag),
                WMIEV_STATUS_WMI_GUID_NOT_FOUND);
  assert_diag(&diag, WMIEV_STATUS_WMI_GUID_NOT_FOUND, "prov-b");
  assert_int_equal(size, sizeof buf);
  for (size_t i = 0; i < sizeof buf; i++) {
    assert_int_equal(buf[i], 0xcc); /* A's reply was not copied either */
  }
  /* A device in BLOCK_IRPS state is skipped instead: all_data_skips_blocked_providers. */
}

/* ---- tests: malformed replies --------------------------------------------------------- */

typedef struct malformed_case {
  mode mode;
  wmiev_status expected;
  const char *field;
  size_t irps;
} malformed_case;

static void malformed_replies_are_rejected(void **state) {
  fixture *fx = *state;
  provider *a = add_a(fx);
  static const malformed_case cases[] = {
      {MODE_INFO_PAST_BUFFER, WMIEV_STATUS_INVALID_BUFFER_SIZE, "IoStatus.Information", 1},
      {MODE_WRONG_KIND, WMIEV_STATUS_INVALID_PARAMETER, "WnodeHeader.Flags", 1},
      {MODE_SIZE_PAST_INFO, WMIEV_STATUS_INVALID_BUFFER_SIZE, NULL, 1},
      {MODE_TOO_SMALL_SAME, WMIEV_STATUS_INVALID_BUFFER_SIZE, "SizeNeeded", 1},
      {MODE_TOO_SMALL_HUGE, WMIEV_STATUS_INVALID_BUFFER_SIZE, "SizeNeeded", 1},
      {MODE_TOO_SMALL_CREEP, WMIEV_STATUS_INVALID_BUFFER_SIZE, "SizeNeeded", 16},
      {MODE_TOO_SMALL_SHORT, WMIEV_STATUS_INVALID_BUFFER_SIZE, NULL, 1},
      {MODE_STATUS_TOO_SMALL, WMIEV_STATUS_INVALID_BUFFER_SIZE, "IoStatus.Status", 1},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const malformed_case *c = &cases[i];
    a->mode = c->mode;
    a->seen_count = 0;
    uint64_t violations = fx->violations;
    iname n;
    uint8_t buf[256];
    memset(buf, 0xcc, sizeof buf);
    uint32_t size = sizeof buf;
    wmiev_diag diag;
    wmiev_status status =
        wmiev_query_single_instance(fx->reg, &guid_data, named(&n, "A0"), buf, &size, &diag);
    if (status != c->expected) {
      fail_msg("case %zu: %s, expected %s (%s)", i, wmiev_status_name(status),
               wmiev_status_name(c->expected), diag.message);
    }
    assert_diag(&diag, c->expected, "prov-a");
    if (c->field != NULL) {
      assert_string_equal(diag.field, c->field);
    }
    assert_int_equal(a->seen_count, c->irps);
    assert_int_equal(size, sizeof buf);
    assert_int_equal(buf[0], 0xcc);
    /* A reply that breaks the protocol is a violation too (a failed IRP is not). */
    assert_int_equal(fx->violations, violations + (c->mode == MODE_STATUS_TOO_SMALL ? 0u : 1u));
  }
  /* The same checks guard QUERY_ALL_DATA and EXECUTE_METHOD. */
  a->mode = MODE_INFO_PAST_BUFFER;
  uint8_t buf[256];
  uint32_t size = sizeof buf;
  wmiev_diag diag;
  assert_status(wmiev_query_all_data(fx->reg, &guid_data, buf, &size, &diag),
                WMIEV_STATUS_INVALID_BUFFER_SIZE);
  iname n;
  uint32_t out_size = sizeof buf;
  assert_status(
      wmiev_execute_method(fx->reg, &guid_data, named(&n, "A0"), 1, NULL, 0, buf, &out_size, &diag),
      WMIEV_STATUS_INVALID_BUFFER_SIZE);
  assert_int_equal(out_size, sizeof buf);
  a->mode = MODE_TOO_SMALL_SAME;
  assert_status(
      wmiev_execute_method(fx->reg, &guid_data, named(&n, "A0"), 1, NULL, 0, buf, &out_size, &diag),
      WMIEV_STATUS_INVALID_BUFFER_SIZE);
  a->mode = MODE_STATUS_TOO_SMALL;
  assert_status(
      wmiev_execute_method(fx->reg, &guid_data, named(&n, "A0"), 1, NULL, 0, buf, &out_size, &diag),
      WMIEV_STATUS_INVALID_BUFFER_SIZE);
  assert_int_equal(out_size, sizeof buf);
}

static void malformed_all_data_leaves_nothing(void **state) {
  fixture *fx = *state;
  provider *a = add_a(fx);
  provider *b = add_b(fx);
  /* B's instance 1 moved to 87: not 8-aligned. */
  uint8_t bad[sizeof reply_b];
  memcpy(bad, reply_b, sizeof bad);
  put32(bad, 68, 87);
  b->reply = bad;
  uint8_t buf[512];
  memset(buf, 0xcc, sizeof buf);
  uint32_t size = sizeof buf;
  wmiev_diag diag;
  assert_status(wmiev_query_all_data(fx->reg, &guid_data, buf, &size, &diag),
                WMIEV_STATUS_INVALID_PARAMETER);
  assert_diag(&diag, WMIEV_STATUS_INVALID_PARAMETER, "prov-b");
  assert_string_equal(diag.field, "OffsetInstanceDataAndLength[].OffsetInstanceData");
  assert_int_equal(size, sizeof buf);
  for (size_t i = 0; i < sizeof buf; i++) {
    assert_int_equal(buf[i], 0xcc);
  }
  assert_int_equal(a->seen_count, 1);
  assert_int_equal(fx->violations, 1);
  assert_non_null(strstr(fx->last_violation, "prov-b"));
}

/* ---- tests: CHANGE_SINGLE_INSTANCE / ITEM ---------------------------------------------- */

static void set_single_instance_request_and_statuses(void **state) {
  fixture *fx = *state;
  provider *a = add_a(fx);
  iname n;
  wmiev_diag diag;
  poison_diag(&diag);
  assert_status(wmiev_set_single_instance(fx->reg, &guid_data, named(&n, "A1"), "xyz", 3, &diag),
                WMIEV_STATUS_SUCCESS);
  assert_diag_untouched(&diag);
  assert_int_equal(a->seen_count, 1);
  assert_int_equal(a->seen[0].minor, IRP_MN_CHANGE_SINGLE_INSTANCE);
  assert_guid_equal(&a->seen[0].data_path, &guid_data);
  assert_int_equal(a->seen[0].buffer_size, sizeof golden_change_instance);
  assert_memory_equal(a->seen[0].bytes, golden_change_instance, sizeof golden_change_instance);

  const wmiev_status failures[] = {
      WMIEV_STATUS_WMI_READ_ONLY, WMIEV_STATUS_WMI_SET_FAILURE, WMIEV_STATUS_WMI_INSTANCE_NOT_FOUND,
      WMIEV_STATUS_INVALID_DEVICE_REQUEST, WMIEV_STATUS_BUFFER_TOO_SMALL};
  for (size_t i = 0; i < sizeof failures / sizeof failures[0]; i++) {
    a->status = failures[i];
    assert_status(wmiev_set_single_instance(fx->reg, &guid_data, named(&n, "A1"), "xyz", 3, &diag),
                  failures[i]);
    assert_diag(&diag, failures[i], "prov-a");
    assert_non_null(strstr(diag.message, "IRP_MN_CHANGE_SINGLE_INSTANCE"));
  }
  assert_int_equal(a->seen_count, 1 + sizeof failures / sizeof failures[0]);
}

static void set_single_item_request_and_statuses(void **state) {
  fixture *fx = *state;
  add_a(fx);
  provider *b = add_b(fx);
  iname n;
  wmiev_diag diag;
  assert_status(wmiev_set_single_item(fx->reg, &guid_data, named(&n, "b-one"), 5, "QR", 2, &diag),
                WMIEV_STATUS_SUCCESS);
  assert_int_equal(b->seen_count, 1);
  assert_int_equal(b->seen[0].minor, IRP_MN_CHANGE_SINGLE_ITEM);
  assert_int_equal(b->seen[0].buffer_size, sizeof golden_change_item);
  assert_memory_equal(b->seen[0].bytes, golden_change_item, sizeof golden_change_item);
  const wmiev_status failures[] = {WMIEV_STATUS_WMI_ITEMID_NOT_FOUND, WMIEV_STATUS_WMI_READ_ONLY,
                                   WMIEV_STATUS_WMI_SET_FAILURE};
  for (size_t i = 0; i < sizeof failures / sizeof failures[0]; i++) {
    b->status = failures[i];
    assert_status(wmiev_set_single_item(fx->reg, &guid_data, named(&n, "b-one"), 5, "QR", 2, &diag),
                  failures[i]);
    assert_diag(&diag, failures[i], "prov-b");
  }
}

static void set_dynamic_name_offered_in_turn(void **state) {
  fixture *fx = *state;
  provider *c = add_dynamic(fx, "prov-c", NULL);
  provider *d = add_dynamic(fx, "prov-d", "dyn");
  provider *e = add_dynamic(fx, "prov-e", "dyn");
  iname n;
  wmiev_diag diag;
  d->status = WMIEV_STATUS_WMI_READ_ONLY;
  assert_status(wmiev_set_single_instance(fx->reg, &guid_dyn, named(&n, "dyn"), "v", 1, &diag),
                WMIEV_STATUS_WMI_READ_ONLY);
  assert_diag(&diag, WMIEV_STATUS_WMI_READ_ONLY, "prov-d");
  assert_int_equal(c->seen_count, 1);
  assert_int_equal(d->seen_count, 1);
  assert_int_equal(e->seen_count, 0); /* D claimed the name by not saying INSTANCE_NOT_FOUND */
  assert_int_equal(c->seen[0].minor, IRP_MN_CHANGE_SINGLE_INSTANCE);
  assert_int_equal(get32(c->seen[0].bytes, 44), WNODE_FLAG_SINGLE_INSTANCE);
  assert_int_equal(get32(c->seen[0].bytes, 48), 64);
  d->status = WMIEV_STATUS_SUCCESS;
  assert_status(wmiev_set_single_item(fx->reg, &guid_dyn, named(&n, "dyn"), 9, "v", 1, &diag),
                WMIEV_STATUS_SUCCESS);
  assert_int_equal(d->seen_count, 2);
  assert_int_equal(d->seen[1].minor, IRP_MN_CHANGE_SINGLE_ITEM);
  assert_int_equal(get32(d->seen[1].bytes, 56), 9);
  assert_status(wmiev_set_single_item(fx->reg, &guid_dyn, named(&n, "nope"), 9, "v", 1, &diag),
                WMIEV_STATUS_WMI_INSTANCE_NOT_FOUND);
  assert_int_equal(e->seen_count, 1);
}

/* ---- tests: EXECUTE_METHOD ------------------------------------------------------------- */

static void method_request_is_exact(void **state) {
  fixture *fx = *state;
  provider *a = add_a(fx);
  a->data = "hello";
  a->data_size = 5;
  iname n;
  uint8_t out[16];
  memset(out, 0xcc, sizeof out);
  uint32_t out_size = sizeof out;
  wmiev_diag diag;
  poison_diag(&diag);
  assert_status(wmiev_execute_method(fx->reg, &guid_data, named(&n, "A0"), 7, "abc", 3, out,
                                     &out_size, &diag),
                WMIEV_STATUS_SUCCESS);
  assert_diag_untouched(&diag);
  assert_int_equal(a->seen_count, 1);
  const seen_irp *s = &a->seen[0];
  assert_int_equal(s->minor, IRP_MN_EXECUTE_METHOD);
  assert_guid_equal(&s->data_path, &guid_data);
  /* Room for the larger of input and output at DataBlockOffset 72. */
  assert_int_equal(s->buffer_size, 72 + 16);
  assert_memory_equal(s->bytes, golden_method, sizeof golden_method);
  for (size_t i = sizeof golden_method; i < s->buffer_size; i++) {
    assert_int_equal(s->bytes[i], 0);
  }
  assert_int_equal(out_size, 5);
  assert_memory_equal(out, "hello", 5);
  assert_int_equal(out[5], 0xcc);

  /* Input larger than the output room: the buffer follows the input. */
  out_size = 2;
  a->data_size = 2;
  assert_status(wmiev_execute_method(fx->reg, &guid_data, named(&n, "A0"), 7, "0123456789", 10, out,
                                     &out_size, &diag),
                WMIEV_STATUS_SUCCESS);
  assert_int_equal(a->seen[1].buffer_size, 72 + 10);
  assert_int_equal(out_size, 2);

  const wmiev_status failures[] = {WMIEV_STATUS_INVALID_DEVICE_REQUEST,
                                   WMIEV_STATUS_WMI_ITEMID_NOT_FOUND,
                                   WMIEV_STATUS_WMI_INSTANCE_NOT_FOUND};
  for (size_t i = 0; i < sizeof failures / sizeof failures[0]; i++) {
    a->status = failures[i];
    out_size = sizeof out;
    assert_status(wmiev_execute_method(fx->reg, &guid_data, named(&n, "A0"), 7, "abc", 3, out,
                                       &out_size, &diag),
                  failures[i]);
    assert_diag(&diag, failures[i], "prov-a");
    assert_int_equal(out_size, sizeof out);
  }
}

static void method_two_call_does_not_rerun(void **state) {
  fixture *fx = *state;
  provider *a = add_a(fx);
  a->data = "0123456789";
  a->data_size = 10;
  iname n;
  uint8_t out[16];
  wmiev_diag diag;
  /* Output room 2, input 3: the 75-byte buffer cannot hold 72 + 10, the provider
   * answers WNODE_TOO_SMALL, and the method is not sent again. */
  uint32_t out_size = 2;
  assert_status(wmiev_execute_method(fx->reg, &guid_data, named(&n, "A0"), 7, "abc", 3, out,
                                     &out_size, &diag),
                WMIEV_STATUS_BUFFER_TOO_SMALL);
  assert_diag(&diag, WMIEV_STATUS_BUFFER_TOO_SMALL, "prov-a");
  assert_int_equal(out_size, 10);
  assert_int_equal(a->seen_count, 1);
  assert_int_equal(a->seen[0].buffer_size, 75);
  /* The probe form: no output buffer at all. */
  out_size = 0;
  assert_status(wmiev_execute_method(fx->reg, &guid_data, named(&n, "A0"), 7, NULL, 0, NULL,
                                     &out_size, &diag),
                WMIEV_STATUS_BUFFER_TOO_SMALL);
  assert_int_equal(out_size, 10);
  assert_int_equal(a->seen[1].buffer_size, 72);
  /* With the size it asked for, one more IRP and the output. */
  out_size = 10;
  assert_status(wmiev_execute_method(fx->reg, &guid_data, named(&n, "A0"), 7, "abc", 3, out,
                                     &out_size, &diag),
                WMIEV_STATUS_SUCCESS);
  assert_int_equal(a->seen_count, 3);
  assert_int_equal(a->seen[2].buffer_size, 82);
  assert_int_equal(out_size, 10);
  assert_memory_equal(out, "0123456789", 10);
  /* Output that fits the in-place input but not the caller: the method ran,
   * the caller learns the size. */
  a->data_size = 5;
  out_size = 2;
  memset(out, 0xcc, sizeof out);
  assert_status(wmiev_execute_method(fx->reg, &guid_data, named(&n, "A0"), 7, "01234567", 8, out,
                                     &out_size, &diag),
                WMIEV_STATUS_BUFFER_TOO_SMALL);
  assert_int_equal(out_size, 5);
  assert_int_equal(out[0], 0xcc);
  assert_int_equal(a->seen_count, 4);
}

static void method_dynamic_name(void **state) {
  fixture *fx = *state;
  provider *c = add_dynamic(fx, "prov-c", NULL);
  provider *d = add_dynamic(fx, "prov-d", "dyn");
  iname n;
  uint8_t out[16];
  uint32_t out_size = sizeof out;
  wmiev_diag diag;
  assert_status(
      wmiev_execute_method(fx->reg, &guid_dyn, named(&n, "dyn"), 3, "in", 2, out, &out_size, &diag),
      WMIEV_STATUS_SUCCESS);
  assert_int_equal(out_size, 8);
  assert_memory_equal(out, "dynamic!", 8);
  assert_int_equal(c->seen_count, 1);
  assert_int_equal(d->seen_count, 1);
  /* Dynamic METHOD_ITEM: name at 68, data at ALIGN8(70 + 6) = 80. */
  /* clang-format off */
  static const uint8_t golden_dynamic_method[82] = {
      U32(82), U32(0), U32(0), U32(0), Z8, GUID_DYN_BYTES,
      U32(0),  U32(0x8000),     /* METHOD_ITEM */
      U32(68), U32(0),          /* OffsetInstanceName, InstanceIndex */
      U32(3),  U32(80), U32(2), /* MethodId, DataBlockOffset, SizeDataBlock */
      0x06,    0x00,    'd', 0, 'y', 0, 'n', 0, 0, 0, 0, 0, 'i', 'n',
  };
  /* clang-format on */
  assert_memory_equal(c->seen[0].bytes, golden_dynamic_method, sizeof golden_dynamic_method);
  assert_memory_equal(d->seen[0].bytes, golden_dynamic_method, sizeof golden_dynamic_method);
  assert_int_equal(d->seen[0].buffer_size, 80 + 16);
}

/* ---- tests: function control ------------------------------------------------------------ */

static void function_control_sends_a_bare_header(void **state) {
  fixture *fx = *state;
  provider *a = add_a(fx);
  static const uint8_t golden_header[48] = {
      U32(48), U32(0), U32(0), U32(0), Z8, GUID_DATA_BYTES, U32(0), U32(0),
  };
  const uint8_t minors[] = {IRP_MN_ENABLE_EVENTS, IRP_MN_DISABLE_EVENTS, IRP_MN_ENABLE_COLLECTION,
                            IRP_MN_DISABLE_COLLECTION};
  wmiev_diag diag;
  for (size_t i = 0; i < sizeof minors; i++) {
    poison_diag(&diag);
    assert_status(wmiev_send_function_control(a->device, &guid_data, minors[i], &diag),
                  WMIEV_STATUS_SUCCESS);
    assert_diag_untouched(&diag);
    const seen_irp *s = &a->seen[i];
    assert_int_equal(s->minor, minors[i]);
    assert_guid_equal(&s->data_path, &guid_data);
    assert_int_equal(s->buffer_size, 48);
    assert_memory_equal(s->bytes, golden_header, sizeof golden_header);
  }
  assert_int_equal(a->seen_count, 4);
  a->status = WMIEV_STATUS_INVALID_DEVICE_REQUEST;
  assert_status(wmiev_send_function_control(a->device, &guid_data, IRP_MN_ENABLE_EVENTS, &diag),
                WMIEV_STATUS_INVALID_DEVICE_REQUEST);
  assert_diag(&diag, WMIEV_STATUS_INVALID_DEVICE_REQUEST, "prov-a");
  assert_non_null(strstr(diag.message, "IRP_MN_ENABLE_EVENTS"));
  a->status = WMIEV_STATUS_WMI_GUID_NOT_FOUND;
  assert_status(
      wmiev_send_function_control(a->device, &guid_data, IRP_MN_DISABLE_COLLECTION, &diag),
      WMIEV_STATUS_WMI_GUID_NOT_FOUND);
  assert_int_equal(a->seen_count, 6);
  /* Only the four function-control minors. */
  const uint8_t bad[] = {IRP_MN_QUERY_ALL_DATA,
                         IRP_MN_CHANGE_SINGLE_ITEM,
                         IRP_MN_REGINFO,
                         IRP_MN_EXECUTE_METHOD,
                         0x0a,
                         IRP_MN_REGINFO_EX,
                         0xff};
  for (size_t i = 0; i < sizeof bad; i++) {
    assert_status(wmiev_send_function_control(a->device, &guid_data, bad[i], &diag),
                  WMIEV_STATUS_INVALID_PARAMETER);
    assert_diag(&diag, WMIEV_STATUS_INVALID_PARAMETER, NULL);
  }
  assert_int_equal(a->seen_count, 6);
  /* A device without WMI code forwards to the bottom, which completes with
   * the status the IRP started with. */
  wmiev_device *plain = add_plain_device(fx, "plain", NULL);
  assert_status(wmiev_send_function_control(plain, &guid_data, IRP_MN_ENABLE_EVENTS, &diag),
                WMIEV_STATUS_NOT_SUPPORTED);
}

/* ---- tests: end to end through a wmilib provider -------------------------------------- */

static const GUID guid_wmilib = {
    0x77777777, 0x6666, 0x5555, {0x44, 0x44, 0x33, 0x33, 0x22, 0x22, 0x11, 0x11}};

#define WL_SIZE 700u /* two instances of this need more than the first 1024 bytes */

typedef struct wl_state {
  uint8_t values[2][WL_SIZE];
  uint32_t enables;
  uint32_t disables;
} wl_state;

static const uint16_t wl_base[] = {'W'};

static wmiev_status wl_reginfo(wmiev_device *device, wmiev_reginfo_answer *answer, void *payload) {
  (void)device;
  (void)payload;
  answer->reg_flags = WMIREG_FLAG_INSTANCE_BASENAME;
  answer->base_name = wl_base;
  answer->base_name_units = 1;
  return WMIEV_STATUS_SUCCESS;
}

static wmiev_status wl_query(wmiev_device *device, wmiev_irp *irp, uint32_t guid_index,
                             uint32_t index, uint32_t count, uint32_t *lengths, uint32_t avail,
                             uint8_t *buffer, void *payload) {
  wl_state *s = payload;
  (void)guid_index;
  const uint32_t stride = (WL_SIZE + 7u) & ~7u;
  uint32_t need = stride * (count - 1u) + WL_SIZE;
  if (avail < need) {
    return wmiev_wmilib_complete_request(device, irp, WMIEV_STATUS_BUFFER_TOO_SMALL, need);
  }
  for (uint32_t k = 0; k < count; k++) {
    memcpy(buffer + k * stride, s->values[index + k], WL_SIZE);
    lengths[k] = WL_SIZE;
  }
  return wmiev_wmilib_complete_request(device, irp, WMIEV_STATUS_SUCCESS, need);
}

static wmiev_status wl_set(wmiev_device *device, wmiev_irp *irp, uint32_t guid_index,
                           uint32_t index, uint32_t size, const uint8_t *buffer, void *payload) {
  wl_state *s = payload;
  (void)guid_index;
  if (size != WL_SIZE) {
    return wmiev_wmilib_complete_request(device, irp, WMIEV_STATUS_WMI_SET_FAILURE, 0);
  }
  memcpy(s->values[index], buffer, WL_SIZE);
  return wmiev_wmilib_complete_request(device, irp, WMIEV_STATUS_SUCCESS, 0);
}

/* Method 1 reverses its input; there is no other method. */
static wmiev_status wl_method(wmiev_device *device, wmiev_irp *irp, uint32_t guid_index,
                              uint32_t index, uint32_t method_id, uint32_t in_size,
                              uint32_t out_size, uint8_t *buffer, void *payload) {
  (void)guid_index;
  (void)index;
  (void)payload;
  if (method_id != 1) {
    return wmiev_wmilib_complete_request(device, irp, WMIEV_STATUS_WMI_ITEMID_NOT_FOUND, 0);
  }
  if (out_size < in_size) {
    return wmiev_wmilib_complete_request(device, irp, WMIEV_STATUS_BUFFER_TOO_SMALL, in_size);
  }
  for (uint32_t i = 0; i < in_size / 2; i++) {
    uint8_t t = buffer[i];
    buffer[i] = buffer[in_size - 1 - i];
    buffer[in_size - 1 - i] = t;
  }
  return wmiev_wmilib_complete_request(device, irp, WMIEV_STATUS_SUCCESS, in_size);
}

static wmiev_status wl_control(wmiev_device *device, wmiev_irp *irp, uint32_t guid_index,
                               wmiev_function_control function, bool enable, void *payload) {
  wl_state *s = payload;
  (void)guid_index;
  if (function == WMIEV_EVENT_CONTROL) {
    *(enable ? &s->enables : &s->disables) += 1;
  }
  return wmiev_wmilib_complete_request(device, irp, WMIEV_STATUS_SUCCESS, 0);
}

static void end_to_end_through_wmilib(void **state) {
  fixture *fx = *state;
  static const wmiev_guid_reg guids[] = {{&guid_wmilib, 2, 0}};
  wl_state wl;
  for (uint32_t i = 0; i < WL_SIZE; i++) {
    wl.values[0][i] = (uint8_t)i;
    wl.values[1][i] = (uint8_t)(i * 7u + 1u);
  }
  wl.enables = wl.disables = 0;
  wmiev_provider_options options = {0};
  options.context.guid_count = 1;
  options.context.guid_list = guids;
  options.context.callbacks.query_reginfo = wl_reginfo;
  options.context.callbacks.query_data_block = wl_query;
  options.context.callbacks.set_data_block = wl_set;
  options.context.callbacks.execute_method = wl_method;
  options.context.callbacks.function_control = wl_control;
  options.context.payload = &wl;
  options.name = "wmilib-provider";
  wmiev_provider *wp = NULL;
  assert_status(wmiev_provider_create(fx->reg, &options, &wp), WMIEV_STATUS_SUCCESS);
  wmiev_device *device = wmiev_provider_device(wp);
  assert_status(wmiev_registration_control(device, WMIREG_ACTION_REGISTER, NULL),
                WMIEV_STATUS_SUCCESS);
  uint32_t id = wmiev_device_provider_id(device);
  wmiev_diag diag;

  /* ALL_DATA: 80 + 704 + 700 bytes, more than the first buffer: one growth round. */
  wmiev_registry_stats before, after;
  wmiev_registry_get_stats(fx->reg, &before);
  uint8_t *buf = malloc(4096);
  assert_non_null(buf);
  uint32_t size = 4096;
  assert_status(wmiev_query_all_data(fx->reg, &guid_wmilib, buf, &size, &diag),
                WMIEV_STATUS_SUCCESS);
  wmiev_registry_get_stats(fx->reg, &after);
  assert_int_equal(after.irps_sent - before.irps_sent, 2);
  wmiev_wnode_view view;
  assert_status(wmiev_wnode_validate(buf, size, 0, &view, NULL), WMIEV_STATUS_SUCCESS);
  assert_int_equal(view.kind, WMIEV_WNODE_ALL_DATA);
  assert_int_equal(view.buffer_size, size);
  assert_int_equal(view.provider_id, id);
  assert_int_equal(get32(buf, 12), 0); /* Linkage: the only WNODE */
  assert_true(view.static_names);
  assert_int_equal(view.instance_count, 2);
  for (uint32_t i = 0; i < 2; i++) {
    wmiev_wnode_instance_view inst;
    assert_status(wmiev_wnode_view_instance(&view, i, &inst), WMIEV_STATUS_SUCCESS);
    assert_int_equal(inst.size, WL_SIZE);
    assert_memory_equal(inst.data, wl.values[i], WL_SIZE);
  }

  /* One instance by name, and by provider + index. */
  iname n;
  size = 4096;
  assert_status(
      wmiev_query_single_instance(fx->reg, &guid_wmilib, named(&n, "W1"), buf, &size, &diag),
      WMIEV_STATUS_SUCCESS);
  assert_status(wmiev_wnode_validate(buf, size, 0, &view, NULL), WMIEV_STATUS_SUCCESS);
  assert_int_equal(view.kind, WMIEV_WNODE_SINGLE_INSTANCE);
  assert_int_equal(view.provider_id, id);
  assert_int_equal(view.instance.index, 1);
  assert_int_equal(view.instance.size, WL_SIZE);
  assert_memory_equal(view.instance.data, wl.values[1], WL_SIZE);
  wmiev_instance_ref ref = by_id(id, 2);
  assert_status(wmiev_query_single_instance(fx->reg, &guid_wmilib, &ref, buf, &size, &diag),
                WMIEV_STATUS_WMI_INSTANCE_NOT_FOUND);

  /* Set, then read back; a wrong size is the provider's SET_FAILURE; no item callback
   * is wmilib's READ_ONLY. */
  uint8_t fresh[WL_SIZE];
  memset(fresh, 0x5e, sizeof fresh);
  assert_status(
      wmiev_set_single_instance(fx->reg, &guid_wmilib, named(&n, "W0"), fresh, sizeof fresh, &diag),
      WMIEV_STATUS_SUCCESS);
  assert_memory_equal(wl.values[0], fresh, WL_SIZE);
  assert_status(wmiev_set_single_instance(fx->reg, &guid_wmilib, named(&n, "W0"), fresh, 3, &diag),
                WMIEV_STATUS_WMI_SET_FAILURE);
  assert_diag(&diag, WMIEV_STATUS_WMI_SET_FAILURE, "wmilib-provider");
  assert_status(wmiev_set_single_item(fx->reg, &guid_wmilib, named(&n, "W0"), 1, fresh, 4, &diag),
                WMIEV_STATUS_WMI_READ_ONLY);

  /* Methods: output, the two-call answer, an unknown method. */
  uint8_t out[8];
  uint32_t out_size = sizeof out;
  assert_status(wmiev_execute_method(fx->reg, &guid_wmilib, named(&n, "W1"), 1, "abcd", 4, out,
                                     &out_size, &diag),
                WMIEV_STATUS_SUCCESS);
  assert_int_equal(out_size, 4);
  assert_memory_equal(out, "dcba", 4);
  out_size = 0;
  assert_status(wmiev_execute_method(fx->reg, &guid_wmilib, named(&n, "W1"), 1, NULL, 0, NULL,
                                     &out_size, &diag),
                WMIEV_STATUS_SUCCESS); /* no input, no output */
  assert_int_equal(out_size, 0);
  out_size = 2;
  assert_status(wmiev_execute_method(fx->reg, &guid_wmilib, named(&n, "W1"), 1, "abcdefghij", 10,
                                     out, &out_size, &diag),
                WMIEV_STATUS_BUFFER_TOO_SMALL); /* ran in the input's room; 10 > 2 */
  assert_int_equal(out_size, 10);
  assert_status(wmiev_execute_method(fx->reg, &guid_wmilib, named(&n, "W1"), 9, "ab", 2, out,
                                     &out_size, &diag),
                WMIEV_STATUS_WMI_ITEMID_NOT_FOUND);

  /* A dynamic name: wmilib serves static names only, and nobody else provides the GUID. */
  size = 4096;
  assert_status(
      wmiev_query_single_instance(fx->reg, &guid_wmilib, named(&n, "zzz"), buf, &size, &diag),
      WMIEV_STATUS_WMI_INSTANCE_NOT_FOUND);

  assert_status(wmiev_send_function_control(device, &guid_wmilib, IRP_MN_ENABLE_EVENTS, &diag),
                WMIEV_STATUS_SUCCESS);
  assert_status(wmiev_send_function_control(device, &guid_wmilib, IRP_MN_DISABLE_EVENTS, &diag),
                WMIEV_STATUS_SUCCESS);
  assert_int_equal(wl.enables, 1);
  assert_int_equal(wl.disables, 1);
  assert_int_equal(fx->violations, 0);
  free(buf);
  assert_status(wmiev_provider_destroy(wp), WMIEV_STATUS_SUCCESS);
}

/* ---- tests: fault injection -------------------------------------------------------------- */

static void every_allocation_failure_is_clean(void **state) {
  fixture *fx = *state;
  provider *a = add_a(fx);
  add_b(fx);
  add_dynamic(fx, "prov-c", NULL);
  add_dynamic(fx, "prov-d", "dyn");
  a->need = 1500; /* growth in both queries */
  a->data = "0123456789";
  a->data_size = 10;
  uint64_t failures = 0;
  for (uint64_t nth = 1;; nth++) {
    assert_true(nth < 500);
    uint64_t live = debug_alloc_live_count(fx->alloc);
    debug_alloc_fail_nth(fx->alloc, nth, false);
    wmiev_status st[4];
    wmiev_diag diag[4];
    uint8_t buf[512];
    iname n;
    uint32_t size = sizeof buf;
    st[0] = wmiev_query_single_instance(fx->reg, &guid_data, named(&n, "A1"), buf, &size, &diag[0]);
    size = sizeof buf;
    st[1] = wmiev_query_all_data(fx->reg, &guid_data, buf, &size, &diag[1]);
    uint32_t out_size = 16;
    st[2] = wmiev_execute_method(fx->reg, &guid_data, named(&n, "A0"), 7, "abc", 3, buf, &out_size,
                                 &diag[2]);
    size = sizeof buf;
    st[3] = wmiev_query_single_instance(fx->reg, &guid_dyn, named(&n, "dyn"), buf, &size, &diag[3]);
    bool hit = debug_alloc_failure_hit(fx->alloc);
    debug_alloc_fail_nth(fx->alloc, 0, false);
    assert_int_equal(debug_alloc_live_count(fx->alloc), live);
    int failed = 0;
    for (int i = 0; i < 4; i++) {
      if (st[i] != WMIEV_STATUS_SUCCESS) {
        assert_status(st[i], WMIEV_STATUS_INSUFFICIENT_RESOURCES);
        assert_status(diag[i].status, WMIEV_STATUS_INSUFFICIENT_RESOURCES);
        failed++;
      }
    }
    if (!hit) {
      assert_int_equal(failed, 0);
      break;
    }
    assert_int_equal(failed, 1); /* one injected failure, one failed call */
    failures++;
  }
  assert_true(failures >= 16);
  assert_int_equal(debug_alloc_errors(fx->alloc), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
      T(no_provider_is_guid_not_found),
      T(arguments_are_checked),
      T(query_static_name_request_is_exact),
      T(query_by_provider_and_index),
      T(dynamic_name_falls_through_to_the_provider_that_has_it),
      T(name_addressed_to_one_provider),
      T(event_only_blocks_are_not_queried),
      T(dynamic_name_nobody_has),
      T(pdo_blocks_carry_pdo_instance_names),
      T(query_grows_to_exactly_size_needed),
      T(query_two_call),
      T(all_data_chains_replies_through_linkage),
      T(all_data_two_call),
      T(all_data_skips_blocked_providers),
      T(all_data_grows_per_provider),
      T(all_data_stops_at_the_first_failure),
      T(malformed_replies_are_rejected),
      T(malformed_all_data_leaves_nothing),
      T(set_single_instance_request_and_statuses),
      T(set_single_item_request_and_statuses),
      T(set_dynamic_name_offered_in_turn),
      T(method_request_is_exact),
      T(method_two_call_does_not_rerun),
      T(method_dynamic_name),
      T(function_control_sends_a_bare_header),
      T(end_to_end_through_wmilib),
      T(every_allocation_failure_is_clean),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
