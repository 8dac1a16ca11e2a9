/*
 * fuzz_wnode_validate: the WNODE validator (lib/core/wnode_validate.c) on
 * arbitrary bytes, every kind.
 *
 * The input is the candidate WNODE itself. libFuzzer hands it over in a heap
 * block of exactly its size, so ASan reports any read past the end; the
 * copies made below are exact-size heap blocks too, for the same reason.
 *
 * Properties (beyond "no crash, no UB"):
 *  1. A failure carries one of the five documented statuses (decisions D5)
 *     and a diagnostic naming it; fewer than 48 bytes is always
 *     STATUS_BUFFER_TOO_SMALL.
 *  2. WMIEV_VALIDATE_REQUIRE_EVENT accepts exactly the accepted WNODEs that
 *     are events, with the same view; it never turns a failure into another
 *     failure except STATUS_INVALID_PARAMETER.
 *  3. An accepted buffer re-validates to the same view: the same bytes
 *     again, only its first BufferSize bytes (nothing after BufferSize is
 *     read), and a copy at an odd address (nothing assumes alignment).
 *  4. The view agrees with the raw fields, and every range it describes
 *     (names, data, every ALL_DATA instance through
 *     wmiev_wnode_view_instance) lies inside BufferSize after the fixed part,
 *     with the documented alignment; out-of-range instance indexes fail.
 *  5. Builders round trip: what the view describes, rebuilt with
 *     wnode_build.h, validates to the same kind, header, names and data.
 */
#include "fuzz_common.h"

#define ALIGN8(x) (((uint64_t)(x) + 7u) & ~(uint64_t)7u)
#define KIND_FLAGS                                                                                 \
  (WNODE_FLAG_ALL_DATA | WNODE_FLAG_SINGLE_INSTANCE | WNODE_FLAG_SINGLE_ITEM |                     \
   WNODE_FLAG_METHOD_ITEM | WNODE_FLAG_EVENT_REFERENCE | WNODE_FLAG_TOO_SMALL)
/* ALL_DATA instances walked one by one; a view may claim four billion (FixedInstanceSize 0). */
#define MAX_WALK 4096u
/* ALL_DATA instances rebuilt for the round trip. */
#define MAX_REBUILD 512u

static uint32_t rd32(const uint8_t *p, size_t at) {
  uint32_t v;
  memcpy(&v, p + at, sizeof v);
  return v;
}

static uint16_t rd16(const uint8_t *p, size_t at) {
  uint16_t v;
  memcpy(&v, p + at, sizeof v);
  return v;
}

/* Where pointer @p p into the buffer at @p from sits in the same bytes at @p to. */
static const uint8_t *moved(const uint8_t *p, const uint8_t *from, const uint8_t *to) {
  return p == NULL ? NULL : to + (p - from);
}

/* Views of the same bytes at two addresses: every field equal, every pointer
 * at the same offset from its base. */
static void same_instance(const wmiev_wnode_instance_view *a, const wmiev_wnode_instance_view *b,
                          const uint8_t *a_base, const uint8_t *b_base) {
  FUZZ_CHECK(a->has_name == b->has_name);
  FUZZ_CHECK(moved(a->name, a_base, b_base) == b->name);
  FUZZ_CHECK(a->name_bytes == b->name_bytes);
  FUZZ_CHECK(a->name_offset == b->name_offset);
  FUZZ_CHECK(a->index == b->index);
  FUZZ_CHECK(moved(a->data, a_base, b_base) == b->data);
  FUZZ_CHECK(a->data_offset == b->data_offset);
  FUZZ_CHECK(a->size == b->size);
}

static void same_view(const wmiev_wnode_view *a, const wmiev_wnode_view *b, const uint8_t *b_base) {
  FUZZ_CHECK(a->kind == b->kind);
  FUZZ_CHECK(b->base == b_base);
  FUZZ_CHECK(a->buffer_size == b->buffer_size);
  FUZZ_CHECK(a->provider_id == b->provider_id);
  FUZZ_CHECK(a->historical_context == b->historical_context);
  FUZZ_CHECK(a->timestamp == b->timestamp);
  FUZZ_CHECK(memcmp(&a->guid, &b->guid, sizeof a->guid) == 0);
  FUZZ_CHECK(a->client_context == b->client_context);
  FUZZ_CHECK(a->flags == b->flags);
  FUZZ_CHECK(a->is_event == b->is_event);
  FUZZ_CHECK(a->static_names == b->static_names);
  FUZZ_CHECK(a->severity == b->severity);
  FUZZ_CHECK(a->warnings == b->warnings);
  same_instance(&a->instance, &b->instance, a->base, b->base);
  FUZZ_CHECK(a->item_id == b->item_id);
  FUZZ_CHECK(a->data_block_offset == b->data_block_offset);
  FUZZ_CHECK(a->instance_count == b->instance_count);
  FUZZ_CHECK(a->fixed_instance_size == b->fixed_instance_size);
  FUZZ_CHECK(a->fixed_size == b->fixed_size);
  FUZZ_CHECK(a->names_present == b->names_present);
  FUZZ_CHECK(memcmp(&a->target_guid, &b->target_guid, sizeof a->target_guid) == 0);
  FUZZ_CHECK(a->size_needed == b->size_needed);
}

/* Property 1. */
static void check_failure(wmiev_status st, const wmiev_diag *diag, size_t len) {
  if (st != WMIEV_STATUS_BUFFER_TOO_SMALL && st != WMIEV_STATUS_INVALID_BUFFER_SIZE &&
      st != WMIEV_STATUS_INVALID_PARAMETER && st != WMIEV_STATUS_DATATYPE_MISALIGNMENT &&
      st != WMIEV_STATUS_NOT_SUPPORTED) {
    fuzz_fail("validator returned %s, not one of the five documented classes",
              wmiev_status_name(st));
  }
  FUZZ_CHECK((st == WMIEV_STATUS_BUFFER_TOO_SMALL) == (len < sizeof(WNODE_HEADER)));
  FUZZ_CHECK(diag->status == st);
  FUZZ_CHECK(diag->field != NULL && diag->field[0] != '\0');
  FUZZ_CHECK(diag->message[0] != '\0');
  FUZZ_CHECK(memchr(diag->message, '\0', sizeof diag->message) != NULL);
}

/* Where the variable part of each kind may start (decisions D5 minimum sizes). */
static uint64_t fixed_part(const wmiev_wnode_view *v) {
  switch (v->kind) {
  case WMIEV_WNODE_ALL_DATA:
    return v->fixed_instance_size ? 64u : 60u + 8u * (uint64_t)v->instance_count;
  case WMIEV_WNODE_SINGLE_INSTANCE:
    return 64u;
  case WMIEV_WNODE_SINGLE_ITEM:
  case WMIEV_WNODE_METHOD_ITEM:
    return 68u;
  case WMIEV_WNODE_EVENT_REFERENCE:
    return v->static_names ? 72u : 70u;
  case WMIEV_WNODE_TOO_SMALL:
    return 52u;
  }
  fuzz_fail("unknown kind %d", (int)v->kind);
}

static void check_name(const wmiev_wnode_view *v, const wmiev_wnode_instance_view *in,
                       uint64_t lo) {
  FUZZ_CHECK(in->name_offset >= lo);
  FUZZ_CHECK(in->name_offset % 2 == 0);
  FUZZ_CHECK(in->name_bytes % 2 == 0);
  FUZZ_CHECK((uint64_t)in->name_offset + 2u + in->name_bytes <= v->buffer_size);
  FUZZ_CHECK(rd16(v->base, in->name_offset) == in->name_bytes);
  FUZZ_CHECK(in->name == v->base + in->name_offset + 2);
}

static void check_data(const wmiev_wnode_view *v, const wmiev_wnode_instance_view *in,
                       uint64_t lo) {
  FUZZ_CHECK(in->data_offset >= lo);
  FUZZ_CHECK(in->data_offset % 8 == 0);
  FUZZ_CHECK((uint64_t)in->data_offset + in->size <= v->buffer_size);
  FUZZ_CHECK(in->data == (in->size != 0 ? v->base + in->data_offset : NULL));
}

/* Property 4. */
static void check_view(const wmiev_wnode_view *v, const uint8_t *buf, size_t len) {
  FUZZ_CHECK(v->base == buf);
  FUZZ_CHECK(v->buffer_size >= sizeof(WNODE_HEADER) && v->buffer_size <= len);
  FUZZ_CHECK(v->buffer_size == rd32(buf, offsetof(WNODE_HEADER, BufferSize)));
  FUZZ_CHECK(v->provider_id == rd32(buf, offsetof(WNODE_HEADER, ProviderId)));
  FUZZ_CHECK(memcmp(&v->historical_context, buf + offsetof(WNODE_HEADER, HistoricalContext), 8) ==
             0);
  FUZZ_CHECK(memcmp(&v->timestamp, buf + offsetof(WNODE_HEADER, TimeStamp), 8) == 0);
  FUZZ_CHECK(memcmp(&v->guid, buf + offsetof(WNODE_HEADER, Guid), sizeof(GUID)) == 0);
  FUZZ_CHECK(v->client_context == rd32(buf, offsetof(WNODE_HEADER, ClientContext)));
  FUZZ_CHECK(v->flags == rd32(buf, offsetof(WNODE_HEADER, Flags)));

  uint32_t kinds = v->flags & KIND_FLAGS;
  FUZZ_CHECK(kinds != 0 && (kinds & (kinds - 1)) == 0);
  FUZZ_CHECK((v->flags &
              (WNODE_FLAG_TRACED_GUID | WNODE_FLAG_USE_GUID_PTR | WNODE_FLAG_USE_MOF_PTR)) == 0);
  FUZZ_CHECK(v->static_names == ((v->flags & WNODE_FLAG_STATIC_INSTANCE_NAMES) != 0));
  FUZZ_CHECK(v->severity == (uint8_t)(v->flags >> 24));
  FUZZ_CHECK(v->is_event ==
             ((v->flags & WNODE_FLAG_EVENT_ITEM) != 0 || v->kind == WMIEV_WNODE_EVENT_REFERENCE));
  bool undefined =
      (v->flags & 0x1800u) != 0 || (v->severity != 0 && v->kind != WMIEV_WNODE_EVENT_REFERENCE);
  FUZZ_CHECK(((v->warnings & WMIEV_WNODE_WARN_UNDEFINED_FLAGS) != 0) == undefined);

  uint64_t lo = fixed_part(v);
  FUZZ_CHECK(lo <= v->buffer_size);
  wmiev_wnode_instance_view in;
  switch (v->kind) {
  case WMIEV_WNODE_SINGLE_INSTANCE:
  case WMIEV_WNODE_SINGLE_ITEM:
  case WMIEV_WNODE_METHOD_ITEM: {
    FUZZ_CHECK((v->flags & WNODE_FLAG_FIXED_INSTANCE_SIZE) == 0);
    FUZZ_CHECK(v->kind != WMIEV_WNODE_METHOD_ITEM || !v->is_event);
    FUZZ_CHECK(v->instance_count == 1);
    FUZZ_CHECK(v->instance.has_name == !v->static_names);
    if (v->instance.has_name) {
      check_name(v, &v->instance, lo);
      /* A name must not overlap non-empty data. */
      uint64_t name_end = (uint64_t)v->instance.name_offset + 2u + v->instance.name_bytes;
      FUZZ_CHECK(v->instance.size == 0 || name_end <= v->instance.data_offset ||
                 (uint64_t)v->instance.data_offset + v->instance.size <= v->instance.name_offset);
    }
    check_data(v, &v->instance, lo);
    FUZZ_CHECK(v->data_block_offset == v->instance.data_offset);
    FUZZ_CHECK(wmiev_wnode_view_instance(v, 0, &in) == WMIEV_STATUS_SUCCESS);
    same_instance(&in, &v->instance, v->base, v->base);
    FUZZ_CHECK(wmiev_wnode_view_instance(v, 1, &in) == WMIEV_STATUS_INVALID_PARAMETER);
    break;
  }
  case WMIEV_WNODE_EVENT_REFERENCE: {
    size_t target_at = offsetof(WNODE_EVENT_REFERENCE, TargetGuid);
    FUZZ_CHECK(memcmp(&v->target_guid, buf + target_at, sizeof(GUID)) == 0);
    bool mismatch = memcmp(&v->guid, &v->target_guid, sizeof(GUID)) != 0;
    FUZZ_CHECK(((v->warnings & WMIEV_WNODE_WARN_TARGET_GUID_MISMATCH) != 0) == mismatch);
    FUZZ_CHECK(v->instance.size == rd32(buf, offsetof(WNODE_EVENT_REFERENCE, TargetDataBlockSize)));
    FUZZ_CHECK(v->instance.data == NULL);
    FUZZ_CHECK(v->instance.has_name == !v->static_names);
    if (v->instance.has_name) {
      FUZZ_CHECK(v->instance.name_offset == 68u);
      check_name(v, &v->instance, 68u);
    } else {
      FUZZ_CHECK(v->instance.index == rd32(buf, 68u));
    }
    FUZZ_CHECK(wmiev_wnode_view_instance(v, 0, &in) == WMIEV_STATUS_SUCCESS);
    same_instance(&in, &v->instance, v->base, v->base);
    break;
  }
  case WMIEV_WNODE_TOO_SMALL:
    FUZZ_CHECK(v->size_needed == rd32(buf, offsetof(WNODE_TOO_SMALL, SizeNeeded)));
    FUZZ_CHECK(wmiev_wnode_view_instance(v, 0, &in) == WMIEV_STATUS_INVALID_PARAMETER);
    break;
  case WMIEV_WNODE_ALL_DATA: {
    FUZZ_CHECK(v->instance_count == rd32(buf, offsetof(WNODE_ALL_DATA, InstanceCount)));
    FUZZ_CHECK(v->fixed_instance_size == ((v->flags & WNODE_FLAG_FIXED_INSTANCE_SIZE) != 0));
    FUZZ_CHECK(
        v->names_present ==
        (!v->static_names && (v->flags & WNODE_FLAG_INSTANCES_SAME) == 0 && v->instance_count > 0));
    uint32_t walk = v->instance_count < MAX_WALK ? v->instance_count : MAX_WALK;
    for (uint64_t k = 0; k <= walk; k++) {
      /* The first MAX_WALK instances, then the last one. */
      uint32_t i = k < walk ? (uint32_t)k : v->instance_count - 1u;
      if (v->instance_count == 0) {
        break;
      }
      if (wmiev_wnode_view_instance(v, i, &in) != WMIEV_STATUS_SUCCESS) {
        fuzz_fail("instance %u of a validated ALL_DATA (count %u) is refused", (unsigned)i,
                  (unsigned)v->instance_count);
      }
      FUZZ_CHECK(in.index == i);
      check_data(v, &in, lo);
      if (v->fixed_instance_size) {
        FUZZ_CHECK(in.size == v->fixed_size);
        FUZZ_CHECK(in.data_offset == v->data_block_offset + (uint64_t)i * ALIGN8(v->fixed_size));
      } else {
        FUZZ_CHECK(in.data_offset == rd32(buf, 60u + 8u * (size_t)i));
        FUZZ_CHECK(in.size == rd32(buf, 64u + 8u * (size_t)i));
      }
      FUZZ_CHECK(in.has_name == v->names_present);
      if (in.has_name) {
        check_name(v, &in, lo);
      }
    }
    if (v->instance_count != UINT32_MAX) {
      FUZZ_CHECK(wmiev_wnode_view_instance(v, v->instance_count, &in) ==
                 WMIEV_STATUS_INVALID_PARAMETER);
    }
    break;
  }
  }
}

/* ---- Property 5: builders round trip ------------------------------------------------------ */

/* A builder argument describing what @p src describes; a name is copied
 * to @p units (aligned UTF-16, freed by the caller). */
static void describe(const wmiev_wnode_instance_view *src, wmiev_wnode_instance *out,
                     uint16_t **units) {
  memset(out, 0, sizeof *out);
  *units = NULL;
  out->dynamic_name = src->has_name;
  out->index = src->index;
  out->data = src->data;
  out->size = src->size;
  if (src->has_name) {
    size_t n = src->name_bytes / 2u;
    *units = malloc(n == 0 ? 1 : n * 2);
    FUZZ_CHECK(*units != NULL);
    memcpy(*units, src->name, n * 2);
    out->name = *units;
    out->name_units = n;
  }
}

static void same_content(const wmiev_wnode_instance_view *a, const wmiev_wnode_instance_view *b,
                         bool static_names) {
  FUZZ_CHECK(a->has_name == b->has_name);
  if (a->has_name) {
    FUZZ_CHECK(a->name_bytes == b->name_bytes);
    FUZZ_CHECK(memcmp(a->name, b->name, a->name_bytes) == 0);
  } else if (static_names) {
    FUZZ_CHECK(a->index == b->index);
  }
  FUZZ_CHECK(a->size == b->size);
  FUZZ_CHECK(a->size == 0 || a->data == NULL || memcmp(a->data, b->data, a->size) == 0);
}

static void round_trip(const wmiev_wnode_view *v) {
  /* ALL_DATA without names and without STATIC_INSTANCE_NAMES (INSTANCES_SAME)
   * has no builder form; a reference whose Guid differs from TargetGuid
   * neither (the builder writes one GUID to both). */
  if (v->kind == WMIEV_WNODE_ALL_DATA &&
      ((!v->static_names && !v->names_present) || v->instance_count > MAX_REBUILD)) {
    return;
  }
  if (v->kind == WMIEV_WNODE_EVENT_REFERENCE &&
      (v->warnings & WMIEV_WNODE_WARN_TARGET_GUID_MISMATCH) != 0) {
    return;
  }
  wmiev_wnode_header_params hdr;
  memset(&hdr, 0, sizeof hdr);
  hdr.guid = v->guid;
  hdr.provider_id = v->provider_id;
  hdr.extra_flags = v->flags & ~(uint32_t)WMIEV_WNODE_BUILDER_OWNED_FLAGS;
  hdr.timestamp = v->timestamp;
  hdr.client_context = v->client_context;

  uint32_t count = v->kind == WMIEV_WNODE_ALL_DATA ? v->instance_count : 1u;
  wmiev_wnode_instance *parts = calloc(count == 0 ? 1 : count, sizeof *parts);
  uint16_t **names = calloc(count == 0 ? 1 : count, sizeof *names);
  FUZZ_CHECK(parts != NULL && names != NULL);
  if (v->kind == WMIEV_WNODE_ALL_DATA) {
    for (uint32_t i = 0; i < count; i++) {
      wmiev_wnode_instance_view in;
      FUZZ_CHECK(wmiev_wnode_view_instance(v, i, &in) == WMIEV_STATUS_SUCCESS);
      describe(&in, &parts[i], &names[i]);
    }
  } else if (v->kind != WMIEV_WNODE_TOO_SMALL) {
    describe(&v->instance, &parts[0], &names[0]);
  }

  size_t need = 0;
  wmiev_diag diag;
  wmiev_status st = WMIEV_STATUS_SUCCESS;
  uint8_t *out = NULL;
  for (int pass = 0; pass < 2; pass++) {
    /* Pass 0 sizes, pass 1 builds into exactly that many bytes. */
    size_t cap = pass == 0 ? 0 : need;
    switch (v->kind) {
    case WMIEV_WNODE_SINGLE_INSTANCE:
      st = wmiev_wnode_build_single_instance(out, cap, &hdr, &parts[0], &need, &diag);
      break;
    case WMIEV_WNODE_SINGLE_ITEM:
      st = wmiev_wnode_build_single_item(out, cap, &hdr, &parts[0], v->item_id, &need, &diag);
      break;
    case WMIEV_WNODE_METHOD_ITEM:
      st = wmiev_wnode_build_method_item(out, cap, &hdr, &parts[0], v->item_id, &need, &diag);
      break;
    case WMIEV_WNODE_EVENT_REFERENCE:
      parts[0].data = NULL;
      st = wmiev_wnode_build_event_reference(out, cap, &hdr, &parts[0], v->severity, &need, &diag);
      break;
    case WMIEV_WNODE_TOO_SMALL:
      st = wmiev_wnode_build_too_small(out, cap, v->size_needed, &need, &diag);
      break;
    case WMIEV_WNODE_ALL_DATA:
      st = wmiev_wnode_build_all_data(
          out, cap, &hdr, count == 0 ? NULL : parts, count,
          v->fixed_instance_size ? WMIEV_ALL_DATA_FIXED : WMIEV_ALL_DATA_VARIABLE, &need, &diag);
      break;
    }
    if (pass == 0) {
      if (st != WMIEV_STATUS_BUFFER_TOO_SMALL) {
        fuzz_fail("the builder refuses what a valid %s describes: %s (%s: %s)",
                  wmiev_wnode_kind_name(v->kind), wmiev_status_name(st), diag.field, diag.message);
      }
      out = malloc(need);
      FUZZ_CHECK(out != NULL);
    }
  }
  if (st != WMIEV_STATUS_SUCCESS) {
    fuzz_fail("building into the size asked for failed: %s", wmiev_status_name(st));
  }

  wmiev_wnode_view r;
  st = wmiev_wnode_validate(out, need, 0, &r, &diag);
  if (st != WMIEV_STATUS_SUCCESS) {
    fuzz_fail("rebuilt %s does not validate: %s (%s: %s)", wmiev_wnode_kind_name(v->kind),
              wmiev_status_name(st), diag.field, diag.message);
  }
  FUZZ_CHECK(r.kind == v->kind);
  FUZZ_CHECK(r.buffer_size == need);
  if (v->kind == WMIEV_WNODE_TOO_SMALL) {
    /* The builder writes Microsoft's form: everything but SizeNeeded is zero. */
    FUZZ_CHECK(r.size_needed == v->size_needed);
  } else {
    FUZZ_CHECK(memcmp(&r.guid, &v->guid, sizeof r.guid) == 0);
    FUZZ_CHECK(r.provider_id == v->provider_id);
    FUZZ_CHECK(r.timestamp == v->timestamp);
    FUZZ_CHECK(r.client_context == v->client_context);
    uint32_t mask = ~(uint32_t)0;
    if (v->kind != WMIEV_WNODE_EVENT_REFERENCE) {
      mask &= ~(uint32_t)WNODE_FLAG_SEVERITY_MASK; /* no severity parameter outside references */
    }
    if (v->kind == WMIEV_WNODE_ALL_DATA && count == 0) {
      mask &= ~(uint32_t)WNODE_FLAG_FIXED_INSTANCE_SIZE; /* an empty ALL_DATA is written fixed */
    }
    FUZZ_CHECK((r.flags & mask) == (v->flags & mask));
    FUZZ_CHECK(r.is_event == v->is_event);
    FUZZ_CHECK(r.static_names == v->static_names);
    FUZZ_CHECK(r.item_id == v->item_id);
    FUZZ_CHECK(r.instance_count == v->instance_count);
    if (v->kind == WMIEV_WNODE_ALL_DATA) {
      FUZZ_CHECK(r.names_present == v->names_present);
      for (uint32_t i = 0; i < count; i++) {
        wmiev_wnode_instance_view a, b;
        FUZZ_CHECK(wmiev_wnode_view_instance(v, i, &a) == WMIEV_STATUS_SUCCESS);
        FUZZ_CHECK(wmiev_wnode_view_instance(&r, i, &b) == WMIEV_STATUS_SUCCESS);
        same_content(&a, &b, false);
      }
    } else {
      same_content(&v->instance, &r.instance, v->static_names);
      if (v->kind == WMIEV_WNODE_EVENT_REFERENCE) {
        FUZZ_CHECK(memcmp(&r.target_guid, &v->target_guid, sizeof(GUID)) == 0);
      }
    }
  }
  free(out);
  for (uint32_t i = 0; i < count; i++) {
    free(names[i]);
  }
  free(names);
  free(parts);
}

/* ---- Entry point ------------------------------------------------------------------------------
 */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  wmiev_wnode_view view, event_view;
  wmiev_diag diag, event_diag;
  wmiev_status st = wmiev_wnode_validate(data, size, 0, &view, &diag);
  wmiev_status est =
      wmiev_wnode_validate(data, size, WMIEV_VALIDATE_REQUIRE_EVENT, &event_view, &event_diag);

  /* Property 2. */
  if (st != WMIEV_STATUS_SUCCESS) {
    check_failure(st, &diag, size);
    check_failure(est, &event_diag, size);
    FUZZ_CHECK(est == st || est == WMIEV_STATUS_INVALID_PARAMETER);
    return 0;
  }
  if (view.is_event) {
    FUZZ_CHECK(est == WMIEV_STATUS_SUCCESS);
    same_view(&view, &event_view, data);
  } else {
    FUZZ_CHECK(est == WMIEV_STATUS_INVALID_PARAMETER);
    check_failure(est, &event_diag, size);
  }

  /* Property 4. */
  check_view(&view, data, size);

  /* Property 3: the same bytes again, exactly BufferSize of them, and at an odd address. */
  wmiev_wnode_view again;
  FUZZ_CHECK(wmiev_wnode_validate(data, size, 0, &again, NULL) == WMIEV_STATUS_SUCCESS);
  same_view(&view, &again, data);

  uint8_t *exact = malloc(view.buffer_size);
  FUZZ_CHECK(exact != NULL);
  memcpy(exact, data, view.buffer_size);
  FUZZ_CHECK(wmiev_wnode_validate(exact, view.buffer_size, 0, &again, NULL) ==
             WMIEV_STATUS_SUCCESS);
  same_view(&view, &again, exact);
  free(exact);

  uint8_t *odd = malloc((size_t)view.buffer_size + 1);
  FUZZ_CHECK(odd != NULL);
  memcpy(odd + 1, data, view.buffer_size);
  FUZZ_CHECK(wmiev_wnode_validate(odd + 1, view.buffer_size, 0, &again, NULL) ==
             WMIEV_STATUS_SUCCESS);
  same_view(&view, &again, odd + 1);
  free(odd);

  /* Property 5. */
  round_trip(&view);
  return 0;
}
