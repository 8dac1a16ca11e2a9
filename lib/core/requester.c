/*
 * The requester: what WMI does when a consumer asks a block for data (spec
 * §4.3, §5.6). It mirrors IoWMIQueryAllData, IoWMIQuerySingleInstance,
 * IoWMISetSingleInstance, IoWMISetSingleItem and IoWMIExecuteMethod, plus the
 * function-control requests the bus sends.
 *
 * Shape of every call:
 *  1. snapshot the providers of the GUID (wmiev_registry_blocks, which takes
 *     and drops the registry lock): no lock is held while an IRP is out, so a
 *     dispatch routine may call back into the library;
 *  2. for an instance request, resolve the instance to one provider + index
 *     (static names) or to the list of dynamic-name providers, which are
 *     offered the name in registration order until one does not answer
 *     STATUS_WMI_INSTANCE_NOT_FOUND;
 *  3. send_request(): the one place that sends a request WNODE, grows the
 *     buffer on WNODE_TOO_SMALL and validates the reply;
 *  4. copy the reply out (two-call pattern on the caller's size).
 *
 * Everything the requester allocates goes through the registry's allocator
 * and is freed on every path; a failing call returns nothing partial and
 * leaves the caller's size untouched (except STATUS_BUFFER_TOO_SMALL, which
 * reports the size needed). Decisions are in docs/decisions.md ("Requester").
 */
#include <stdio.h>
#include <string.h>

#include <wmiev/guid.h>
#include <wmiev/name.h>
#include <wmiev/requester.h>
#include <wmiev/wnode_build.h>
#include <wmiev/wnode_validate.h>

#include "registry_internal.h"

/* First IRP buffer of a query: one round trip for the blocks drivers usually have. */
#define INITIAL_REPLY_SIZE 1024u
/* A provider asking for more than this for one reply is broken, not large. */
#define MAX_REPLY_SIZE (64u * 1024u * 1024u)
/* Growth rounds per provider; each must ask for strictly more, so this only
 * stops a provider that creeps up a few bytes at a time. */
#define MAX_ROUNDS 16

#define ALIGN8(x) (((uint64_t)(x) + 7u) & ~(uint64_t)7u)

static void put_u32(uint8_t *p, size_t at, uint32_t value) { memcpy(p + at, &value, sizeof value); }

static uint32_t get_u32(const uint8_t *p, size_t at) {
  uint32_t value;
  memcpy(&value, p + at, sizeof value);
  return value;
}

static const char *minor_name(uint8_t minor) {
  switch (minor) {
  case IRP_MN_QUERY_ALL_DATA:
    return "IRP_MN_QUERY_ALL_DATA";
  case IRP_MN_QUERY_SINGLE_INSTANCE:
    return "IRP_MN_QUERY_SINGLE_INSTANCE";
  case IRP_MN_CHANGE_SINGLE_INSTANCE:
    return "IRP_MN_CHANGE_SINGLE_INSTANCE";
  case IRP_MN_CHANGE_SINGLE_ITEM:
    return "IRP_MN_CHANGE_SINGLE_ITEM";
  case IRP_MN_ENABLE_EVENTS:
    return "IRP_MN_ENABLE_EVENTS";
  case IRP_MN_DISABLE_EVENTS:
    return "IRP_MN_DISABLE_EVENTS";
  case IRP_MN_ENABLE_COLLECTION:
    return "IRP_MN_ENABLE_COLLECTION";
  case IRP_MN_DISABLE_COLLECTION:
    return "IRP_MN_DISABLE_COLLECTION";
  case IRP_MN_EXECUTE_METHOD:
    return "IRP_MN_EXECUTE_METHOD";
  default:
    return "IRP_MN_?";
  }
}

static wmiev_status out_of_memory(wmiev_diag *diag, size_t bytes) {
  return wmiev_diag_set(diag, WMIEV_STATUS_INSUFFICIENT_RESOURCES, "requester", 0,
                        "cannot allocate %zu bytes", bytes);
}

/* ---- Providers of a GUID ----------------------------------------------------- */

typedef struct snapshot {
  wmiev_block_info *blocks;
  size_t count;
  size_t capacity; /* entries allocated, for the free */
} snapshot;

static void snapshot_free(wmiev_registry *registry, snapshot *snap) {
  wmiev__free(registry, snap->blocks, snap->capacity * sizeof *snap->blocks);
  snap->blocks = NULL;
}

static wmiev_status guid_not_found(const GUID *guid, wmiev_diag *diag) {
  char text[WMIEV_GUID_STRING_SIZE];
  (void)wmiev_guid_format(guid, text);
  return wmiev_diag_set(diag, WMIEV_STATUS_WMI_GUID_NOT_FOUND, "Guid", 0,
                        "no provider has registered %s", text);
}

/*
 * Copies the providers of `guid` in registration order. The two calls take
 * the lock separately; a provider that comes or goes in between is one that
 * registered just after or deregistered just before the snapshot.
 */
/* The providers of `guid`. Event-only blocks (WMIREG_FLAG_EVENT_ONLY_GUID)
 * cannot be queried, set or executed by consumers (spec §3.3): they are
 * left out unless `allow_event_only` (the bus following an event reference,
 * which WMI does query, spec §6 #7). */
static wmiev_status take_snapshot(wmiev_registry *registry, const GUID *guid,
                                  bool allow_event_only, snapshot *snap, wmiev_diag *diag) {
  memset(snap, 0, sizeof *snap);
  size_t n = wmiev_registry_blocks(registry, guid, NULL, 0);
  if (n == 0) {
    return guid_not_found(guid, diag);
  }
  snap->blocks = wmiev__alloc(registry, n * sizeof *snap->blocks);
  if (snap->blocks == NULL) {
    return out_of_memory(diag, n * sizeof *snap->blocks);
  }
  snap->capacity = n;
  size_t now = wmiev_registry_blocks(registry, guid, snap->blocks, n);
  snap->count = now < n ? now : n;
  if (snap->count == 0) {
    snapshot_free(registry, snap);
    return guid_not_found(guid, diag);
  }
  if (!allow_event_only) {
    size_t kept = 0;
    for (size_t i = 0; i < snap->count; i++) {
      if ((snap->blocks[i].flags & WMIREG_FLAG_EVENT_ONLY_GUID) == 0) {
        snap->blocks[kept++] = snap->blocks[i];
      }
    }
    if (kept == 0) {
      snapshot_free(registry, snap);
      return wmiev_diag_set(diag, WMIEV_STATUS_WMI_NOT_SUPPORTED, "guid", 0,
                            "the block is registered event-only (WMIREG_FLAG_EVENT_ONLY_GUID): it "
                            "cannot be queried, set or executed");
    }
    snap->count = kept;
  }
  return WMIEV_STATUS_SUCCESS;
}

/* ---- Sending one request, with growth ------------------------------------------ */

/* One request WNODE for one provider, and how to treat the answer. */
typedef struct request {
  wmiev_registry *registry;
  const wmiev_block_info *provider;
  uint8_t minor;
  const uint8_t *wnode; /* copied to the start of every round's buffer */
  uint32_t wnode_size;
  uint32_t initial_size;       /* first Parameters.WMI.BufferSize, >= wnode_size */
  bool patch_buffer_size;      /* ALL_DATA: WnodeHeader.BufferSize = the round's buffer size */
  wmiev_wnode_kind reply_kind; /* 0: no reply (CHANGE_*), Information is ignored */
  bool grow;                   /* false: WNODE_TOO_SMALL ends the request (methods) */
} request;

typedef struct reply {
  uint8_t *buf; /* the IRP buffer of the last round, owned; NULL if none */
  uint32_t buf_size;
  wmiev_wnode_view view; /* the validated reply, pointing into buf */
  bool too_small;        /* !grow: the provider answered WNODE_TOO_SMALL ... */
  uint32_t size_needed;  /* ... asking for this Parameters.WMI.BufferSize */
  uint32_t data_offset;  /* the request's DataBlockOffset (instance requests) */
} reply;

static void reply_free(wmiev_registry *registry, reply *r) {
  wmiev__free(registry, r->buf, r->buf_size);
  r->buf = NULL;
}

#define WHO_FMT "device '%s' (provider %lu)"
/* By provider id, not through the snapshot's device pointer: the device may
 * have been destroyed since (the name is copied under the registry lock
 * into a temporary that lives until the end of the enclosing block). */
#define WHO_ARGS(registry, p)                                                                      \
  wmiev__device_name_copy((registry), (p)->provider_id, (char[64]){0}, 64),                        \
      (unsigned long)(p)->provider_id

/* A reply that breaks the protocol: a violation for the hook, a status for the caller. */
static wmiev_status bad_reply(const request *rq, wmiev_status status, const char *field,
                              uint32_t offset, const char *why, wmiev_diag *diag) {
  wmiev__report_violation(rq->registry, WMIEV_VIOLATION_BAD_REPLY, WHO_FMT " answered %s: %s",
                          WHO_ARGS(rq->registry, rq->provider), minor_name(rq->minor), why);
  return wmiev_diag_set(diag, status, field, offset, WHO_FMT ": %s",
                        WHO_ARGS(rq->registry, rq->provider), why);
}

/*
 * The validator sorts failures into five classes; a requester's caller needs
 * two: sizes that do not add up (STATUS_INVALID_BUFFER_SIZE) and contents
 * that are wrong (STATUS_INVALID_PARAMETER). STATUS_BUFFER_TOO_SMALL in
 * particular must not escape: it means "call again" at this API.
 */
static wmiev_status malformed_status(wmiev_status validator) {
  return validator == WMIEV_STATUS_BUFFER_TOO_SMALL || validator == WMIEV_STATUS_INVALID_BUFFER_SIZE
             ? WMIEV_STATUS_INVALID_BUFFER_SIZE
             : WMIEV_STATUS_INVALID_PARAMETER;
}

/*
 * Sends rq->wnode to the provider in a buffer of rq->initial_size bytes
 * (the WNODE at the start, zeros after it). A reply that is a valid
 * WNODE_TOO_SMALL asking for more makes it resend in a buffer of exactly
 * SizeNeeded bytes; any other reply must be a valid WNODE of rq->reply_kind
 * with BufferSize <= Information <= the buffer size.
 */
static wmiev_status send_request(const request *rq, reply *out, wmiev_diag *diag) {
  wmiev_registry *registry = rq->registry;
  const wmiev_block_info *p = rq->provider;
  /* DataPath points at a GUID; the IRP may not reach into the snapshot. */
  GUID data_path = p->guid;
  uint32_t size = rq->initial_size;
  for (int round = 0; round < MAX_ROUNDS; round++) {
    uint8_t *buf = wmiev__alloc(registry, size);
    if (buf == NULL) {
      return out_of_memory(diag, size);
    }
    memset(buf, 0, size);
    memcpy(buf, rq->wnode, rq->wnode_size);
    if (rq->patch_buffer_size) {
      put_u32(buf, offsetof(WNODE_HEADER, BufferSize), size);
    }
    wmiev_io_status io;
    wmiev_status status =
        wmiev__send_wmi_irp_to(registry, p->provider_id, rq->minor, &data_path, buf, size, &io);
    if (!WMIEV_SUCCESS(status)) {
      wmiev__free(registry, buf, size);
      if (status == WMIEV_STATUS_BUFFER_TOO_SMALL && rq->reply_kind != 0) {
        /* The documented use is a buffer under sizeof(WNODE_TOO_SMALL), which is
         * never sent; passing it on would read as "call again with more". */
        return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_BUFFER_SIZE, "IoStatus.Status", 0,
                              WHO_FMT " failed %s on a %lu-byte buffer with "
                                      "STATUS_BUFFER_TOO_SMALL instead of a WNODE_TOO_SMALL",
                              WHO_ARGS(registry, p), minor_name(rq->minor), (unsigned long)size);
      }
      return wmiev_diag_set(diag, status, "IoStatus.Status", 0, WHO_FMT " failed %s with %s",
                            WHO_ARGS(registry, p), minor_name(rq->minor),
                            wmiev_status_name(status));
    }
    if (rq->reply_kind == 0) {
      wmiev__free(registry, buf, size);
      return WMIEV_STATUS_SUCCESS;
    }
    if (io.Information > size) {
      wmiev__free(registry, buf, size);
      char why[96];
      (void)snprintf(why, sizeof why, "Information %zu is larger than the %lu-byte buffer",
                     (size_t)io.Information, (unsigned long)size);
      return bad_reply(rq, WMIEV_STATUS_INVALID_BUFFER_SIZE, "IoStatus.Information", 0, why, diag);
    }
    /* Validated against Information: BufferSize must not claim bytes the
     * provider did not say it wrote. */
    wmiev_wnode_view view;
    wmiev_diag invalid;
    status = wmiev_wnode_validate(buf, (size_t)io.Information, 0, &view, &invalid);
    if (!WMIEV_SUCCESS(status)) {
      wmiev__free(registry, buf, size);
      return bad_reply(rq, malformed_status(status), invalid.field, invalid.offset, invalid.message,
                       diag);
    }
    if (view.kind == WMIEV_WNODE_TOO_SMALL) {
      uint32_t needed = view.size_needed;
      wmiev__free(registry, buf, size);
      if (needed <= size || needed > MAX_REPLY_SIZE) {
        char why[112];
        (void)snprintf(why, sizeof why,
                       "WNODE_TOO_SMALL asks for %lu bytes with a %lu-byte buffer (must be "
                       "larger, at most %lu)",
                       (unsigned long)needed, (unsigned long)size, (unsigned long)MAX_REPLY_SIZE);
        return bad_reply(rq, WMIEV_STATUS_INVALID_BUFFER_SIZE, "SizeNeeded",
                         (uint32_t)offsetof(WNODE_TOO_SMALL, SizeNeeded), why, diag);
      }
      if (!rq->grow) {
        out->too_small = true;
        out->size_needed = needed;
        return wmiev_diag_set(diag, WMIEV_STATUS_BUFFER_TOO_SMALL, "SizeNeeded",
                              (uint32_t)offsetof(WNODE_TOO_SMALL, SizeNeeded),
                              WHO_FMT " needs a %lu-byte buffer for %s", WHO_ARGS(registry, p),
                              (unsigned long)needed, minor_name(rq->minor));
      }
      size = needed;
      continue;
    }
    if (view.kind != rq->reply_kind) {
      wmiev__free(registry, buf, size);
      char why[96];
      (void)snprintf(why, sizeof why, "the reply is a %s, not a %s",
                     wmiev_wnode_kind_name(view.kind), wmiev_wnode_kind_name(rq->reply_kind));
      return bad_reply(rq, WMIEV_STATUS_INVALID_PARAMETER, "WnodeHeader.Flags",
                       (uint32_t)offsetof(WNODE_HEADER, Flags), why, diag);
    }
    out->buf = buf;
    out->buf_size = size;
    out->view = view;
    return WMIEV_STATUS_SUCCESS;
  }
  char why[80];
  (void)snprintf(why, sizeof why, "still WNODE_TOO_SMALL after %d larger buffers", MAX_ROUNDS);
  return bad_reply(rq, WMIEV_STATUS_INVALID_BUFFER_SIZE, "SizeNeeded",
                   (uint32_t)offsetof(WNODE_TOO_SMALL, SizeNeeded), why, diag);
}

/* ---- QUERY_ALL_DATA ----------------------------------------------------------------- */

/* The WNODE_ALL_DATA a query starts with (§2.1): header, Flags by the block's
 * name source, DataBlockOffset preset to the end of the fixed part. */
static void all_data_request(const wmiev_block_info *block, uint8_t out[sizeof(WNODE_ALL_DATA)]) {
  memset(out, 0, sizeof(WNODE_ALL_DATA));
  uint32_t flags = WNODE_FLAG_ALL_DATA;
  if (block->names != WMIEV_NAMES_DYNAMIC) {
    flags |= WNODE_FLAG_STATIC_INSTANCE_NAMES;
  }
  if (block->names == WMIEV_NAMES_PDO) {
    flags |= WNODE_FLAG_PDO_INSTANCE_NAMES;
  }
  memcpy(out + offsetof(WNODE_HEADER, Guid), &block->guid, sizeof block->guid);
  put_u32(out, offsetof(WNODE_HEADER, Flags), flags);
  put_u32(out, offsetof(WNODE_ALL_DATA, DataBlockOffset), (uint32_t)sizeof(WNODE_ALL_DATA));
  /* BufferSize is set per round by send_request (patch_buffer_size). */
}

wmiev_status wmiev_query_all_data(wmiev_registry *registry, const GUID *guid, void *buf,
                                  uint32_t *size, wmiev_diag *diag) {
  if (registry == NULL || guid == NULL || size == NULL || (buf == NULL && *size != 0)) {
    return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, "arguments", 0,
                          "registry, guid and size are required; buf may be NULL only with "
                          "*size 0");
  }
  snapshot snap;
  wmiev_status status = take_snapshot(registry, guid, false, &snap, diag);
  if (!WMIEV_SUCCESS(status)) {
    return status;
  }
  reply *replies = wmiev__alloc(registry, snap.count * sizeof *replies);
  if (replies == NULL) {
    snapshot_free(registry, &snap);
    return out_of_memory(diag, snap.count * sizeof *replies);
  }
  memset(replies, 0, snap.count * sizeof *replies);

  /* Every reply is fetched before anything is copied: the total decides the
   * two-call answer, and a failing provider must leave nothing behind. */
  uint64_t total = 0;
  size_t answered = 0;
  for (size_t i = 0; i < snap.count; i++) {
    _Alignas(8) uint8_t wnode[sizeof(WNODE_ALL_DATA)];
    all_data_request(&snap.blocks[i], wnode);
    request rq = {.registry = registry,
                  .provider = &snap.blocks[i],
                  .minor = IRP_MN_QUERY_ALL_DATA,
                  .wnode = wnode,
                  .wnode_size = (uint32_t)sizeof wnode,
                  .initial_size = INITIAL_REPLY_SIZE,
                  .patch_buffer_size = true,
                  .reply_kind = WMIEV_WNODE_ALL_DATA,
                  .grow = true};
    wmiev_diag provider_diag;
    status = send_request(&rq, &replies[i], &provider_diag);
    if (status == WMIEV_STATUS_WMI_GUID_DISCONNECTED) {
      /* Deregistering or in BLOCK_IRPS: it no longer answers for the block,
       * so the query goes on without it (decisions D10). */
      continue;
    }
    if (!WMIEV_SUCCESS(status)) {
      if (diag != NULL) {
        *diag = provider_diag;
      }
      goto done;
    }
    total = ALIGN8(total) + replies[i].view.buffer_size;
    answered++;
  }
  if (answered == 0) {
    status = wmiev_diag_set(diag, WMIEV_STATUS_WMI_GUID_DISCONNECTED, "guid", 0,
                            "none of the %zu providers of the GUID accepts requests now",
                            snap.count);
    goto done;
  }
  if (total > UINT32_MAX) {
    status = wmiev_diag_set(diag, WMIEV_STATUS_INVALID_BUFFER_SIZE, "size", 0,
                            "the replies of %zu providers take %llu bytes, more than a ULONG "
                            "can count",
                            snap.count, (unsigned long long)total);
    goto done;
  }
  if (*size < total) {
    status = wmiev_diag_set(diag, WMIEV_STATUS_BUFFER_TOO_SMALL, "size", 0,
                            "the replies of %zu providers need %lu bytes, the buffer has %lu",
                            snap.count, (unsigned long)total, (unsigned long)*size);
    *size = (uint32_t)total;
    goto done;
  }
  /* Chain the replies like IoWMIQueryAllData: each 8-aligned, Linkage = offset
   * from this WNODE to the next (0 on the last), ProviderId stamped. */
  uint8_t *out = buf;
  size_t pos = 0;
  size_t copied = 0;
  for (size_t i = 0; i < snap.count; i++) {
    if (replies[i].buf == NULL) {
      continue; /* skipped: disconnected */
    }
    size_t at = (size_t)ALIGN8(pos);
    uint32_t n = replies[i].view.buffer_size;
    memset(out + pos, 0, at - pos);
    memcpy(out + at, replies[i].buf, n);
    put_u32(out + at, offsetof(WNODE_HEADER, ProviderId), snap.blocks[i].provider_id);
    copied++;
    uint32_t linkage = copied < answered ? (uint32_t)(ALIGN8(at + n) - at) : 0u;
    put_u32(out + at, offsetof(WNODE_HEADER, Linkage), linkage);
    pos = at + n;
  }
  *size = (uint32_t)total;
  status = WMIEV_STATUS_SUCCESS;
done:
  for (size_t i = 0; i < snap.count; i++) {
    reply_free(registry, &replies[i]);
  }
  wmiev__free(registry, replies, snap.count * sizeof *replies);
  snapshot_free(registry, &snap);
  return status;
}

/* ---- Instance requests ------------------------------------------------------------ */

/* What to do to the instance: the minor and what its request WNODE carries. */
typedef struct instance_op {
  uint8_t minor;
  const void *data; /* CHANGE_*: the new value; EXECUTE_METHOD: the input */
  uint32_t data_size;
  uint32_t id;           /* ItemId / MethodId */
  uint32_t out_capacity; /* EXECUTE_METHOD: the caller's output room */
  bool allow_event_only;  /* the bus resolving an event reference */
} instance_op;

/* Where the request goes: one provider + static index, or every dynamic-name provider. */
typedef struct addressing {
  bool dynamic;
  const wmiev_block_info *provider; /* static only */
  uint32_t index;
} addressing;

static wmiev_status resolve(wmiev_registry *registry, const GUID *guid,
                            const wmiev_instance_ref *ref, const snapshot *snap, addressing *out,
                            wmiev_diag *diag) {
  memset(out, 0, sizeof *out);
  uint32_t provider_id = ref->provider_id;
  uint32_t index = ref->index;
  if (ref->name != NULL) {
    wmiev_status status = wmiev_registry_find_instance(registry, guid, ref->name, ref->name_units,
                                                       &provider_id, &index);
    if (WMIEV_SUCCESS(status) && ref->provider_id != 0 && provider_id != ref->provider_id) {
      /* Another provider's static name: for the one asked, it can only be dynamic. */
      status = WMIEV_STATUS_WMI_INSTANCE_NOT_FOUND;
    }
    if (status == WMIEV_STATUS_WMI_INSTANCE_NOT_FOUND) {
      /* Not a static name of any provider: a dynamic name (§4.3). */
      out->dynamic = true;
      return WMIEV_STATUS_SUCCESS;
    }
    if (!WMIEV_SUCCESS(status)) {
      return wmiev_diag_set(diag, status, "instance.name", 0, "cannot look the name up: %s",
                            wmiev_status_name(status));
    }
  }
  for (size_t i = 0; i < snap->count; i++) {
    if (snap->blocks[i].provider_id == provider_id) {
      out->provider = &snap->blocks[i];
      break;
    }
  }
  if (out->provider == NULL) {
    if (ref->name != NULL) {
      /* The owner of the static name deregistered between the two looks. */
      return wmiev_diag_set(diag, WMIEV_STATUS_WMI_INSTANCE_NOT_FOUND, "instance.name", 0,
                            "the provider of the name is gone");
    }
    return wmiev_diag_set(diag, WMIEV_STATUS_WMI_GUID_NOT_FOUND, "instance.provider_id", 0,
                          "provider %lu does not provide this GUID", (unsigned long)provider_id);
  }
  /* A dynamic-name block has instance_count 0, so it has no index either. */
  if (index >= out->provider->instance_count) {
    return wmiev_diag_set(diag, WMIEV_STATUS_WMI_INSTANCE_NOT_FOUND, "instance.index", 0,
                          WHO_FMT " has %lu static instances; index %lu is out of range",
                          WHO_ARGS(registry, out->provider),
                          (unsigned long)out->provider->instance_count,
                          (unsigned long)index);
  }
  out->index = index;
  return WMIEV_STATUS_SUCCESS;
}

static wmiev_status build_wnode(const instance_op *op, void *buf, size_t buf_size,
                                const wmiev_wnode_header_params *hdr,
                                const wmiev_wnode_instance *instance, size_t *need,
                                wmiev_diag *diag) {
  switch (op->minor) {
  case IRP_MN_CHANGE_SINGLE_ITEM:
    return wmiev_wnode_build_single_item(buf, buf_size, hdr, instance, op->id, need, diag);
  case IRP_MN_EXECUTE_METHOD:
    return wmiev_wnode_build_method_item(buf, buf_size, hdr, instance, op->id, need, diag);
  default: /* QUERY_SINGLE_INSTANCE (no data), CHANGE_SINGLE_INSTANCE */
    return wmiev_wnode_build_single_instance(buf, buf_size, hdr, instance, need, diag);
  }
}

/* Builds the request WNODE for one provider and sends it. */
static wmiev_status request_one(wmiev_registry *registry, const wmiev_block_info *provider,
                                const addressing *a, const wmiev_instance_ref *ref,
                                const instance_op *op, reply *out, wmiev_diag *diag) {
  memset(out, 0, sizeof *out);
  wmiev_wnode_header_params hdr = {.guid = provider->guid};
  if (!a->dynamic && provider->names == WMIEV_NAMES_PDO) {
    hdr.extra_flags = WNODE_FLAG_PDO_INSTANCE_NAMES;
  }
  wmiev_wnode_instance instance = {.dynamic_name = a->dynamic,
                                   .name = ref->name,
                                   .name_units = ref->name_units,
                                   .index = a->index,
                                   .data = op->data,
                                   .size = op->data_size};
  size_t need = 0;
  wmiev_diag probe;
  wmiev_status status = build_wnode(op, NULL, 0, &hdr, &instance, &need, &probe);
  if (status != WMIEV_STATUS_BUFFER_TOO_SMALL) {
    /* Anything but the size answer is an argument the builder rejects. */
    if (diag != NULL) {
      *diag = probe;
    }
    return status;
  }
  uint8_t *wnode = wmiev__alloc(registry, need);
  if (wnode == NULL) {
    return out_of_memory(diag, need);
  }
  (void)build_wnode(op, wnode, need, &hdr, &instance, &need, NULL);
  uint32_t wnode_size = (uint32_t)need; /* the builder keeps BufferSize within a ULONG */

  request rq = {.registry = registry,
                .provider = provider,
                .minor = op->minor,
                .wnode = wnode,
                .wnode_size = wnode_size,
                .initial_size = wnode_size,
                .grow = true};
  switch (op->minor) {
  case IRP_MN_QUERY_SINGLE_INSTANCE:
    /* The reply overwrites the request in place, so the room after it is the
     * reply's room (§4.3). */
    rq.reply_kind = WMIEV_WNODE_SINGLE_INSTANCE;
    rq.initial_size = wnode_size > INITIAL_REPLY_SIZE ? wnode_size : INITIAL_REPLY_SIZE;
    out->data_offset = get_u32(wnode, offsetof(WNODE_SINGLE_INSTANCE, DataBlockOffset));
    break;
  case IRP_MN_EXECUTE_METHOD: {
    /* The output overwrites the input at DataBlockOffset (§2.4): the buffer
     * holds whichever is larger. A method is not resent with more room: that
     * would run it for output the caller has no room for (docs/decisions.md). */
    uint32_t dbo = get_u32(wnode, offsetof(WNODE_METHOD_ITEM, DataBlockOffset));
    uint32_t room = op->out_capacity < MAX_REPLY_SIZE ? op->out_capacity : MAX_REPLY_SIZE;
    uint64_t total = (uint64_t)dbo + (op->data_size > room ? op->data_size : room);
    if (total > UINT32_MAX) {
      wmiev__free(registry, wnode, need);
      return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_BUFFER_SIZE, "in_size", 0,
                            "the method's buffer would need %llu bytes", (unsigned long long)total);
    }
    rq.reply_kind = WMIEV_WNODE_METHOD_ITEM;
    rq.initial_size = (uint32_t)total;
    rq.grow = false;
    out->data_offset = dbo;
    break;
  }
  default: /* CHANGE_*: input only; Parameters.WMI.BufferSize = the WNODE's size */
    break;
  }
  status = send_request(&rq, out, diag);
  wmiev__free(registry, wnode, need);
  return status;
}

/* Sends `op` to the instance `ref` names; on success `out` holds the reply
 * (if the minor has one) and `who` the provider that answered. */
static wmiev_status instance_request(wmiev_registry *registry, const GUID *guid,
                                     const wmiev_instance_ref *ref, const instance_op *op,
                                     reply *out, wmiev_block_info *who, wmiev_diag *diag) {
  memset(out, 0, sizeof *out);
  if (ref->name == NULL && (ref->provider_id == 0 || ref->name_units != 0)) {
    return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, "instance", 0,
                          "name an instance by name (optionally with the provider_id to ask), "
                          "or by a non-zero provider_id and an index (name NULL, name_units 0)");
  }
  snapshot snap;
  wmiev_status status = take_snapshot(registry, guid, op->allow_event_only, &snap, diag);
  if (!WMIEV_SUCCESS(status)) {
    return status;
  }
  addressing a;
  status = resolve(registry, guid, ref, &snap, &a, diag);
  if (WMIEV_SUCCESS(status) && !a.dynamic) {
    status = request_one(registry, a.provider, &a, ref, op, out, diag);
    *who = *a.provider;
  } else if (WMIEV_SUCCESS(status)) {
    /* Offer the name to each dynamic-name provider in registration order;
     * STATUS_WMI_INSTANCE_NOT_FOUND means "not mine, ask the next" (§4.3). */
    status = WMIEV_STATUS_WMI_INSTANCE_NOT_FOUND;
    size_t asked = 0;
    for (size_t i = 0; i < snap.count && status == WMIEV_STATUS_WMI_INSTANCE_NOT_FOUND; i++) {
      /* A name addressed to one provider goes to that provider only, whatever
       * its registered names (an event reference names its own provider). */
      if (ref->provider_id != 0 ? snap.blocks[i].provider_id != ref->provider_id
                                : snap.blocks[i].names != WMIEV_NAMES_DYNAMIC) {
        continue;
      }
      asked++;
      wmiev_diag attempt;
      status = request_one(registry, &snap.blocks[i], &a, ref, op, out, &attempt);
      if (WMIEV_SUCCESS(status)) {
        *who = snap.blocks[i];
      } else if (status != WMIEV_STATUS_WMI_INSTANCE_NOT_FOUND && diag != NULL) {
        *diag = attempt;
      }
    }
    if (status == WMIEV_STATUS_WMI_INSTANCE_NOT_FOUND) {
      char name[64];
      size_t len = 0;
      /* Short names are quoted; a long or undecodable one is only counted. */
      if (ref->name_units > 20 ||
          !WMIEV_SUCCESS(wmiev_name_utf16_to_utf8(ref->name, ref->name_units * 2u, 0, name,
                                                  sizeof name, &len, NULL))) {
        (void)snprintf(name, sizeof name, "(%zu units)", ref->name_units);
      }
      (void)wmiev_diag_set(diag, status, "instance.name", 0,
                           "'%s' is no static name, and none of the %zu dynamic-name "
                           "providers has it",
                           name, asked);
    }
  }
  snapshot_free(registry, &snap);
  return status;
}

static bool instance_args_ok(wmiev_registry *registry, const GUID *guid,
                             const wmiev_instance_ref *instance, wmiev_diag *diag) {
  if (registry == NULL || guid == NULL || instance == NULL) {
    (void)wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, "arguments", 0,
                         "registry, guid and instance are required");
    return false;
  }
  return true;
}

/* Reply header as the caller sees it: the provider's id, no chain. */
static void stamp(uint8_t *wnode, uint32_t provider_id) {
  put_u32(wnode, offsetof(WNODE_HEADER, ProviderId), provider_id);
  put_u32(wnode, offsetof(WNODE_HEADER, Linkage), 0);
}

wmiev_status wmiev__query_single_instance(wmiev_registry *registry, const GUID *guid,
                                          const wmiev_instance_ref *instance, void *buf,
                                          uint32_t *size, bool allow_event_only,
                                          wmiev_diag *diag) {
  if (!instance_args_ok(registry, guid, instance, diag)) {
    return WMIEV_STATUS_INVALID_PARAMETER;
  }
  if (size == NULL || (buf == NULL && *size != 0)) {
    return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, "size", 0,
                          "size is required; buf may be NULL only with *size 0");
  }
  instance_op op = {.minor = IRP_MN_QUERY_SINGLE_INSTANCE, .allow_event_only = allow_event_only};
  reply r;
  wmiev_block_info who = {.provider_id = 0};
  wmiev_status status = instance_request(registry, guid, instance, &op, &r, &who, diag);
  if (!WMIEV_SUCCESS(status)) {
    return status;
  }
  uint32_t n = r.view.buffer_size;
  if (*size < n) {
    status = wmiev_diag_set(diag, WMIEV_STATUS_BUFFER_TOO_SMALL, "size", 0,
                            "the reply needs %lu bytes, the buffer has %lu", (unsigned long)n,
                            (unsigned long)*size);
  } else {
    memcpy(buf, r.buf, n);
    stamp(buf, who.provider_id);
  }
  *size = n;
  reply_free(registry, &r);
  return status;
}

wmiev_status wmiev_query_single_instance(wmiev_registry *registry, const GUID *guid,
                                         const wmiev_instance_ref *instance, void *buf,
                                         uint32_t *size, wmiev_diag *diag) {
  return wmiev__query_single_instance(registry, guid, instance, buf, size, false, diag);
}

static wmiev_status set_request(wmiev_registry *registry, const GUID *guid,
                                const wmiev_instance_ref *instance, const instance_op *op,
                                wmiev_diag *diag) {
  if (!instance_args_ok(registry, guid, instance, diag)) {
    return WMIEV_STATUS_INVALID_PARAMETER;
  }
  if (op->data == NULL && op->data_size != 0) {
    return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, "data", 0,
                          "data is NULL but data_size is %lu", (unsigned long)op->data_size);
  }
  reply r;
  wmiev_block_info who;
  return instance_request(registry, guid, instance, op, &r, &who, diag);
}

wmiev_status wmiev_set_single_instance(wmiev_registry *registry, const GUID *guid,
                                       const wmiev_instance_ref *instance, const void *data,
                                       uint32_t data_size, wmiev_diag *diag) {
  instance_op op = {.minor = IRP_MN_CHANGE_SINGLE_INSTANCE, .data = data, .data_size = data_size};
  return set_request(registry, guid, instance, &op, diag);
}

wmiev_status wmiev_set_single_item(wmiev_registry *registry, const GUID *guid,
                                   const wmiev_instance_ref *instance, uint32_t item_id,
                                   const void *data, uint32_t data_size, wmiev_diag *diag) {
  instance_op op = {
      .minor = IRP_MN_CHANGE_SINGLE_ITEM, .data = data, .data_size = data_size, .id = item_id};
  return set_request(registry, guid, instance, &op, diag);
}

wmiev_status wmiev_execute_method(wmiev_registry *registry, const GUID *guid,
                                  const wmiev_instance_ref *instance, uint32_t method_id,
                                  const void *in, uint32_t in_size, void *out, uint32_t *out_size,
                                  wmiev_diag *diag) {
  if (!instance_args_ok(registry, guid, instance, diag)) {
    return WMIEV_STATUS_INVALID_PARAMETER;
  }
  if (out_size == NULL || (out == NULL && *out_size != 0) || (in == NULL && in_size != 0)) {
    return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, "arguments", 0,
                          "out_size is required; out may be NULL only with *out_size 0, in "
                          "only with in_size 0");
  }
  instance_op op = {.minor = IRP_MN_EXECUTE_METHOD,
                    .data = in,
                    .data_size = in_size,
                    .id = method_id,
                    .out_capacity = *out_size};
  reply r;
  wmiev_block_info who;
  wmiev_status status = instance_request(registry, guid, instance, &op, &r, &who, diag);
  if (status == WMIEV_STATUS_BUFFER_TOO_SMALL && r.too_small) {
    /* SizeNeeded counts the whole WNODE; the caller's room is for the output. */
    *out_size = r.size_needed - r.data_offset;
    return status;
  }
  if (!WMIEV_SUCCESS(status)) {
    return status;
  }
  const wmiev_wnode_instance_view *output = &r.view.instance;
  if (output->size > *out_size) {
    /* The method ran (its output fitted the in-place input); the output is lost. */
    status = wmiev_diag_set(diag, WMIEV_STATUS_BUFFER_TOO_SMALL, "out_size", 0,
                            "the method returned %lu bytes, the buffer has %lu",
                            (unsigned long)output->size, (unsigned long)*out_size);
  } else if (output->size != 0) {
    memcpy(out, output->data, output->size);
  }
  *out_size = output->size;
  reply_free(registry, &r);
  return status;
}

/* ---- Function control ------------------------------------------------------------ */

wmiev_status wmiev_send_function_control(wmiev_device *device, const GUID *guid, uint8_t minor,
                                         wmiev_diag *diag) {
  if (device == NULL || guid == NULL) {
    return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, "arguments", 0,
                          "device and guid are required");
  }
  if (minor < IRP_MN_ENABLE_EVENTS || minor > IRP_MN_DISABLE_COLLECTION) {
    return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, "minor", 0,
                          "minor 0x%02x is not ENABLE/DISABLE_EVENTS or _COLLECTION",
                          (unsigned)minor);
  }
  /* A bare WNODE_HEADER (§4.3): BufferSize 48 and the GUID; no kind flag,
   * since no body follows, and no TRACED_GUID or logger handle, since wmiev
   * has no ETW loggers (docs/decisions.md). */
  _Alignas(8) uint8_t header[sizeof(WNODE_HEADER)];
  memset(header, 0, sizeof header);
  put_u32(header, offsetof(WNODE_HEADER, BufferSize), (uint32_t)sizeof header);
  memcpy(header + offsetof(WNODE_HEADER, Guid), guid, sizeof *guid);
  GUID data_path = *guid;
  wmiev_io_status io;
  wmiev_status status =
      wmiev_device_send_wmi_irp(device, minor, &data_path, header, (uint32_t)sizeof header, &io);
  if (!WMIEV_SUCCESS(status)) {
    return wmiev_diag_set(diag, status, "IoStatus.Status", 0,
                          "device '%s' (provider %lu) failed %s "
                          "with %s",
                          wmiev_device_name(device),
                          (unsigned long)wmiev_device_provider_id(device), minor_name(minor),
                          wmiev_status_name(status));
  }
  return status;
}
