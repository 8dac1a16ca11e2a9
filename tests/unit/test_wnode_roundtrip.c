/*
 * Every builder's output must pass the validator, and the view must give back
 * exactly what was built: header fields, instance addressing, names and data
 * bytes. Runs a matrix of shapes (static/dynamic names, data sizes around the
 * 8-byte boundaries, 0..6 instances, both ALL_DATA layouts), each built at an
 * aligned and at an odd address.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <wmiev/wmiev.h>

static const GUID block_guid = {
    0x0f3c2a11, 0x7d25, 0x4b6e, {0x9a, 0x10, 0x55, 0x21, 0xc3, 0x8e, 0x04, 0xd7}};

static const size_t data_sizes[] = {0, 1, 6, 7, 8, 9, 64, 300};
static const uint16_t name_dev[] = {'D', 'e', 'v', '0'};
static const uint16_t name_odd[] = {'P', 'C', 'I', '\\', 0x00e9, 0xd83d, 0xde00}; /* é, 😀 */
static const uint16_t name_nul[] = {'X', 0};

typedef struct shape {
  const uint16_t *name;
  size_t units;
} shape;

static const shape names[] = {{NULL, 0}, {name_dev, 4}, {name_odd, 7}, {name_nul, 2}};

static uint8_t pattern_data[512];

static void fill_pattern(void) {
  for (size_t i = 0; i < sizeof pattern_data; i++) {
    pattern_data[i] = (uint8_t)(i * 37u + 11u);
  }
}

static wmiev_wnode_header_params header(uint32_t extra) {
  wmiev_wnode_header_params h;
  memset(&h, 0, sizeof h);
  h.guid = block_guid;
  h.provider_id = 0x1234;
  h.extra_flags = extra;
  h.timestamp = 0x01d9f00dbeef0001LL;
  h.client_context = 3;
  return h;
}

static wmiev_wnode_instance instance_of(const shape *s, uint32_t index, size_t size) {
  wmiev_wnode_instance in;
  memset(&in, 0, sizeof in);
  in.dynamic_name = s->name != NULL;
  in.name = s->name;
  in.name_units = s->units;
  in.index = index;
  in.data = size != 0 ? pattern_data + index : NULL;
  in.size = (uint32_t)size;
  return in;
}

static void assert_header(const wmiev_wnode_view *v, const wmiev_wnode_header_params *h) {
  assert_memory_equal(&v->guid, &h->guid, sizeof(GUID));
  assert_int_equal(v->provider_id, h->provider_id);
  assert_true(v->timestamp == h->timestamp);
  assert_int_equal(v->client_context, h->client_context);
  assert_int_equal(v->flags & h->extra_flags, h->extra_flags);
  assert_int_equal(v->warnings, 0);
}

static void assert_instance(const wmiev_wnode_instance_view *iv, const wmiev_wnode_instance *in,
                            uint32_t expected_index) {
  assert_int_equal(iv->has_name, in->dynamic_name);
  if (in->dynamic_name) {
    assert_int_equal(iv->name_bytes, in->name_units * 2);
    if (in->name_units != 0) {
      assert_memory_equal(iv->name, in->name, in->name_units * 2);
    }
  } else {
    assert_int_equal(iv->index, expected_index);
  }
  assert_int_equal(iv->size, in->size);
  if (in->size != 0) {
    assert_memory_equal(iv->data, in->data, in->size);
    assert_int_equal(iv->data_offset % 8, 0);
  } else {
    assert_null(iv->data);
  }
}

/* Builds with the two-call pattern into a buffer at offset `shift`, so that
 * an odd address exercises the unaligned paths, and validates the result in
 * an exactly-sized copy (ASan then catches any read past BufferSize). */
typedef wmiev_status (*build_fn)(void *buf, size_t size, size_t *needed, void *ctx);

static uint8_t *build_and_validate(build_fn build, void *ctx, size_t shift, uint32_t options,
                                   wmiev_wnode_view *view) {
  size_t needed = 0;
  assert_int_equal(build(NULL, 0, &needed, ctx), WMIEV_STATUS_BUFFER_TOO_SMALL);
  uint8_t *raw = malloc(needed + shift);
  assert_non_null(raw);
  size_t again = 0;
  assert_int_equal(build(raw + shift, needed, &again, ctx), WMIEV_STATUS_SUCCESS);
  assert_int_equal(again, needed);
  uint8_t *exact = malloc(needed);
  assert_non_null(exact);
  memcpy(exact, raw + shift, needed);
  free(raw);
  wmiev_diag diag;
  wmiev_status st = wmiev_wnode_validate(exact, needed, options, view, &diag);
  if (st != WMIEV_STATUS_SUCCESS) {
    fail_msg("validator rejected builder output: %s %s: %s", wmiev_status_name(st), diag.field,
             diag.message);
  }
  assert_int_equal(view->buffer_size, needed);
  return exact;
}

typedef struct addressed_ctx {
  int kind; /* 0 instance, 1 item, 2 method */
  wmiev_wnode_header_params hdr;
  wmiev_wnode_instance in;
  uint32_t id;
} addressed_ctx;

static wmiev_status build_addressed(void *buf, size_t size, size_t *needed, void *p) {
  addressed_ctx *c = p;
  switch (c->kind) {
  case 0:
    return wmiev_wnode_build_single_instance(buf, size, &c->hdr, &c->in, needed, NULL);
  case 1:
    return wmiev_wnode_build_single_item(buf, size, &c->hdr, &c->in, c->id, needed, NULL);
  default:
    return wmiev_wnode_build_method_item(buf, size, &c->hdr, &c->in, c->id, needed, NULL);
  }
}

static void addressed_shapes_round_trip(void **state) {
  (void)state;
  static const wmiev_wnode_kind kinds[] = {WMIEV_WNODE_SINGLE_INSTANCE, WMIEV_WNODE_SINGLE_ITEM,
                                           WMIEV_WNODE_METHOD_ITEM};
  int cases = 0;
  for (int kind = 0; kind < 3; kind++) {
    for (size_t n = 0; n < sizeof names / sizeof names[0]; n++) {
      for (size_t d = 0; d < sizeof data_sizes / sizeof data_sizes[0]; d++) {
        for (size_t shift = 0; shift < 2; shift++) {
          uint32_t extra = kind == 2 ? 0 : WNODE_FLAG_EVENT_ITEM;
          addressed_ctx c = {kind, header(extra), instance_of(&names[n], 5, data_sizes[d]),
                             0xabcd};
          wmiev_wnode_view v;
          uint8_t *w = build_and_validate(build_addressed, &c, shift,
                                          kind == 2 ? 0 : WMIEV_VALIDATE_REQUIRE_EVENT, &v);
          assert_int_equal(v.kind, kinds[kind]);
          assert_header(&v, &c.hdr);
          assert_int_equal(v.static_names, !c.in.dynamic_name);
          assert_int_equal(v.is_event, kind != 2);
          assert_int_equal(v.instance_count, 1);
          assert_instance(&v.instance, &c.in, 5);
          if (kind != 0) {
            assert_int_equal(v.item_id, 0xabcd);
          }
          wmiev_wnode_instance_view iv;
          assert_int_equal(wmiev_wnode_view_instance(&v, 0, &iv), WMIEV_STATUS_SUCCESS);
          assert_memory_equal(&iv, &v.instance, sizeof iv);
          assert_int_equal(wmiev_wnode_view_instance(&v, 1, &iv), WMIEV_STATUS_INVALID_PARAMETER);
          free(w);
          cases++;
        }
      }
    }
  }
  assert_int_equal(cases, 3 * 4 * 8 * 2);
}

typedef struct all_data_ctx {
  wmiev_wnode_header_params hdr;
  wmiev_wnode_instance in[6];
  uint32_t count;
  wmiev_all_data_layout layout;
} all_data_ctx;

static wmiev_status build_all(void *buf, size_t size, size_t *needed, void *p) {
  all_data_ctx *c = p;
  return wmiev_wnode_build_all_data(buf, size, &c->hdr, c->in, c->count, c->layout, needed, NULL);
}

static void all_data_round_trips(void **state) {
  (void)state;
  int cases = 0;
  for (uint32_t count = 0; count <= 6; count++) {
    for (int dynamic = 0; dynamic < 2; dynamic++) {
      for (int layout = 0; layout < 3; layout++) {
        for (int equal = 0; equal < 2; equal++) {
          all_data_ctx c;
          memset(&c, 0, sizeof c);
          c.hdr = header(WNODE_FLAG_EVENT_ITEM);
          c.count = count;
          c.layout = (wmiev_all_data_layout)layout;
          for (uint32_t i = 0; i < count; i++) {
            const shape *s = dynamic ? &names[1 + i % 3] : &names[0];
            size_t size = equal ? 6 : data_sizes[i % 8];
            c.in[i] = instance_of(s, i, size);
          }
          bool sizes_equal = true;
          for (uint32_t i = 1; i < count; i++) {
            sizes_equal = sizes_equal && c.in[i].size == c.in[0].size;
          }
          if (c.layout == WMIEV_ALL_DATA_FIXED && !sizes_equal) {
            size_t needed;
            assert_int_equal(build_all(NULL, 0, &needed, &c), WMIEV_STATUS_INVALID_PARAMETER);
            continue;
          }
          for (size_t shift = 0; shift < 2; shift++) {
            wmiev_wnode_view v;
            uint8_t *w = build_and_validate(build_all, &c, shift, WMIEV_VALIDATE_REQUIRE_EVENT, &v);
            assert_int_equal(v.kind, WMIEV_WNODE_ALL_DATA);
            assert_header(&v, &c.hdr);
            assert_int_equal(v.instance_count, count);
            bool expect_fixed = count == 0 || c.layout == WMIEV_ALL_DATA_FIXED ||
                                (c.layout == WMIEV_ALL_DATA_AUTO && sizes_equal);
            assert_int_equal(v.fixed_instance_size, expect_fixed);
            assert_int_equal(v.static_names, !dynamic || count == 0);
            assert_int_equal(v.names_present, dynamic && count > 0);
            for (uint32_t i = 0; i < count; i++) {
              wmiev_wnode_instance_view iv;
              assert_int_equal(wmiev_wnode_view_instance(&v, i, &iv), WMIEV_STATUS_SUCCESS);
              assert_instance(&iv, &c.in[i], i);
            }
            wmiev_wnode_instance_view iv;
            assert_int_equal(wmiev_wnode_view_instance(&v, count, &iv),
                             WMIEV_STATUS_INVALID_PARAMETER);
            free(w);
            cases++;
          }
        }
      }
    }
  }
  assert_true(cases > 100);
}

typedef struct reference_ctx {
  wmiev_wnode_header_params hdr;
  wmiev_wnode_instance target;
  uint8_t severity;
} reference_ctx;

static wmiev_status build_ref(void *buf, size_t size, size_t *needed, void *p) {
  reference_ctx *c = p;
  return wmiev_wnode_build_event_reference(buf, size, &c->hdr, &c->target, c->severity, needed,
                                           NULL);
}

static void event_references_round_trip(void **state) {
  (void)state;
  for (size_t n = 0; n < sizeof names / sizeof names[0]; n++) {
    for (unsigned severity = 0; severity < 256; severity += 85) {
      reference_ctx c;
      c.hdr = header(0);
      c.target = instance_of(&names[n], 9, 0);
      c.target.size = 4096;
      c.severity = (uint8_t)severity;
      for (size_t shift = 0; shift < 2; shift++) {
        wmiev_wnode_view v;
        uint8_t *w = build_and_validate(build_ref, &c, shift, WMIEV_VALIDATE_REQUIRE_EVENT, &v);
        assert_int_equal(v.kind, WMIEV_WNODE_EVENT_REFERENCE);
        assert_header(&v, &c.hdr);
        assert_memory_equal(&v.target_guid, &block_guid, sizeof(GUID));
        assert_int_equal(v.severity, severity);
        assert_true(v.is_event);
        assert_int_equal(v.instance.size, 4096);
        assert_int_equal(v.instance.has_name, c.target.dynamic_name);
        if (c.target.dynamic_name) {
          assert_int_equal(v.instance.name_bytes, c.target.name_units * 2);
          assert_memory_equal(v.instance.name, c.target.name, c.target.name_units * 2);
        } else {
          assert_int_equal(v.instance.index, 9);
        }
        free(w);
      }
    }
  }
}

static wmiev_status build_small(void *buf, size_t size, size_t *needed, void *p) {
  return wmiev_wnode_build_too_small(buf, size, *(uint32_t *)p, needed, NULL);
}

static void too_small_round_trips(void **state) {
  (void)state;
  static const uint32_t values[] = {0, 57, 4096, 0xffffffffu};
  for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
    uint32_t need = values[i];
    wmiev_wnode_view v;
    uint8_t *w = build_and_validate(build_small, &need, i % 2, 0, &v);
    assert_int_equal(v.kind, WMIEV_WNODE_TOO_SMALL);
    assert_int_equal(v.size_needed, need);
    assert_int_equal(v.buffer_size, 56);
    assert_int_equal(v.flags, WNODE_FLAG_TOO_SMALL);
    assert_int_equal(v.instance_count, 0);
    free(w);
  }
}

int main(void) {
  fill_pattern();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(addressed_shapes_round_trip),
      cmocka_unit_test(all_data_round_trips),
      cmocka_unit_test(event_references_round_trip),
      cmocka_unit_test(too_small_round_trips),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
