/*
 * fuzz_provider_reply: the core's side of a conversation with a driver that
 * answers anything (lib/core/registration.c, requester.c, irp.c).
 *
 * Two devices are created in a registry that allocates through the debug
 * allocator: A, attached above a device L without a dispatch routine (so a
 * forwarded IRP reaches the bottom of a real stack), and B on its own. Their
 * dispatch routine answers every IRP from the fuzz input: status,
 * IoStatus.Information, bytes written anywhere in the buffer, and how
 * (complete, pend and complete, forward, pend and hold until later, return
 * without completing, complete twice, DEREGISTER itself first). The rest
 * of the input is a script of operations: wmiev_registration_control
 * (REGISTER, UPDATE_GUIDS, DEREGISTER, REREGISTER, BLOCK_IRPS) and the
 * requester's queries, methods and sets. The encoding is in fuzz_common.h.
 *
 * The harness keeps a model of what each device has registered, built from
 * the documented rules (docs/decisions.md D7, D8) and the REGINFO answer the
 * device gave, parsed with the REGINFO parser. Properties:
 *  1. Registration: an action in the wrong state fails with
 *     STATUS_INVALID_PARAMETER without sending an IRP; DEREGISTER and
 *     BLOCK_IRPS of a registered device succeed; a REGISTER/UPDATE that
 *     succeeds commits exactly the blocks of the answer (the registry lists
 *     them, in order, with their flags and instance counts) and one that
 *     fails commits nothing; the registry's counters move by exactly one on
 *     success and not at all on failure. Static instance names resolve back
 *     to their owner.
 *  2. Requests: results returned with success re-validate with the WNODE
 *     validator (QUERY_ALL_DATA: a chain of ALL_DATA replies linked the
 *     documented way, from providers of the GUID in registration order;
 *     QUERY_SINGLE_INSTANCE: one SINGLE_INSTANCE stamped with a provider of
 *     the GUID); the two-call pattern holds (STATUS_BUFFER_TOO_SMALL reports
 *     more than was given); a failure leaves the caller's size and buffer
 *     untouched; no informational status leaks out as a result; a GUID
 *     nobody provides is STATUS_WMI_GUID_NOT_FOUND, one only event-only
 *     blocks provide STATUS_WMI_NOT_SUPPORTED without an IRP (decisions
 *     D14), and replies never come from an event-only block.
 *  3. IRP rules: a second completion is refused; DEREGISTER from inside the
 *     device's own dispatch is STATUS_POSSIBLE_DEADLOCK and changes nothing;
 *     the violation hook saw exactly what the counter says.
 *  4. Teardown: every IRP held past its sender's timeout is completed late
 *     (sometimes after its device is gone); then no allocation is live and
 *     the allocator saw no double free or size mismatch.
 */
#include "fuzz_common.h"

#include "debug_alloc.h"

#define MAX_HELD 3              /* IRPs kept pending per input (each costs a timeout) */
#define MAX_BUF 65536u          /* caller buffers of queries and methods */
#define REGINFO_MAX (16u << 20) /* registration.c: a device asking for more is broken */
#define REPLY_MAX (64u << 20)   /* requester.c: likewise for a reply */
#define SENTINEL 0xA5u

typedef struct model_block {
  GUID guid;
  uint32_t flags;
  uint32_t instance_count; /* 0 for dynamic names, as the registry reports it */
  wmiev_name_source names;
  uint64_t order; /* registration order across devices */
} model_block;

typedef struct pr_env pr_env;

typedef struct dev {
  pr_env *env;
  wmiev_device *device;
  const char *name;
  bool registered; /* REGISTERED or BLOCKED */
  bool blocked;
  model_block *blocks;
  size_t count, capacity;
  /* The last REGINFO answer the device gave (the one a successful
   * registration used): the buffer and IoStatus as the sender got them. */
  bool reginfo_seen;
  uint8_t *reginfo;
  uint32_t reginfo_cap;
  wmiev_status reginfo_status;
  uintptr_t reginfo_info;
} dev;

typedef struct held_irp {
  wmiev_irp *irp;
  wmiev_status status;
  uintptr_t info;
} held_irp;

struct pr_env {
  fuzz_in in;
  debug_alloc *dbg;
  wmiev_registry *registry;
  wmiev_device *lower; /* below A, no dispatch routine */
  dev devs[2];
  held_irp held[MAX_HELD];
  size_t held_count;
  uint64_t next_order;
  uint64_t violations_seen;
  char long_pdo_id[600];
};

/* WMIEV_FUZZ_TRACE=1 in the environment prints each operation and its
 * result: replaying a crash input with it shows the script it encodes. */
static bool trace;

#define TRACE(...)                                                                                 \
  do {                                                                                             \
    if (trace) {                                                                                   \
      fprintf(stderr, __VA_ARGS__);                                                                \
    }                                                                                              \
  } while (0)

/* ---- Small helpers ------------------------------------------------------------------------ */

static uint32_t rd32(const uint8_t *p, size_t at) {
  uint32_t v;
  memcpy(&v, p + at, sizeof v);
  return v;
}

static void wr32(uint8_t *p, size_t at, uint32_t v) { memcpy(p + at, &v, sizeof v); }

static bool guid_eq(const GUID *a, const GUID *b) { return memcmp(a, b, sizeof *a) == 0; }

static bool all_bytes(const uint8_t *p, size_t n, uint8_t value) {
  for (size_t i = 0; i < n; i++) {
    if (p[i] != value) {
      return false;
    }
  }
  return true;
}

static void on_violation(wmiev_violation rule, const char *message, void *ctx) {
  pr_env *env = ctx;
  FUZZ_CHECK(rule >= WMIEV_VIOLATION_NOT_COMPLETED && rule <= WMIEV_VIOLATION_PENDING_TIMEOUT);
  FUZZ_CHECK(message != NULL && message[0] != '\0');
  env->violations_seen++;
}

static wmiev_status resolve_pdo(uintptr_t pdo, const char **instance_id, void *ctx) {
  pr_env *env = ctx;
  if (pdo == PR_PDO_SHORT) {
    *instance_id = PR_PDO_SHORT_ID;
    return WMIEV_STATUS_SUCCESS;
  }
  if (pdo == PR_PDO_LONG) {
    *instance_id = env->long_pdo_id; /* longer than the registry keeps: refused */
    return WMIEV_STATUS_SUCCESS;
  }
  return WMIEV_STATUS_INVALID_PARAMETER;
}

/* ---- The fuzzed dispatch routine ------------------------------------------------------------ */

static wmiev_status read_status(fuzz_in *in) {
  uint8_t pick = fuzz_u8(in);
  if (pick == PR_STATUS_RAW) {
    return (wmiev_status)fuzz_u32(in);
  }
  return PR_STATUSES[pick % PR_STATUS_COUNT];
}

/* Rewrites a size request above PR_GROWTH_CAP (and within what the library
 * honours) to one just above it: see PR_GROWTH_CAP in fuzz_common.h. */
static uint32_t tame(uint32_t wanted, uint32_t library_max) {
  return wanted > PR_GROWTH_CAP && wanted <= library_max ? PR_GROWTH_CAP + (wanted & 0xffffu)
                                                         : wanted;
}

static bool is_reginfo(uint8_t minor) {
  return minor == IRP_MN_REGINFO || minor == IRP_MN_REGINFO_EX;
}

static void remember_reginfo(dev *d, const wmiev_irp *irp) {
  free(d->reginfo);
  d->reginfo_cap = irp->Wmi.BufferSize;
  d->reginfo = malloc(d->reginfo_cap == 0 ? 1 : d->reginfo_cap);
  FUZZ_CHECK(d->reginfo != NULL);
  if (d->reginfo_cap != 0) {
    memcpy(d->reginfo, irp->Wmi.Buffer, d->reginfo_cap);
  }
  d->reginfo_status = irp->IoStatus.Status;
  d->reginfo_info = irp->IoStatus.Information;
  d->reginfo_seen = true;
}

static wmiev_status fuzz_dispatch(wmiev_device *device, wmiev_irp *irp, void *payload) {
  dev *d = payload;
  pr_env *env = d->env;
  fuzz_in *in = &env->in;
  FUZZ_CHECK(irp->MajorFunction == IRP_MJ_SYSTEM_CONTROL);
  FUZZ_CHECK(irp->Wmi.ProviderId == wmiev_device_irp_provider_id(device));
  FUZZ_CHECK(irp->Wmi.Buffer != NULL || irp->Wmi.BufferSize == 0);
  FUZZ_CHECK(((uintptr_t)irp->Wmi.Buffer & 7u) == 0); /* irp.h: library buffers are 8-aligned */

  uint8_t act = fuzz_u8(in);
  wmiev_status status = read_status(in);
  uint8_t info_mode = (uint8_t)(fuzz_u8(in) % PR_INFO_COUNT);
  uint32_t raw_info = info_mode == PR_INFO_RAW16   ? fuzz_u16(in)
                      : info_mode == PR_INFO_RAW32 ? fuzz_u32(in)
                                                   : 0;
  uint8_t *buf = irp->Wmi.Buffer;
  uint32_t cap = irp->Wmi.BufferSize;
  uint64_t written_end = 0;
  if ((act & PR_ACT_WRITE) != 0) {
    uint32_t off = fuzz_u16(in);
    uint32_t len = fuzz_u16(in);
    const uint8_t *bytes;
    size_t n = fuzz_bytes(in, len, &bytes);
    if (off < cap) {
      n = n < cap - off ? n : cap - off;
      memcpy(buf + off, bytes, n);
      written_end = off + n;
    }
  }
  if ((act & PR_ACT_PATCH_SIZE) != 0 && cap >= 4) {
    /* WnodeHeader.BufferSize and WMIREGINFO.BufferSize both sit at 0. */
    wr32(buf, 0, (uint32_t)written_end);
  }
  if (is_reginfo(irp->MinorFunction) && cap >= 4) {
    wr32(buf, 0, tame(rd32(buf, 0), REGINFO_MAX));
  } else if (cap >= offsetof(WNODE_TOO_SMALL, SizeNeeded) + 4 &&
             (rd32(buf, offsetof(WNODE_HEADER, Flags)) & WNODE_FLAG_TOO_SMALL) != 0) {
    size_t at = offsetof(WNODE_TOO_SMALL, SizeNeeded);
    wr32(buf, at, tame(rd32(buf, at), REPLY_MAX));
  }

  uintptr_t info = 0;
  switch (info_mode) {
  case PR_INFO_WRITTEN:
    info = (uintptr_t)written_end;
    break;
  case PR_INFO_ZERO:
    break;
  case PR_INFO_FOUR:
    info = 4;
    break;
  case PR_INFO_BUFFER:
    info = cap;
    break;
  case PR_INFO_BUFFER_PLUS:
    info = (uintptr_t)cap + 1u;
    break;
  case PR_INFO_WNODE_SIZE:
    info = cap >= 4 ? rd32(buf, 0) : 0;
    break;
  default:
    info = raw_info;
    break;
  }

  TRACE("  %s: IRP minor 0x%02x, %u bytes: action %u, %s, Information %zu, wrote %llu\n", d->name,
        (unsigned)irp->MinorFunction, (unsigned)cap, (unsigned)(act & 7u),
        wmiev_status_name(status), (size_t)info, (unsigned long long)written_end);
  wmiev_status ret;
  switch (act & 7u) {
  case PR_ACT_PEND_COMPLETE:
    wmiev_irp_mark_pending(irp);
    FUZZ_CHECK(wmiev_irp_complete(irp, status, info) == status);
    ret = WMIEV_STATUS_PENDING;
    break;
  case PR_ACT_FORWARD:
    /* The bottom of the stack completes with what the IRP carries. */
    irp->IoStatus.Status = status;
    irp->IoStatus.Information = info;
    ret = wmiev_irp_forward(device, irp);
    FUZZ_CHECK(wmiev_irp_is_completed(irp));
    break;
  case PR_ACT_HOLD:
    if (env->held_count < MAX_HELD) {
      wmiev_irp_mark_pending(irp);
      env->held[env->held_count++] = (held_irp){irp, status, info};
      return WMIEV_STATUS_PENDING; /* the sender times out; nothing to remember */
    }
    ret = wmiev_irp_complete(irp, status, info);
    break;
  case PR_ACT_NO_COMPLETE:
    /* Any status but PENDING: returning PENDING without completing is a hold. */
    return status == WMIEV_STATUS_PENDING ? WMIEV_STATUS_SUCCESS : status;
  case PR_ACT_COMPLETE_TWICE:
    ret = wmiev_irp_complete(irp, status, info);
    FUZZ_CHECK(wmiev_irp_complete(irp, WMIEV_STATUS_SUCCESS, 0) ==
               WMIEV_STATUS_INVALID_DEVICE_REQUEST);
    break;
  case PR_ACT_DEREGISTER_INSIDE: {
    size_t before = wmiev_registry_blocks(env->registry, NULL, NULL, 0);
    wmiev_status st = wmiev_registration_control(device, WMIREG_ACTION_DEREGISTER, NULL);
    if (st != WMIEV_STATUS_POSSIBLE_DEADLOCK) {
      fuzz_fail("DEREGISTER inside the device's own dispatch returned %s", wmiev_status_name(st));
    }
    FUZZ_CHECK(wmiev_registry_blocks(env->registry, NULL, NULL, 0) == before);
    ret = wmiev_irp_complete(irp, status, info);
    break;
  }
  default: /* PR_ACT_COMPLETE and the spare codes */
    ret = wmiev_irp_complete(irp, status, info);
    break;
  }
  if (is_reginfo(irp->MinorFunction)) {
    remember_reginfo(d, irp);
  }
  return ret;
}

static void complete_held(pr_env *env) {
  for (size_t i = 0; i < env->held_count; i++) {
    held_irp *h = &env->held[i];
    /* The sender gave up long ago: this completion frees the IRP. */
    FUZZ_CHECK(wmiev_irp_complete(h->irp, h->status, h->info) == h->status);
  }
  env->held_count = 0;
}

/* ---- The model -------------------------------------------------------------------------- */

static void model_append(pr_env *env, dev *d, const wmiev_reginfo_block_view *b) {
  if (d->count == d->capacity) {
    d->capacity = d->capacity == 0 ? 8 : d->capacity * 2;
    d->blocks = realloc(d->blocks, d->capacity * sizeof *d->blocks);
    FUZZ_CHECK(d->blocks != NULL);
  }
  model_block *m = &d->blocks[d->count++];
  m->guid = b->guid;
  m->flags = b->flags;
  m->names = b->names;
  m->instance_count = b->names == WMIEV_NAMES_DYNAMIC ? 0 : b->instance_count;
  m->order = env->next_order++;
}

static model_block *model_find(dev *d, const GUID *guid) {
  for (size_t i = 0; i < d->count; i++) {
    if (guid_eq(&d->blocks[i].guid, guid)) {
      return &d->blocks[i];
    }
  }
  return NULL;
}

/* The answer a successful REGISTER / UPDATE_GUIDS used: the device's last
 * REGINFO answer, which the parser must accept too. */
static void answer_view(dev *d, bool update, wmiev_reginfo_view *view) {
  FUZZ_CHECK(d->reginfo_seen);
  FUZZ_CHECK(WMIEV_SUCCESS(d->reginfo_status));
  FUZZ_CHECK(d->reginfo_info >= sizeof(WMIREGINFOW) && d->reginfo_info <= d->reginfo_cap);
  wmiev_diag diag;
  wmiev_status st = wmiev_reginfo_validate(d->reginfo, d->reginfo_info,
                                           update ? WMIEV_REGINFO_UPDATE : 0, view, &diag);
  if (st != WMIEV_STATUS_SUCCESS) {
    fuzz_fail("the registry accepted a REGINFO answer the parser refuses: %s (%s)",
              wmiev_status_name(st), diag.message);
  }
}

static void model_register(pr_env *env, dev *d) {
  wmiev_reginfo_view view;
  answer_view(d, false, &view);
  d->count = 0;
  for (uint32_t i = 0; i < view.block_count; i++) {
    wmiev_reginfo_block_view b;
    FUZZ_CHECK(wmiev_reginfo_block(&view, i, &b) == WMIEV_STATUS_SUCCESS);
    model_append(env, d, &b);
  }
}

/* docs/decisions.md D8: REMOVE_GUID entries go first; a GUID still present
 * is replaced in place (keeping its order); a new one is appended. */
static void model_update(pr_env *env, dev *d) {
  wmiev_reginfo_view view;
  answer_view(d, true, &view);
  for (uint32_t i = 0; i < view.block_count; i++) {
    wmiev_reginfo_block_view b;
    FUZZ_CHECK(wmiev_reginfo_block(&view, i, &b) == WMIEV_STATUS_SUCCESS);
    model_block *m = b.remove ? model_find(d, &b.guid) : NULL;
    if (m != NULL) {
      memmove(m, m + 1, (size_t)(d->blocks + d->count - (m + 1)) * sizeof *m);
      d->count--;
    }
  }
  for (uint32_t i = 0; i < view.block_count; i++) {
    wmiev_reginfo_block_view b;
    FUZZ_CHECK(wmiev_reginfo_block(&view, i, &b) == WMIEV_STATUS_SUCCESS);
    if (b.remove) {
      continue;
    }
    model_block *m = model_find(d, &b.guid);
    if (m == NULL) {
      model_append(env, d, &b);
    } else {
      m->flags = b.flags;
      m->names = b.names;
      m->instance_count = b.names == WMIEV_NAMES_DYNAMIC ? 0 : b.instance_count;
    }
  }
}

/* Property 1: the registry lists exactly the model's blocks for each device. */
static void check_model(pr_env *env) {
  size_t n = wmiev_registry_blocks(env->registry, NULL, NULL, 0);
  wmiev_block_info *all = calloc(n == 0 ? 1 : n, sizeof *all);
  FUZZ_CHECK(all != NULL);
  FUZZ_CHECK(wmiev_registry_blocks(env->registry, NULL, all, n) == n);
  size_t total = 0;
  for (int k = 0; k < 2; k++) {
    dev *d = &env->devs[k];
    total += d->count;
    size_t seen = 0;
    uint32_t id = wmiev_device_provider_id(d->device);
    for (size_t i = 0; i < n; i++) {
      if (all[i].device != d->device) {
        continue;
      }
      FUZZ_CHECK(all[i].provider_id == id);
      if (seen >= d->count) {
        fuzz_fail("device %s: the registry lists more than the %zu blocks it registered", d->name,
                  d->count);
      }
      const model_block *m = &d->blocks[seen++];
      if (!guid_eq(&all[i].guid, &m->guid) || all[i].flags != m->flags ||
          all[i].instance_count != m->instance_count || all[i].names != m->names) {
        fuzz_fail("device %s block %zu: registry has flags 0x%x count %u, expected 0x%x count %u",
                  d->name, seen - 1, (unsigned)all[i].flags, (unsigned)all[i].instance_count,
                  (unsigned)m->flags, (unsigned)m->instance_count);
      }
    }
    if (seen != d->count) {
      fuzz_fail("device %s: registry lists %zu blocks, it registered %zu", d->name, seen, d->count);
    }
  }
  FUZZ_CHECK(total == n);
  free(all);
}

/* Static names of a block resolve back to a provider and index with that very name. */
static void check_names(pr_env *env, const dev *d) {
  uint32_t id = wmiev_device_provider_id(d->device);
  for (size_t b = 0; b < d->count && b < 4; b++) {
    const model_block *m = &d->blocks[b];
    uint32_t probe = m->instance_count < 3 ? m->instance_count : 3;
    for (uint32_t i = 0; i < probe; i++) {
      uint16_t name[600];
      size_t units = 0;
      wmiev_status st = wmiev_registry_instance_name(env->registry, &m->guid, id, i, name,
                                                     sizeof name / 2, &units);
      if (st == WMIEV_STATUS_BUFFER_TOO_SMALL) {
        FUZZ_CHECK(units > sizeof name / 2);
        continue;
      }
      FUZZ_CHECK(st == WMIEV_STATUS_SUCCESS);
      uint32_t owner = 0, index = 0;
      FUZZ_CHECK(wmiev_registry_find_instance(env->registry, &m->guid, name, units, &owner,
                                              &index) == WMIEV_STATUS_SUCCESS);
      uint16_t again[600];
      size_t again_units = 0;
      FUZZ_CHECK(wmiev_registry_instance_name(env->registry, &m->guid, owner, index, again,
                                              sizeof again / 2,
                                              &again_units) == WMIEV_STATUS_SUCCESS);
      FUZZ_CHECK(again_units == units && memcmp(again, name, units * 2) == 0);
    }
    uint16_t unused[4];
    size_t units = 0;
    wmiev_status st = wmiev_registry_instance_name(env->registry, &m->guid, id, m->instance_count,
                                                   unused, 4, &units);
    FUZZ_CHECK(st == WMIEV_STATUS_WMI_INSTANCE_NOT_FOUND);
  }
}

/* ---- Operations -------------------------------------------------------------------------- */

static void op_registration(pr_env *env, dev *d, uint32_t action) {
  wmiev_registry_stats before, after;
  wmiev_registry_get_stats(env->registry, &before);
  d->reginfo_seen = false;
  bool was_registered = d->registered;
  wmiev_diag diag;
  memset(&diag, 0, sizeof diag);
  TRACE("%s: registration action %u\n", d->name, (unsigned)action);
  wmiev_status st = wmiev_registration_control(d->device, action, &diag);
  TRACE("  -> %s %s\n", wmiev_status_name(st), st == WMIEV_STATUS_SUCCESS ? "" : diag.message);
  FUZZ_CHECK_STATUS_CLASS(st);
  wmiev_registry_get_stats(env->registry, &after);
  bool ok = st == WMIEV_STATUS_SUCCESS;
  if (!ok) {
    FUZZ_CHECK(diag.status == st && diag.field != NULL);
  }
  bool wrong_state = action == WMIREG_ACTION_REGISTER     ? was_registered
                     : action == WMIREG_ACTION_REREGISTER ? false
                                                          : !was_registered;
  if (wrong_state) {
    if (st != WMIEV_STATUS_INVALID_PARAMETER) {
      fuzz_fail("action %u in the wrong state returned %s", (unsigned)action,
                wmiev_status_name(st));
    }
    FUZZ_CHECK(after.irps_sent == before.irps_sent);
  }
  switch (action) {
  case WMIREG_ACTION_REGISTER:
  case WMIREG_ACTION_REREGISTER:
    if (ok) {
      model_register(env, d);
      d->registered = true;
      d->blocked = false;
    }
    break;
  case WMIREG_ACTION_UPDATE_GUIDS:
    if (ok) {
      model_update(env, d);
    }
    break;
  case WMIREG_ACTION_DEREGISTER:
    if (!wrong_state && !ok) {
      fuzz_fail("DEREGISTER of a registered device returned %s", wmiev_status_name(st));
    }
    if (ok) {
      d->count = 0;
      d->registered = false;
      d->blocked = false;
    }
    break;
  case WMIREG_ACTION_BLOCK_IRPS:
    if (!wrong_state && !ok) {
      fuzz_fail("BLOCK_IRPS of a registered device returned %s", wmiev_status_name(st));
    }
    if (ok) {
      d->blocked = true;
    }
    break;
  }
  /* Counters move by one on success, not at all on failure. */
  bool reg = action == WMIREG_ACTION_REGISTER || action == WMIREG_ACTION_REREGISTER;
  FUZZ_CHECK(after.registrations - before.registrations == (uint64_t)(ok && reg));
  FUZZ_CHECK(after.updates - before.updates ==
             (uint64_t)(ok && action == WMIREG_ACTION_UPDATE_GUIDS));
  FUZZ_CHECK(after.deregistrations - before.deregistrations ==
             (uint64_t)(ok && action == WMIREG_ACTION_DEREGISTER));
  FUZZ_CHECK(after.rejected_reginfo - before.rejected_reginfo <= (ok ? 0u : 1u));
  check_model(env);
  check_names(env, d);
}

/* The GUID an operation is about: one some device registered, or another. */
static GUID pick_guid(pr_env *env) {
  uint8_t pick = fuzz_u8(&env->in);
  size_t total = env->devs[0].count + env->devs[1].count;
  if (pick >= PR_GUID_UNKNOWN || total == 0) {
    return PR_GUID_OTHER;
  }
  size_t i = pick % total;
  return i < env->devs[0].count ? env->devs[0].blocks[i].guid
                                : env->devs[1].blocks[i - env->devs[0].count].guid;
}

/* The providers of a GUID by the model, in registration order (at most 2);
 * with @p queryable_only, not those registered event-only (decisions D14:
 * consumers never query, set or execute those). */
static size_t providers_of(pr_env *env, const GUID *guid, bool queryable_only, dev *out[2]) {
  size_t n = 0;
  uint64_t order[2] = {0, 0};
  for (int k = 0; k < 2; k++) {
    model_block *m = model_find(&env->devs[k], guid);
    if (m != NULL && (!queryable_only || (m->flags & WMIREG_FLAG_EVENT_ONLY_GUID) == 0)) {
      out[n] = &env->devs[k];
      order[n++] = m->order;
    }
  }
  if (n == 2 && order[1] < order[0]) {
    dev *t = out[0];
    out[0] = out[1];
    out[1] = t;
  }
  return n;
}

typedef struct ref_storage {
  wmiev_instance_ref ref;
  uint16_t units[64];
} ref_storage;

static void read_ref(pr_env *env, ref_storage *r) {
  memset(r, 0, sizeof *r);
  uint8_t mode = (uint8_t)(fuzz_u8(&env->in) % 3u);
  uint8_t who = fuzz_u8(&env->in);
  r->ref.index = fuzz_u8(&env->in);
  uint32_t id = who == 0   ? wmiev_device_provider_id(env->devs[0].device)
                : who == 1 ? wmiev_device_provider_id(env->devs[1].device)
                : who == 2 ? 0u
                           : 1000u + who;
  if (mode != 1) {
    r->ref.provider_id = id;
  }
  if (mode != 0) {
    size_t n = fuzz_u8(&env->in) % 64u;
    for (size_t i = 0; i < n; i++) {
      r->units[i] = fuzz_u16(&env->in);
    }
    r->ref.name = r->units;
    r->ref.name_units = n;
  }
}

static uint64_t irps_sent(pr_env *env) {
  wmiev_registry_stats s;
  wmiev_registry_get_stats(env->registry, &s);
  return s.irps_sent;
}

/* Who a consumer request reached, by the model: a GUID nobody provides is
 * STATUS_WMI_GUID_NOT_FOUND, one only event-only blocks provide
 * STATUS_WMI_NOT_SUPPORTED with no IRP sent (D14). An instance request may
 * fail its own argument check (STATUS_INVALID_PARAMETER) first. */
static void check_reach(pr_env *env, const GUID *guid, wmiev_status st, uint64_t irps_before,
                        bool instance) {
  dev *p[2];
  size_t all = providers_of(env, guid, false, p);
  size_t queryable = providers_of(env, guid, true, p);
  bool bad_args = instance && st == WMIEV_STATUS_INVALID_PARAMETER;
  if (all == 0 && st != WMIEV_STATUS_WMI_GUID_NOT_FOUND && !bad_args) {
    fuzz_fail("request for a GUID nobody registered returned %s", wmiev_status_name(st));
  }
  if (all != 0 && queryable == 0) {
    if (st != WMIEV_STATUS_WMI_NOT_SUPPORTED && !bad_args) {
      fuzz_fail("request for an event-only GUID returned %s", wmiev_status_name(st));
    }
    FUZZ_CHECK(irps_sent(env) == irps_before);
  }
}

static bool is_provider_id(dev *const p[2], size_t n, uint32_t id) {
  for (size_t i = 0; i < n; i++) {
    if (wmiev_device_provider_id(p[i]->device) == id) {
      return true;
    }
  }
  return false;
}

/* A caller's buffer of `given` bytes (0: a valid pointer all the same),
 * every byte SENTINEL, so that what the library writes shows. */
static uint8_t *sentinel_buffer(uint32_t given) {
  uint8_t *buf = malloc(given == 0 ? 1 : given);
  FUZZ_CHECK(buf != NULL);
  memset(buf, SENTINEL, given);
  return buf;
}

/* Property 2's two-call pattern on the caller's `given`-byte buffer after a
 * query or method returned `st` and set its in/out size to `size`. */
static void check_out_buffer(wmiev_status st, const uint8_t *buf, uint32_t given, uint32_t size) {
  if (st == WMIEV_STATUS_SUCCESS) {
    /* At most `given` bytes written, nothing past `size`. */
    FUZZ_CHECK(size <= given);
    FUZZ_CHECK(all_bytes(buf + size, given - size, SENTINEL));
  } else if (st == WMIEV_STATUS_BUFFER_TOO_SMALL) {
    /* Nothing written; more asked for (by a method: it needs a larger
     * buffer, or it ran and its output was lost). */
    FUZZ_CHECK(size > given);
    FUZZ_CHECK(all_bytes(buf, given, SENTINEL));
  } else {
    /* A failure leaves the size and the buffer alone. */
    FUZZ_CHECK(size == given);
    FUZZ_CHECK(all_bytes(buf, given, SENTINEL));
  }
}

static void op_query_all(pr_env *env) {
  GUID guid = pick_guid(env);
  uint32_t given = fuzz_u16(&env->in);
  uint8_t *buf = sentinel_buffer(given);
  dev *p[2];
  size_t np = providers_of(env, &guid, true, p);
  uint32_t size = given;
  wmiev_diag diag;
  uint64_t irps_before = irps_sent(env);
  TRACE("QUERY_ALL_DATA (%zu providers), %u bytes\n", np, (unsigned)given);
  wmiev_status st =
      wmiev_query_all_data(env->registry, &guid, given == 0 ? NULL : buf, &size, &diag);
  TRACE("  -> %s, size %u\n", wmiev_status_name(st), (unsigned)size);
  FUZZ_CHECK_STATUS_CLASS(st);
  check_reach(env, &guid, st, irps_before, false);
  check_out_buffer(st, buf, given, size);
  if (st == WMIEV_STATUS_SUCCESS) {
    /* Property 2: a chain of valid ALL_DATA replies, from the (queryable)
     * providers of the GUID in registration order, 8-aligned, linked by
     * offset, 0 at the end. */
    FUZZ_CHECK(size >= sizeof(WNODE_ALL_DATA));
    size_t at = 0, next_provider = 0;
    for (;;) {
      wmiev_wnode_view v;
      wmiev_diag vd;
      wmiev_status vst = wmiev_wnode_validate(buf + at, size - at, 0, &v, &vd);
      if (vst != WMIEV_STATUS_SUCCESS) {
        fuzz_fail("QUERY_ALL_DATA result at offset %zu does not validate: %s (%s)", at,
                  wmiev_status_name(vst), vd.message);
      }
      FUZZ_CHECK(v.kind == WMIEV_WNODE_ALL_DATA);
      while (next_provider < np &&
             wmiev_device_provider_id(p[next_provider]->device) != v.provider_id) {
        next_provider++;
      }
      if (next_provider == np) {
        fuzz_fail("QUERY_ALL_DATA reply from provider %u, not a provider of the GUID in order",
                  (unsigned)v.provider_id);
      }
      FUZZ_CHECK(!p[next_provider]->blocked);
      next_provider++;
      uint32_t linkage = rd32(buf + at, offsetof(WNODE_HEADER, Linkage));
      if (linkage == 0) {
        FUZZ_CHECK(at + v.buffer_size == size);
        break;
      }
      FUZZ_CHECK(linkage == ((v.buffer_size + 7u) & ~7u));
      at += linkage;
      FUZZ_CHECK(at < size);
    }
  } else if (st != WMIEV_STATUS_BUFFER_TOO_SMALL) {
    FUZZ_CHECK(diag.status == st);
  }
  free(buf);
}

static void op_query_one(pr_env *env) {
  GUID guid = pick_guid(env);
  ref_storage r;
  read_ref(env, &r);
  uint32_t given = fuzz_u16(&env->in);
  uint8_t *buf = sentinel_buffer(given);
  dev *p[2];
  size_t np = providers_of(env, &guid, true, p);
  uint32_t size = given;
  uint64_t irps_before = irps_sent(env);
  TRACE("QUERY_SINGLE_INSTANCE (%zu providers), %u bytes\n", np, (unsigned)given);
  wmiev_status st = wmiev_query_single_instance(env->registry, &guid, &r.ref,
                                                given == 0 ? NULL : buf, &size, NULL);
  TRACE("  -> %s, size %u\n", wmiev_status_name(st), (unsigned)size);
  FUZZ_CHECK_STATUS_CLASS(st);
  check_reach(env, &guid, st, irps_before, true);
  check_out_buffer(st, buf, given, size);
  if (st == WMIEV_STATUS_SUCCESS) {
    wmiev_wnode_view v;
    wmiev_diag vd;
    wmiev_status vst = wmiev_wnode_validate(buf, size, 0, &v, &vd);
    if (vst != WMIEV_STATUS_SUCCESS) {
      fuzz_fail("QUERY_SINGLE_INSTANCE result does not validate: %s (%s)", wmiev_status_name(vst),
                vd.message);
    }
    FUZZ_CHECK(v.kind == WMIEV_WNODE_SINGLE_INSTANCE && v.buffer_size == size);
    FUZZ_CHECK(is_provider_id(p, np, v.provider_id));
    FUZZ_CHECK(rd32(buf, offsetof(WNODE_HEADER, Linkage)) == 0);
  }
  free(buf);
}

static void op_method(pr_env *env) {
  GUID guid = pick_guid(env);
  ref_storage r;
  read_ref(env, &r);
  uint32_t method_id = fuzz_u32(&env->in);
  const uint8_t *input;
  size_t in_size = fuzz_bytes(&env->in, fuzz_u8(&env->in), &input);
  uint32_t given = fuzz_u16(&env->in);
  uint8_t *out = sentinel_buffer(given);
  uint32_t out_size = given;
  uint64_t irps_before = irps_sent(env);
  wmiev_status st =
      wmiev_execute_method(env->registry, &guid, &r.ref, method_id, in_size == 0 ? NULL : input,
                           (uint32_t)in_size, given == 0 ? NULL : out, &out_size, NULL);
  TRACE("EXECUTE_METHOD -> %s, out %u of %u\n", wmiev_status_name(st), (unsigned)out_size,
        (unsigned)given);
  FUZZ_CHECK_STATUS_CLASS(st);
  check_reach(env, &guid, st, irps_before, true);
  check_out_buffer(st, out, given, out_size);
  free(out);
}

static void op_set(pr_env *env) {
  GUID guid = pick_guid(env);
  ref_storage r;
  read_ref(env, &r);
  uint8_t item = fuzz_u8(&env->in);
  const uint8_t *data;
  size_t n = fuzz_bytes(&env->in, fuzz_u8(&env->in), &data);
  uint64_t irps_before = irps_sent(env);
  wmiev_status st = item == 0 ? wmiev_set_single_instance(env->registry, &guid, &r.ref,
                                                          n == 0 ? NULL : data, (uint32_t)n, NULL)
                              : wmiev_set_single_item(env->registry, &guid, &r.ref, item,
                                                      n == 0 ? NULL : data, (uint32_t)n, NULL);
  TRACE("CHANGE_SINGLE_%s -> %s\n", item == 0 ? "INSTANCE" : "ITEM", wmiev_status_name(st));
  FUZZ_CHECK_STATUS_CLASS(st);
  check_reach(env, &guid, st, irps_before, true);
}

/* ---- Setup and teardown --------------------------------------------------------------------- */

static void env_create(pr_env *env, const uint8_t *data, size_t size, uint8_t config) {
  memset(env, 0, sizeof *env);
  env->in.p = data;
  env->in.n = size;
  memset(env->long_pdo_id, 'P', sizeof env->long_pdo_id - 1);
  env->dbg = debug_alloc_create();
  wmiev_registry_options o;
  memset(&o, 0, sizeof o);
  o.allocator = debug_alloc_allocator(env->dbg);
  o.irp_timeout_ms = 1; /* PR_ACT_HOLD: the sender gives up at once */
  o.reginfo_initial_size = PR_REGINFO_SIZES[config & 7u];
  o.on_violation = on_violation;
  o.violation_ctx = env;
  o.resolve_pdo = resolve_pdo;
  o.resolve_pdo_ctx = env;
  FUZZ_CHECK(wmiev_registry_create(&o, &env->registry) == WMIEV_STATUS_SUCCESS);
  wmiev_device_options d;
  memset(&d, 0, sizeof d);
  d.name = "L";
  FUZZ_CHECK(wmiev_device_create(env->registry, &d, &env->lower) == WMIEV_STATUS_SUCCESS);
  for (int k = 0; k < 2; k++) {
    dev *x = &env->devs[k];
    x->env = env;
    x->name = k == 0 ? "A" : "B";
    memset(&d, 0, sizeof d);
    d.dispatch = fuzz_dispatch;
    d.payload = x;
    d.lower = k == 0 ? env->lower : NULL;
    d.name = x->name;
    FUZZ_CHECK(wmiev_device_create(env->registry, &d, &x->device) == WMIEV_STATUS_SUCCESS);
  }
}

static void env_destroy(pr_env *env, uint8_t config) {
  bool late = (config & PR_CONFIG_LATE_AFTER_DESTROY) != 0;
  if (!late) {
    complete_held(env);
  }
  FUZZ_CHECK(wmiev_device_destroy(env->devs[1].device) == WMIEV_STATUS_SUCCESS);
  FUZZ_CHECK(wmiev_device_destroy(env->devs[0].device) == WMIEV_STATUS_SUCCESS);
  FUZZ_CHECK(wmiev_device_destroy(env->lower) == WMIEV_STATUS_SUCCESS);
  complete_held(env); /* late: after the devices are gone */
  wmiev_registry_stats s;
  wmiev_registry_get_stats(env->registry, &s);
  FUZZ_CHECK(s.violations == env->violations_seen);
  wmiev_registry_destroy(env->registry);
  FUZZ_CHECK_NO_LEAKS(env->dbg);
  debug_alloc_destroy(env->dbg);
  for (int k = 0; k < 2; k++) {
    free(env->devs[k].blocks);
    free(env->devs[k].reginfo);
  }
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  const char *t = getenv("WMIEV_FUZZ_TRACE");
  trace = t != NULL && t[0] != '\0' && t[0] != '0';
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  pr_env env;
  uint8_t config = size > 0 ? data[0] : 0;
  env_create(&env, size > 0 ? data + 1 : data, size > 0 ? size - 1 : 0, config);
  for (int i = 0; i < PR_MAX_OPS && env.in.n > 0; i++) {
    uint8_t code = fuzz_u8(&env.in);
    dev *d = &env.devs[(code & PR_DEVICE_B) != 0 ? 1 : 0];
    switch ((code & 0x0fu) % PR_OP_COUNT) {
    case PR_OP_REGISTER:
      op_registration(&env, d, WMIREG_ACTION_REGISTER);
      break;
    case PR_OP_UPDATE:
      op_registration(&env, d, WMIREG_ACTION_UPDATE_GUIDS);
      break;
    case PR_OP_DEREGISTER:
      op_registration(&env, d, WMIREG_ACTION_DEREGISTER);
      break;
    case PR_OP_REREGISTER:
      op_registration(&env, d, WMIREG_ACTION_REREGISTER);
      break;
    case PR_OP_BLOCK_IRPS:
      op_registration(&env, d, WMIREG_ACTION_BLOCK_IRPS);
      break;
    case PR_OP_QUERY_ALL:
      op_query_all(&env);
      break;
    case PR_OP_QUERY_ONE:
      op_query_one(&env);
      break;
    case PR_OP_METHOD:
      op_method(&env);
      break;
    case PR_OP_SET:
      op_set(&env);
      break;
    case PR_OP_COMPLETE_HELD:
      TRACE("complete %zu held IRPs\n", env.held_count);
      complete_held(&env);
      break;
    }
  }
  env_destroy(&env, config);
  return 0;
}
