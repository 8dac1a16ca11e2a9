/*
 * make_seeds: writes the seed corpora of the fuzz targets,
 * tests/fuzz/corpus/<target>/<name>, from the golden test vectors.
 *
 *   fuzz_make_seeds <corpus dir>
 *
 * WNODEs come from the builders (wnode_build.h) called with the arguments
 * of the golden cases in tests/unit/test_wnode_build.c, so each seed is a
 * golden vector byte for byte; WMIREGINFO records are laid out here by hand
 * the way tests/unit/test_reginfo_parse.c and test_wmilib.c spell their
 * golden records (with this host's WMIREGGUIDW, so the committed corpus is
 * the x86_64 one); names and GUID texts are the samples of test_name.c and
 * test_guid.c. fuzz_provider_reply's seeds are scripts (fuzz_common.h) that
 * walk a registration, queries, a method, an update and the failure paths.
 *
 * The output is deterministic and committed; CTest (fuzz.seeds) checks it
 * is still what this program writes. Run once after changing an input
 * format, and commit the result.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <sys/stat.h>

#include "fuzz_common.h"
#include "wnode_params.h"

/* ---- Output ---------------------------------------------------------------------------------- */

typedef struct seed {
  uint8_t bytes[8192];
  size_t n;
} seed;

static const char *out_dir;
static unsigned written;

static _Noreturn void die(const char *what) {
  fprintf(stderr, "make_seeds: %s\n", what);
  exit(1);
}

static void make_dir(const char *path) {
  if (mkdir(path, 0777) != 0 && errno != EEXIST) {
    perror(path);
    exit(1);
  }
}

static void emit(const char *target, const char *name, const void *bytes, size_t n) {
  char path[512];
  (void)snprintf(path, sizeof path, "%s/%s", out_dir, target);
  make_dir(path);
  (void)snprintf(path, sizeof path, "%s/%s/%s", out_dir, target, name);
  FILE *f = fopen(path, "wb");
  if (f == NULL || (n != 0 && fwrite(bytes, 1, n, f) != n) || fclose(f) != 0) {
    perror(path);
    exit(1);
  }
  written++;
}

static void put(seed *s, const void *p, size_t n) {
  if (s->n + n > sizeof s->bytes) {
    die("seed too large");
  }
  memcpy(s->bytes + s->n, p, n);
  s->n += n;
}
static void put8(seed *s, uint8_t v) { put(s, &v, 1); }
static void put16(seed *s, uint16_t v) { put(s, &v, 2); }
static void put32(seed *s, uint32_t v) { put(s, &v, 4); }

/* ---- WNODEs from the builders ---------------------------------------------------------------- */

typedef struct wnode {
  _Alignas(8) uint8_t bytes[2048];
  size_t n;
} wnode;

static void check(wmiev_status st, const char *what) {
  if (st != WMIEV_STATUS_SUCCESS) {
    fprintf(stderr, "make_seeds: building %s: %s\n", what, wmiev_status_name(st));
    exit(1);
  }
}

static void single_instance(wnode *w, const wmiev_wnode_header_params *h,
                            const wmiev_wnode_instance *in) {
  check(wmiev_wnode_build_single_instance(w->bytes, sizeof w->bytes, h, in, &w->n, NULL),
        "single instance");
}
static void single_item(wnode *w, const wmiev_wnode_header_params *h,
                        const wmiev_wnode_instance *in, uint32_t item) {
  check(wmiev_wnode_build_single_item(w->bytes, sizeof w->bytes, h, in, item, &w->n, NULL),
        "single item");
}
static void method_item(wnode *w, const wmiev_wnode_header_params *h,
                        const wmiev_wnode_instance *in, uint32_t method) {
  check(wmiev_wnode_build_method_item(w->bytes, sizeof w->bytes, h, in, method, &w->n, NULL),
        "method item");
}
static void all_data(wnode *w, const wmiev_wnode_header_params *h, const wmiev_wnode_instance *in,
                     uint32_t count, wmiev_all_data_layout l) {
  check(wmiev_wnode_build_all_data(w->bytes, sizeof w->bytes, h, in, count, l, &w->n, NULL),
        "all data");
}
static void reference(wnode *w, const wmiev_wnode_header_params *h,
                      const wmiev_wnode_instance *target, uint8_t severity) {
  check(wmiev_wnode_build_event_reference(w->bytes, sizeof w->bytes, h, target, severity, &w->n,
                                          NULL),
        "event reference");
}
static void too_small(wnode *w, uint32_t needed) {
  check(wmiev_wnode_build_too_small(w->bytes, sizeof w->bytes, needed, &w->n, NULL), "too small");
}

static const uint16_t name_dev0[] = {'D', 'e', 'v', '0'};
static const uint16_t name_m1[] = {'M', '1'};
static const uint16_t name_a[] = {'A'};
static const uint16_t name_bc[] = {'B', 'C'};
static const uint16_t name_x[] = {'x'};
static const uint16_t name_yz[] = {'y', 'z'};

static void seeds_wnode_validate(void) {
  const char *t = "wnode_validate";
  wnode w;
  wmiev_wnode_header_params h;
  static const uint8_t d_si[] = {0xDE, 0xAD, 0xBE, 0xEF};
  static const uint8_t d_dyn[] = {0x01, 0x02, 0x03};
  static const uint8_t d_item[] = {0x34, 0x12};
  static const uint8_t d_method[] = {0x0A, 0x0B, 0x0C, 0x0D, 0x0E};
  static const uint8_t d0[] = {0xA0, 0xA1, 0xA2, 0xA3, 0xA4, 0xA5};
  static const uint8_t d1[] = {0xB0, 0xB1, 0xB2, 0xB3, 0xB4, 0xB5};
  static const uint8_t d2[] = {0xC0, 0xC1, 0xC2, 0xC3, 0xC4, 0xC5};
  static const uint8_t v0[] = {0x11, 0x22, 0x33};
  static const uint8_t v1[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09};
  static const uint8_t f0[] = {0xD0, 0xD1, 0xD2, 0xD3};
  static const uint8_t f1[] = {0xE0, 0xE1, 0xE2, 0xE3};

  h = golden_hdr(WNODE_FLAG_EVENT_ITEM);
  wmiev_wnode_instance in = by_index(5, d_si, sizeof d_si);
  single_instance(&w, &h, &in);
  emit(t, "single_instance_static_event", w.bytes, w.n);

  in = by_name(name_dev0, 4, d_dyn, sizeof d_dyn);
  in.index = 9;
  single_instance(&w, &h, &in);
  emit(t, "single_instance_dynamic_event", w.bytes, w.n);

  h = golden_hdr(0);
  in = by_index(1, NULL, 0);
  single_instance(&w, &h, &in);
  emit(t, "single_instance_empty", w.bytes, w.n);

  h = golden_hdr(WNODE_FLAG_EVENT_ITEM);
  in = by_index(2, d_item, sizeof d_item);
  single_item(&w, &h, &in, 7);
  emit(t, "single_item_static_event", w.bytes, w.n);

  h = golden_hdr(0);
  in = by_name(name_m1, 2, d_method, sizeof d_method);
  method_item(&w, &h, &in, 3);
  emit(t, "method_item_dynamic", w.bytes, w.n);

  h = golden_hdr(WNODE_FLAG_EVENT_ITEM);
  wmiev_wnode_instance three[3] = {by_index(7, d0, 6), by_index(8, d1, 6), by_index(9, d2, 6)};
  all_data(&w, &h, three, 3, WMIEV_ALL_DATA_AUTO);
  emit(t, "all_data_fixed_static_event", w.bytes, w.n);

  h = golden_hdr(0);
  wmiev_wnode_instance named[2] = {by_name(name_a, 1, v0, sizeof v0),
                                   by_name(name_bc, 2, v1, sizeof v1)};
  all_data(&w, &h, named, 2, WMIEV_ALL_DATA_AUTO);
  emit(t, "all_data_variable_named", w.bytes, w.n);

  h = golden_hdr(WNODE_FLAG_EVENT_ITEM);
  wmiev_wnode_instance fixed_named[2] = {by_name(name_x, 1, f0, sizeof f0),
                                         by_name(name_yz, 2, f1, sizeof f1)};
  all_data(&w, &h, fixed_named, 2, WMIEV_ALL_DATA_AUTO);
  emit(t, "all_data_fixed_named_event", w.bytes, w.n);

  h = golden_hdr(0);
  wmiev_wnode_instance two[2] = {by_index(0, v0, 2), by_index(1, v1, 2)};
  all_data(&w, &h, two, 2, WMIEV_ALL_DATA_VARIABLE);
  emit(t, "all_data_variable_static", w.bytes, w.n);

  all_data(&w, &h, NULL, 0, WMIEV_ALL_DATA_AUTO);
  emit(t, "all_data_empty", w.bytes, w.n);

  wmiev_wnode_instance target = by_index(4, NULL, 0x10000);
  reference(&w, &h, &target, 0x42);
  emit(t, "event_reference_index", w.bytes, w.n);

  target = by_name(name_dev0, 4, NULL, 0x200);
  reference(&w, &h, &target, 0);
  emit(t, "event_reference_name", w.bytes, w.n);

  too_small(&w, 0x1234);
  emit(t, "too_small", w.bytes, w.n);

  /* Two near misses, so the rejection paths start covered too. */
  h = golden_hdr(WNODE_FLAG_TRACED_GUID);
  in = by_index(0, NULL, 0);
  single_instance(&w, &h, &in);
  emit(t, "reject_traced_guid", w.bytes, w.n);
  emit(t, "reject_short_header", w.bytes, 40);
}

/* ---- WMIREGINFO records ---------------------------------------------------------------------- */

#define RI_HDR ((uint32_t)offsetof(WMIREGINFOW, WmiRegGuid))
#define RI_ENT ((uint32_t)sizeof(WMIREGGUIDW))

typedef enum ri_names { RI_DYNAMIC, RI_BASENAME, RI_PDO, RI_LIST } ri_names;

typedef struct ri_entry {
  GUID guid;
  uint32_t flags; /* beyond the name source */
  uint32_t count;
  ri_names names;
} ri_entry;

/* Strings are ASCII here; lists are '|'-separated. */
typedef struct ri_record {
  const ri_entry *entries;
  uint32_t entry_count;
  const char *base_name;     /* RI_BASENAME entries share it */
  const char *list;          /* RI_LIST entries share it */
  const char *registry_path; /* NULL: absent */
  const char *mof;           /* NULL: absent */
  uintptr_t pdo;
} ri_record;

static uint32_t ri_string(uint8_t *rec, uint32_t *at, const char *ascii, size_t len) {
  uint32_t start = *at;
  uint16_t bytes = (uint16_t)(2 * len);
  memcpy(rec + *at, &bytes, 2);
  for (size_t i = 0; i < len; i++) {
    uint16_t u = (uint8_t)ascii[i];
    memcpy(rec + *at + 2 + 2 * i, &u, 2);
  }
  *at += 2u + bytes;
  return start;
}

/* Lays out one record: header, entries, then the strings, as drivers do. */
static uint32_t ri_build(uint8_t *rec, const ri_record *r) {
  uint32_t at = RI_HDR + r->entry_count * RI_ENT;
  memset(rec, 0, at);
  uint32_t base = 0, list = 0, path = 0, mof = 0;
  if (r->base_name != NULL) {
    base = ri_string(rec, &at, r->base_name, strlen(r->base_name));
  }
  if (r->list != NULL) {
    list = at;
    for (const char *p = r->list;;) {
      const char *bar = strchr(p, '|');
      size_t len = bar != NULL ? (size_t)(bar - p) : strlen(p);
      (void)ri_string(rec, &at, p, len);
      if (bar == NULL) {
        break;
      }
      p = bar + 1;
    }
  }
  if (r->registry_path != NULL) {
    path = ri_string(rec, &at, r->registry_path, strlen(r->registry_path));
  }
  if (r->mof != NULL) {
    mof = ri_string(rec, &at, r->mof, strlen(r->mof));
  }
  WMIREGINFOW header;
  memset(&header, 0, sizeof header);
  header.BufferSize = at;
  header.RegistryPath = path;
  header.MofResourceName = mof;
  header.GuidCount = r->entry_count;
  memcpy(rec, &header, RI_HDR);
  for (uint32_t i = 0; i < r->entry_count; i++) {
    const ri_entry *e = &r->entries[i];
    WMIREGGUIDW g;
    memset(&g, 0, sizeof g);
    g.Guid = e->guid;
    g.InstanceCount = e->count;
    g.Flags = e->flags;
    switch (e->names) {
    case RI_BASENAME:
      g.Flags |= WMIREG_FLAG_INSTANCE_BASENAME;
      g.BaseNameOffset = base;
      break;
    case RI_PDO:
      g.Flags |= WMIREG_FLAG_INSTANCE_PDO;
      g.Pdo = r->pdo;
      break;
    case RI_LIST:
      g.Flags |= WMIREG_FLAG_INSTANCE_LIST;
      g.InstanceNameList = list;
      break;
    case RI_DYNAMIC:
      break;
    }
    memcpy(rec + RI_HDR + i * RI_ENT, &g, sizeof g);
  }
  return at;
}

/* test_reginfo_parse.c's guid_a / test_wmilib.c's data, method and event GUIDs. */
static const GUID guid_disk = {
    0x78ebc104, 0x4cf9, 0x11d2, {0xba, 0x4a, 0x00, 0xa0, 0xc9, 0x06, 0x29, 0x10}};
static const GUID guid_pdo = {
    0x11223344, 0x5566, 0x7788, {0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00}};
static const GUID guid_data = {0xd0d0d0d0, 0x0001, 0x4000, {0x80, 0, 0, 0, 0, 0, 0, 1}};
static const GUID guid_method = {0xd0d0d0d0, 0x0002, 0x4000, {0x80, 0, 0, 0, 0, 0, 0, 2}};
static const GUID guid_event = {0xd0d0d0d0, 0x0003, 0x4000, {0x80, 0, 0, 0, 0, 0, 0, 3}};

/* The wmilib golden answer: three BASENAME blocks "Dev", registry path and MOF name. */
static const ri_entry wmilib_entries[] = {
    {{0xd0d0d0d0, 0x0001, 0x4000, {0x80, 0, 0, 0, 0, 0, 0, 1}}, 0, 3, RI_BASENAME},
    {{0xd0d0d0d0, 0x0002, 0x4000, {0x80, 0, 0, 0, 0, 0, 0, 2}},
     WMIREG_FLAG_EXPENSIVE,
     2,
     RI_BASENAME},
    {{0xd0d0d0d0, 0x0003, 0x4000, {0x80, 0, 0, 0, 0, 0, 0, 3}},
     WMIREG_FLAG_EVENT_ONLY_GUID,
     1,
     RI_BASENAME},
};
static const ri_record wmilib_register = {wmilib_entries, 3, "Dev", NULL, "Reg", "Mof", 0};
static const ri_record wmilib_update = {wmilib_entries, 3, "Dev", NULL, NULL, NULL, 0};

static void seeds_reginfo_parse(void) {
  const char *t = "reginfo_parse";
  _Alignas(8) uint8_t rec[1024];
  uint32_t n;

  /* test_reginfo_parse.c golden_x86_64_record: BASENAME "Disk" + a PDO block. */
  const ri_entry golden[] = {{guid_disk, WMIREG_FLAG_EXPENSIVE, 2, RI_BASENAME},
                             {guid_pdo, WMIREG_FLAG_EVENT_ONLY_GUID, 1, RI_PDO}};
  /* There the strings go path, MOF, base name; the layout differs, the content not. */
  const ri_record golden_rec = {
      golden, 2, "Disk", NULL, "\\Drv", "MOF", (uintptr_t)UINT64_C(0xffff8000deadbe00)};
  n = ri_build(rec, &golden_rec);
  emit(t, "basename_and_pdo", rec, n);

  n = ri_build(rec, &wmilib_register);
  emit(t, "wmilib_register", rec, n);
  n = ri_build(rec, &wmilib_update);
  emit(t, "wmilib_update", rec, n);

  const ri_entry listed[] = {{guid_data, 0, 3, RI_LIST}, {guid_event, 0, 0, RI_DYNAMIC}};
  const ri_record list_rec = {listed, 2, NULL, "Fan0|Fan1|Pump", NULL, NULL, 0};
  n = ri_build(rec, &list_rec);
  emit(t, "instance_list", rec, n);

  /* An UPDATE answer retiring a block (REMOVE_GUID). */
  const ri_entry retire[] = {{guid_data, WMIREG_FLAG_REMOVE_GUID, 3, RI_BASENAME},
                             {guid_method, 0, 2, RI_BASENAME}};
  const ri_record retire_rec = {retire, 2, "Dev", NULL, NULL, NULL, 0};
  n = ri_build(rec, &retire_rec);
  emit(t, "update_remove_guid", rec, n);

  /* A chain of two records (a class driver and a miniclass). */
  uint32_t first = ri_build(rec, &list_rec);
  uint32_t next = (first + 7u) & ~7u;
  memset(rec + first, 0, next - first);
  memcpy(rec + offsetof(WMIREGINFOW, NextWmiRegInfo), &next, 4);
  uint32_t second = ri_build(rec + next, &wmilib_register);
  emit(t, "chain_of_two", rec, next + second);

  /* No blocks at all: a header only. */
  const ri_record empty = {NULL, 0, NULL, NULL, NULL, NULL, 0};
  n = ri_build(rec, &empty);
  emit(t, "empty_record", rec, n);
}

/* ---- Names and GUID text ----------------------------------------------------------------------
 */

/* Mode byte of fuzz_names.c: low 3 bits the function, flags above. */
enum { N_LOCATE, N_WRITE, N_U16_TO_U8, N_U8_TO_U16, N_GUID_PARSE, N_GUID_FORMAT };
#define N_FLAGS(f) ((uint8_t)((f) << 3))

static void names_seed(const char *name, uint8_t mode, const void *arg, size_t n) {
  seed s = {.n = 0};
  put8(&s, mode);
  put(&s, arg, n);
  emit("names", name, s.bytes, s.n);
}

static void seeds_names(void) {
  /* Counted strings: "Dev0" at offset 2 of a buffer. */
  static const uint8_t counted[] = {
      0x02, 0x00, /* offset 2 */ 0xEE, 0xEE, 0x08, 0x00, 'D', 0, 'e', 0, 'v', 0, '0', 0};
  names_seed("locate_dev0", N_LOCATE, counted, sizeof counted);
  static const uint8_t odd[] = {0x00, 0x00, 0x03, 0x00, 'A', 0, 'B'};
  names_seed("locate_odd_count", N_LOCATE | N_FLAGS(WMIEV_NAME_ALLOW_ODD), odd, sizeof odd);
  static const uint8_t units[] = {'T', 0, 'o', 0, 'a', 0, 's', 0, 't', 0};
  names_seed("write_toast", N_WRITE, units, sizeof units);

  /* test_name.c: "A€😀" plus a trailing NUL; a lone surrogate; an embedded NUL. */
  static const uint8_t mixed[] = {0x41, 0x00, 0xAC, 0x20, 0x3D, 0xD8, 0x00, 0xDE, 0x00, 0x00};
  names_seed("utf16_mixed_trailing_nul", N_U16_TO_U8, mixed, sizeof mixed);
  static const uint8_t lone[] = {0x41, 0x00, 0x3D, 0xD8, 0x42, 0x00};
  names_seed("utf16_lone_surrogate", N_U16_TO_U8, lone, sizeof lone);
  names_seed("utf16_lone_surrogate_strict", N_U16_TO_U8 | N_FLAGS(WMIEV_NAME_STRICT), lone,
             sizeof lone);
  static const uint8_t embedded[] = {0x41, 0x00, 0x00, 0x00, 0x42, 0x00};
  names_seed("utf16_embedded_nul", N_U16_TO_U8, embedded, sizeof embedded);
  names_seed("utf16_odd_allowed", N_U16_TO_U8 | N_FLAGS(WMIEV_NAME_ALLOW_ODD), lone, 5);

  static const char utf8_mixed[] = "A\xE2\x82\xAC\xF0\x9F\x98\x80";
  names_seed("utf8_mixed", N_U8_TO_U16, utf8_mixed, sizeof utf8_mixed - 1);
  names_seed("utf8_mixed_add_nul", N_U8_TO_U16 | N_FLAGS(WMIEV_NAME_ADD_NUL), utf8_mixed,
             sizeof utf8_mixed - 1);
  static const char overlong[] = "A\xC0\xAF";
  names_seed("utf8_overlong", N_U8_TO_U16, overlong, sizeof overlong - 1);
  static const char surrogate[] = "\xED\xA0\x80";
  names_seed("utf8_surrogate", N_U8_TO_U16, surrogate, sizeof surrogate - 1);
  static const char truncated[] = "ok\xF0\x9F\x98";
  names_seed("utf8_truncated", N_U8_TO_U16, truncated, sizeof truncated - 1);

  /* test_guid.c: the WMI sample GUID in each accepted form, and near misses. */
  static const char braced[] = "{78EBC104-4CF9-11D2-BA4A-00A0C9062910}";
  names_seed("guid_braced", N_GUID_PARSE, braced, sizeof braced - 1);
  static const char bare[] = "78ebc104-4cf9-11d2-ba4a-00a0c9062910";
  names_seed("guid_bare_lower", N_GUID_PARSE, bare, sizeof bare - 1);
  static const char bad_dash[] = "{78EBC104-4CF9_11D2-BA4A-00A0C9062910}";
  names_seed("guid_bad_dash", N_GUID_PARSE, bad_dash, sizeof bad_dash - 1);
  names_seed("guid_short", N_GUID_PARSE, braced, 30);
  static const uint8_t raw[16] = {0x04, 0xc1, 0xeb, 0x78, 0xf9, 0x4c, 0xd2, 0x11,
                                  0xba, 0x4a, 0x00, 0xa0, 0xc9, 0x06, 0x29, 0x10};
  names_seed("guid_format", N_GUID_FORMAT, raw, sizeof raw);
}

/* ---- fuzz_provider_reply scripts ------------------------------------------------------------ */

/* One IRP answer (see fuzz_common.h). `bytes` NULL: nothing written. */
static void answer(seed *s, uint8_t act, uint8_t status_index, uint8_t info_mode, const void *bytes,
                   size_t n) {
  put8(s, (uint8_t)(act | (bytes != NULL ? PR_ACT_WRITE : 0u)));
  put8(s, status_index);
  put8(s, info_mode);
  if (bytes != NULL) {
    put16(s, 0); /* offset */
    put16(s, (uint16_t)n);
    put(s, bytes, n);
  }
}

static uint8_t status_index(wmiev_status st) {
  for (uint8_t i = 0; i < PR_STATUS_COUNT; i++) {
    if (PR_STATUSES[i] == st) {
      return i;
    }
  }
  die("status not in PR_STATUSES");
}

static void answer_ok(seed *s, const void *bytes, size_t n) {
  answer(s, PR_ACT_COMPLETE, 0, PR_INFO_WRITTEN, bytes, n);
}

/* Instance ref: provider + index. */
static void ref_index(seed *s, uint8_t who, uint8_t index) {
  put8(s, 0);
  put8(s, who);
  put8(s, index);
}

/* Instance ref: a static name ("Dev1"), asked of anyone. */
static void ref_name(seed *s, const char *ascii) {
  put8(s, 1);
  put8(s, 0);
  put8(s, 0);
  put8(s, (uint8_t)strlen(ascii));
  for (const char *p = ascii; *p != '\0'; p++) {
    put16(s, (uint16_t)(uint8_t)*p);
  }
}

/* The reply a provider gives to QUERY_ALL_DATA for the wmilib golden block 0. */
static void all_data_reply(wnode *w) {
  static const uint8_t i0[] = {1, 2, 3, 4}, i1[] = {5, 6, 7, 8}, i2[] = {9, 10, 11, 12};
  wmiev_wnode_header_params h;
  memset(&h, 0, sizeof h);
  h.guid = guid_data;
  wmiev_wnode_instance in[3] = {by_index(0, i0, 4), by_index(1, i1, 4), by_index(2, i2, 4)};
  all_data(w, &h, in, 3, WMIEV_ALL_DATA_AUTO);
}

static void seeds_provider_reply(void) {
  const char *t = "provider_reply";
  _Alignas(8) uint8_t reg[512], upd[512];
  uint32_t reg_n = ri_build(reg, &wmilib_register);
  uint32_t upd_n = ri_build(upd, &wmilib_update);
  wnode w;
  wmiev_wnode_header_params h;
  memset(&h, 0, sizeof h);
  static const uint8_t value[] = {0x2A, 0, 0, 0};

  /* The whole life of a wmilib-style provider on device A. */
  seed s = {.n = 0};
  put8(&s, 0); /* config: first REGINFO buffer 256 bytes */
  put8(&s, PR_OP_REGISTER);
  answer_ok(&s, reg, reg_n);
  put8(&s, PR_OP_QUERY_ALL);
  put8(&s, 0);     /* GUID: the first registered block */
  put16(&s, 4096); /* caller buffer */
  all_data_reply(&w);
  answer_ok(&s, w.bytes, w.n);
  put8(&s, PR_OP_QUERY_ONE);
  put8(&s, 0);
  ref_index(&s, 0, 1);
  put16(&s, 4096);
  h.guid = guid_data;
  h.extra_flags = 0;
  wmiev_wnode_instance one = by_index(1, value, sizeof value);
  single_instance(&w, &h, &one);
  answer_ok(&s, w.bytes, w.n);
  put8(&s, PR_OP_QUERY_ONE);
  put8(&s, 0);
  ref_name(&s, "Dev2");
  put16(&s, 4096);
  one = by_index(2, value, sizeof value);
  single_instance(&w, &h, &one);
  answer_ok(&s, w.bytes, w.n);
  put8(&s, PR_OP_METHOD);
  put8(&s, 1); /* the method block */
  ref_index(&s, 0, 0);
  put32(&s, 7); /* method id */
  put8(&s, 3);  /* input bytes */
  put8(&s, 'i');
  put8(&s, 'n');
  put8(&s, '!');
  put16(&s, 64); /* output room */
  h.guid = guid_method;
  one = by_index(0, value, sizeof value);
  method_item(&w, &h, &one, 7);
  answer_ok(&s, w.bytes, w.n);
  put8(&s, PR_OP_SET);
  put8(&s, 0);
  ref_index(&s, 0, 0);
  put8(&s, 0); /* whole instance */
  put8(&s, 4);
  put(&s, value, 4);
  answer_ok(&s, NULL, 0);
  put8(&s, PR_OP_UPDATE);
  answer_ok(&s, upd, upd_n);
  put8(&s, PR_OP_DEREGISTER);
  emit(t, "lifecycle", s.bytes, s.n);

  /* REGINFO growth in classpnp's form (SUCCESS, Information 4, size in the
   * first ULONG) from an 8-byte buffer, then the answer. */
  s.n = 0;
  put8(&s, 1); /* config: first REGINFO buffer 8 bytes */
  put8(&s, PR_OP_REGISTER);
  answer(&s, PR_ACT_COMPLETE, 0, PR_INFO_FOUR, &reg_n, 4);
  answer_ok(&s, reg, reg_n);
  put8(&s, PR_OP_QUERY_ALL);
  put8(&s, 0);
  put16(&s, 64); /* too small for the reply: two-call pattern */
  all_data_reply(&w);
  answer_ok(&s, w.bytes, w.n);
  emit(t, "reginfo_growth", s.bytes, s.n);

  /* REGINFO_EX not handled (forwarded to the bottom of A's stack), REGINFO
   * answered; then a query grown through WNODE_TOO_SMALL. */
  s.n = 0;
  put8(&s, 0);
  put8(&s, PR_OP_REGISTER);
  answer(&s, PR_ACT_FORWARD, status_index(WMIEV_STATUS_NOT_SUPPORTED), PR_INFO_ZERO, NULL, 0);
  answer_ok(&s, reg, reg_n);
  put8(&s, PR_OP_QUERY_ALL);
  put8(&s, 0);
  put16(&s, 8192);
  too_small(&w, 2048);
  answer_ok(&s, w.bytes, w.n);
  all_data_reply(&w);
  answer_ok(&s, w.bytes, w.n);
  emit(t, "reginfo_fallback_too_small", s.bytes, s.n);

  /* Device B: an INSTANCE_LIST block and a PDO-named one; a pended answer,
   * one completed twice, one held past the timeout, a DEREGISTER from
   * inside the dispatch routine. */
  const ri_entry b_entries[] = {{guid_data, 0, 3, RI_LIST}, {guid_event, 0, 2, RI_PDO}};
  const ri_record b_rec = {b_entries, 2, NULL, "Fan0|Fan1|Pump", NULL, NULL, PR_PDO_SHORT};
  _Alignas(8) uint8_t b_reg[512];
  uint32_t b_n = ri_build(b_reg, &b_rec);
  s.n = 0;
  put8(&s, 0);
  put8(&s, PR_OP_REGISTER | PR_DEVICE_B);
  answer(&s, PR_ACT_PEND_COMPLETE, 0, PR_INFO_WRITTEN, b_reg, b_n);
  put8(&s, PR_OP_QUERY_ONE);
  put8(&s, 0);
  ref_name(&s, "Pump");
  put16(&s, 4096);
  h.guid = guid_data;
  one = by_index(2, value, sizeof value);
  single_instance(&w, &h, &one);
  answer(&s, PR_ACT_COMPLETE_TWICE, 0, PR_INFO_WRITTEN, w.bytes, w.n);
  put8(&s, PR_OP_QUERY_ALL);
  put8(&s, 1);
  put16(&s, 4096);
  answer(&s, PR_ACT_HOLD, 0, PR_INFO_ZERO, NULL, 0);
  put8(&s, PR_OP_QUERY_ALL);
  put8(&s, 1);
  put16(&s, 4096);
  answer(&s, PR_ACT_DEREGISTER_INSIDE, status_index(WMIEV_STATUS_INVALID_DEVICE_REQUEST),
         PR_INFO_ZERO, NULL, 0);
  put8(&s, PR_OP_COMPLETE_HELD);
  put8(&s, PR_OP_BLOCK_IRPS | PR_DEVICE_B);
  put8(&s, PR_OP_QUERY_ALL);
  put8(&s, 0);
  put16(&s, 4096);
  emit(t, "list_pdo_pending", s.bytes, s.n);

  /* Both devices register the same block; QUERY_ALL_DATA chains their
   * replies. A's REGINFO is broken first (Information past the buffer). */
  s.n = 0;
  put8(&s, PR_CONFIG_LATE_AFTER_DESTROY);
  put8(&s, PR_OP_REGISTER);
  answer(&s, PR_ACT_COMPLETE, 0, PR_INFO_BUFFER_PLUS, reg, reg_n);
  put8(&s, PR_OP_REGISTER);
  answer_ok(&s, reg, reg_n);
  put8(&s, PR_OP_REGISTER | PR_DEVICE_B);
  answer_ok(&s, reg, reg_n);
  put8(&s, PR_OP_QUERY_ALL);
  put8(&s, 0);
  put16(&s, 4096);
  all_data_reply(&w);
  answer_ok(&s, w.bytes, w.n);
  answer_ok(&s, w.bytes, w.n);
  put8(&s, PR_OP_QUERY_ONE | PR_DEVICE_B);
  put8(&s, 0);
  ref_index(&s, 1, 0);
  put16(&s, 4096);
  answer(&s, PR_ACT_HOLD, 0, PR_INFO_ZERO, NULL, 0);
  put8(&s, PR_OP_REREGISTER | PR_DEVICE_B);
  answer(&s, PR_ACT_NO_COMPLETE, 0, PR_INFO_ZERO, NULL, 0);
  emit(t, "two_providers", s.bytes, s.n);
}

/* ---- fuzz_fire: WNODEs for the provider of fuzz_common.h ---------------------------------- */

static wmiev_wnode_header_params fire_hdr(int g, uint32_t extra) {
  wmiev_wnode_header_params h;
  memset(&h, 0, sizeof h);
  h.guid = fire_guids[g];
  h.provider_id = FIRE_PROVIDER_ID;
  h.extra_flags = extra;
  return h;
}

static void seeds_fire(void) {
  const char *t = "fire";
  wnode w;
  static const uint8_t data[] = {'h', 'e', 'l', 'l', 'o'};
  static const uint16_t inst[] = {'U', 'S', 'B', '1'};

  wmiev_wnode_header_params h = fire_hdr(FIRE_G_STATIC, WNODE_FLAG_EVENT_ITEM);
  wmiev_wnode_instance in = by_index(0, data, sizeof data);
  single_instance(&w, &h, &in);
  emit(t, "static_event", w.bytes, w.n);

  h = fire_hdr(FIRE_G_PDO, WNODE_FLAG_EVENT_ITEM | WNODE_FLAG_PDO_INSTANCE_NAMES);
  in = by_index(1, data, 2);
  single_instance(&w, &h, &in);
  emit(t, "pdo_event", w.bytes, w.n);

  h = fire_hdr(FIRE_G_DYNAMIC, WNODE_FLAG_EVENT_ITEM);
  in = by_name(inst, 4, data, sizeof data);
  single_instance(&w, &h, &in);
  emit(t, "dynamic_event", w.bytes, w.n);

  /* Microsoft's toaster: a dynamic-name event for a PDO-named block (a warning). */
  h = fire_hdr(FIRE_G_PDO, WNODE_FLAG_EVENT_ITEM);
  single_instance(&w, &h, &in);
  emit(t, "dynamic_for_pdo_block", w.bytes, w.n);

  h = fire_hdr(FIRE_G_STATIC, WNODE_FLAG_EVENT_ITEM | WNODE_FLAG_USE_TIMESTAMP);
  h.timestamp = INT64_C(0x01D9000000000000);
  in = by_index(2, data, 1);
  single_item(&w, &h, &in, 4);
  emit(t, "item_event_own_timestamp", w.bytes, w.n);

  h = fire_hdr(FIRE_G_STATIC, WNODE_FLAG_EVENT_ITEM);
  wmiev_wnode_instance three[3] = {by_index(0, data, 5), by_index(1, data, 5),
                                   by_index(2, data, 5)};
  all_data(&w, &h, three, 3, WMIEV_ALL_DATA_AUTO);
  emit(t, "all_data_event", w.bytes, w.n);

  h = fire_hdr(FIRE_G_STATIC, 0);
  wmiev_wnode_instance target = by_index(1, NULL, 16);
  reference(&w, &h, &target, 0);
  emit(t, "reference_by_index", w.bytes, w.n);

  h = fire_hdr(FIRE_G_PDO, WNODE_FLAG_PDO_INSTANCE_NAMES);
  target = by_index(0, NULL, 0);
  reference(&w, &h, &target, 3);
  emit(t, "reference_pdo", w.bytes, w.n);

  h = fire_hdr(FIRE_G_DYNAMIC, 0);
  target = by_name(inst, 4, NULL, 8);
  reference(&w, &h, &target, 0);
  emit(t, "reference_by_name", w.bytes, w.n);

  h = fire_hdr(FIRE_G_QUIET, WNODE_FLAG_EVENT_ITEM);
  in = by_index(0, data, sizeof data);
  single_instance(&w, &h, &in);
  emit(t, "not_enabled", w.bytes, w.n);

  h = fire_hdr(FIRE_G_STATIC, WNODE_FLAG_EVENT_ITEM);
  in = by_index(3, data, sizeof data); /* three instances: 0..2 */
  single_instance(&w, &h, &in);
  emit(t, "bad_instance", w.bytes, w.n);

  h = fire_hdr(FIRE_G_STATIC, WNODE_FLAG_EVENT_ITEM);
  h.provider_id = 77;
  in = by_index(0, data, sizeof data);
  single_instance(&w, &h, &in);
  emit(t, "unknown_provider", w.bytes, w.n);

  /* An ETW header, never the bus's; and one claiming more than max_event_size. */
  uint8_t header[sizeof(WNODE_HEADER)];
  memset(header, 0, sizeof header);
  uint32_t v = sizeof header;
  memcpy(header, &v, 4);
  memcpy(header + offsetof(WNODE_HEADER, Guid), &fire_guids[FIRE_G_STATIC], sizeof(GUID));
  v = WNODE_FLAG_TRACED_GUID;
  memcpy(header + offsetof(WNODE_HEADER, Flags), &v, 4);
  emit(t, "traced", header, sizeof header);
  v = 4096;
  memcpy(header, &v, 4);
  v = WNODE_FLAG_SINGLE_INSTANCE | WNODE_FLAG_EVENT_ITEM;
  memcpy(header + offsetof(WNODE_HEADER, Flags), &v, 4);
  emit(t, "too_large", header, sizeof header);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s <corpus dir>   (tests/fuzz/corpus)\n", argv[0]);
    return 2;
  }
  out_dir = argv[1];
  make_dir(out_dir);
  seeds_wnode_validate();
  seeds_reginfo_parse();
  seeds_names();
  seeds_provider_reply();
  seeds_fire();
  printf("make_seeds: %u files in %s\n", written, out_dir);
  return 0;
}
