/*
 * wnode-demo: the WNODEs a WMI provider hands to the kernel, built and read
 * back with wmiev's portable API.
 *
 * A fictional thermal-sensor driver
 *   1. parses its block GUIDs from registry text,
 *   2. builds a single-instance event for a statically named instance,
 *   3. builds the same event for a dynamically named instance (the name
 *      comes from UTF-8 and is stored as UTF-16),
 *   4. answers a query-all-data request with three instances,
 *   5. builds an event reference for an instance too large to send inline,
 * and every WNODE is checked with the validator, then dumped and decoded the
 * way a consumer sees it. Finally a WNODE cut short in transit is rejected.
 *
 * Every builder follows the two-call pattern: call it with no buffer to learn
 * the size, allocate, call it again.
 *
 * The program checks its own results and exits with 0 only if everything
 * behaved as documented, so it also runs as a test (examples.wnode_demo).
 */
#include <wmiev/wmiev.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- The data block of our fictional sensor --------------------------- */

/* One instance of the "SensorReading" block, as the MOF would declare it. */
typedef struct {
  uint32_t zone;        /* thermal zone number */
  int32_t millicelsius; /* temperature */
  uint32_t fan_rpm;     /* fan speed */
  uint32_t alarms;      /* bit 0: over temperature */
} sensor_reading;

/* Registry form of the block GUIDs; parsing accepts either case. */
static const char reading_guid_text[] = "{3f0b6e2a-5c1d-4e8f-9a7b-1c2d3e4f5a6b}";
static const char reading_guid_upper[] = "{3F0B6E2A-5C1D-4E8F-9A7B-1C2D3E4F5A6B}";
static const char snapshot_guid_text[] = "{8D1F2E3C-4B5A-4968-8776-A5B4C3D2E1F0}";

/* Provider id WMI would have assigned to our device at registration. */
#define DEMO_PROVIDER_ID 0x00001001u
/* 2026-01-01 00:00:00 UTC in 100-ns units since 1601 (KeQuerySystemTime). */
#define DEMO_TIMESTAMP INT64_C(134116992000000000)

/* ---- Self-checks -------------------------------------------------------- */

static int failures;

/* Counts and reports a check that did not hold; returns @p ok. */
static bool expect(bool ok, const char *what) {
  if (!ok) {
    failures++;
    fprintf(stderr, "wnode-demo: UNEXPECTED: %s\n", what);
  }
  return ok;
}

/* Checks a status, showing the diagnostic when it is not the one expected. */
static bool expect_status(wmiev_status got, wmiev_status want, const char *what,
                          const wmiev_diag *diag) {
  if (got == want) {
    return true;
  }
  failures++;
  fprintf(stderr, "wnode-demo: UNEXPECTED: %s returned %s, expected %s\n", what,
          wmiev_status_name(got), wmiev_status_name(want));
  if (diag != NULL && !WMIEV_SUCCESS(got)) {
    fprintf(stderr, "            %s at offset %u: %s\n", diag->field, (unsigned)diag->offset,
            diag->message);
  }
  return false;
}

/* ---- Printing ----------------------------------------------------------- */

/* Classic hex dump: offset, 16 bytes, their printable ASCII. */
static void hex_dump(const uint8_t *p, size_t n) {
  for (size_t line = 0; line < n; line += 16) {
    printf("    %04zx  ", line);
    for (size_t i = line; i < line + 16; i++) {
      if (i < n) {
        printf("%02x ", p[i]);
      } else {
        printf("   ");
      }
      if (i == line + 7) {
        putchar(' ');
      }
    }
    printf(" |");
    for (size_t i = line; i < line + 16 && i < n; i++) {
      putchar(p[i] >= 0x20 && p[i] < 0x7f ? p[i] : '.');
    }
    printf("|\n");
  }
}

/* WnodeHeader.Flags spelled out, e.g. "SINGLE_INSTANCE|EVENT_ITEM". */
static void print_flags(uint32_t flags) {
  static const struct {
    uint32_t bit;
    const char *name;
  } names[] = {
      {WNODE_FLAG_ALL_DATA, "ALL_DATA"},
      {WNODE_FLAG_SINGLE_INSTANCE, "SINGLE_INSTANCE"},
      {WNODE_FLAG_SINGLE_ITEM, "SINGLE_ITEM"},
      {WNODE_FLAG_EVENT_ITEM, "EVENT_ITEM"},
      {WNODE_FLAG_FIXED_INSTANCE_SIZE, "FIXED_INSTANCE_SIZE"},
      {WNODE_FLAG_TOO_SMALL, "TOO_SMALL"},
      {WNODE_FLAG_INSTANCES_SAME, "INSTANCES_SAME"},
      {WNODE_FLAG_STATIC_INSTANCE_NAMES, "STATIC_INSTANCE_NAMES"},
      {WNODE_FLAG_USE_TIMESTAMP, "USE_TIMESTAMP"},
      {WNODE_FLAG_PERSIST_EVENT, "PERSIST_EVENT"},
      {WNODE_FLAG_EVENT_REFERENCE, "EVENT_REFERENCE"},
      {WNODE_FLAG_METHOD_ITEM, "METHOD_ITEM"},
      {WNODE_FLAG_PDO_INSTANCE_NAMES, "PDO_INSTANCE_NAMES"},
  };
  printf("0x%08x", (unsigned)flags);
  const char *sep = " ";
  uint32_t known = WNODE_FLAG_SEVERITY_MASK;
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    known |= names[i].bit;
    if (flags & names[i].bit) {
      printf("%s%s", sep, names[i].name);
      sep = "|";
    }
  }
  if (WMIEV_WNODE_SEVERITY(flags) != 0) {
    printf("%sseverity %u", sep, (unsigned)WMIEV_WNODE_SEVERITY(flags));
    sep = "|";
  }
  if (flags & ~known) {
    printf("%sother 0x%x", sep, (unsigned)(flags & ~known));
  }
  putchar('\n');
}

/* A WMI timestamp (100 ns since 1601) as UTC calendar time. */
static void print_timestamp(int64_t ticks) {
  if (ticks == 0) {
    printf("0 (not stamped)\n");
    return;
  }
  /* 11644473600 s lie between 1601-01-01 and the Unix epoch. */
  time_t unix_seconds = (time_t)(ticks / 10000000 - INT64_C(11644473600));
  struct tm *utc = gmtime(&unix_seconds);
  char text[32] = "?";
  if (utc != NULL) {
    (void)strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S UTC", utc);
  }
  printf("%lld (%s)\n", (long long)ticks, text);
}

/* Decodes an instance name from the wire (UTF-16LE) into @p out as UTF-8. */
static bool name_to_utf8(const wmiev_wnode_instance_view *iv, char *out, size_t out_size) {
  wmiev_diag diag;
  size_t len = 0;
  wmiev_status st =
      wmiev_name_utf16_to_utf8(iv->name, iv->name_bytes, 0, out, out_size, &len, &diag);
  if (!expect_status(st, WMIEV_STATUS_SUCCESS, "wmiev_name_utf16_to_utf8", &diag)) {
    snprintf(out, out_size, "<undecodable>");
    return false;
  }
  return true;
}

/* One instance: how it is addressed, where its data is, and the data. */
static void print_instance(const wmiev_wnode_instance_view *iv, bool is_target) {
  if (iv->has_name) {
    char name[256];
    name_to_utf8(iv, name, sizeof name);
    printf("      name \"%s\" (%u bytes of UTF-16 at offset %u)\n", name, (unsigned)iv->name_bytes,
           (unsigned)iv->name_offset);
  } else {
    printf("      static instance index %u\n", (unsigned)iv->index);
  }
  if (is_target) {
    printf("      TargetDataBlockSize %u\n", (unsigned)iv->size);
    return;
  }
  printf("      data: %u bytes at offset %u\n", (unsigned)iv->size, (unsigned)iv->data_offset);
  if (iv->size == sizeof(sensor_reading)) {
    sensor_reading r; /* memcpy: the view does not promise alignment */
    memcpy(&r, iv->data, sizeof r);
    printf("      reading: zone %u, %.1f degC, fan %u rpm, alarms 0x%x\n", (unsigned)r.zone,
           r.millicelsius / 1000.0, (unsigned)r.fan_rpm, (unsigned)r.alarms);
  }
}

/* The decoded view of a validated WNODE, the way a consumer reads it. */
static void print_view(const wmiev_wnode_view *v) {
  char guid[WMIEV_GUID_STRING_SIZE];
  wmiev_guid_format(&v->guid, guid);
  printf("    kind          %s%s\n", wmiev_wnode_kind_name(v->kind), v->is_event ? " (event)" : "");
  printf("    BufferSize    %u\n", (unsigned)v->buffer_size);
  printf("    ProviderId    0x%08x\n", (unsigned)v->provider_id);
  printf("    Flags         ");
  print_flags(v->flags);
  printf("    TimeStamp     ");
  print_timestamp(v->timestamp);
  printf("    Guid          %s\n", guid);

  switch (v->kind) {
  case WMIEV_WNODE_ALL_DATA:
    printf("    InstanceCount %u, %s", (unsigned)v->instance_count,
           v->fixed_instance_size ? "fixed size" : "variable size");
    if (v->fixed_instance_size) {
      printf(" (FixedInstanceSize %u)", (unsigned)v->fixed_size);
    }
    printf(", DataBlockOffset %u\n", (unsigned)v->data_block_offset);
    for (uint32_t i = 0; i < v->instance_count; i++) {
      wmiev_wnode_instance_view iv;
      if (expect_status(wmiev_wnode_view_instance(v, i, &iv), WMIEV_STATUS_SUCCESS,
                        "wmiev_wnode_view_instance", NULL)) {
        printf("    instance %u\n", (unsigned)i);
        print_instance(&iv, false);
      }
    }
    break;
  case WMIEV_WNODE_EVENT_REFERENCE:
    wmiev_guid_format(&v->target_guid, guid);
    printf("    TargetGuid    %s\n", guid);
    printf("    severity      %u\n", (unsigned)v->severity);
    printf("    target\n");
    print_instance(&v->instance, true);
    break;
  case WMIEV_WNODE_TOO_SMALL:
    printf("    SizeNeeded    %u\n", (unsigned)v->size_needed);
    break;
  default:
    printf("    instance\n");
    print_instance(&v->instance, false);
    break;
  }
}

/*
 * Validates a freshly built WNODE as a consumer would, checks that the view
 * says what we put in, and shows it.
 */
static bool check_and_show(const char *title, const uint8_t *wnode, size_t size,
                           wmiev_wnode_kind kind, bool is_event, const GUID *guid,
                           wmiev_wnode_view *view) {
  printf("\n== %s: %zu bytes\n", title, size);
  hex_dump(wnode, size);

  wmiev_diag diag;
  wmiev_status st =
      wmiev_wnode_validate(wnode, size, is_event ? WMIEV_VALIDATE_REQUIRE_EVENT : 0, view, &diag);
  if (!expect_status(st, WMIEV_STATUS_SUCCESS, "wmiev_wnode_validate", &diag)) {
    return false;
  }
  printf("  validated: %s\n", wmiev_status_name(st));
  print_view(view);
  bool ok = expect(view->kind == kind, "the validator saw another kind than was built");
  ok &= expect(view->buffer_size == size, "BufferSize differs from the size the builder reported");
  ok &= expect(view->is_event == is_event, "the event marking differs from what was built");
  ok &= expect(wmiev_guid_equal(&view->guid, guid), "the GUID did not survive the round trip");
  ok &= expect(view->provider_id == DEMO_PROVIDER_ID, "the ProviderId did not survive");
  ok &= expect(view->warnings == 0, "the validator raised warnings on a builder's WNODE");
  return ok;
}

/* True if the instance in @p iv carries exactly @p data. */
static bool same_data(const wmiev_wnode_instance_view *iv, const void *data, size_t size) {
  return iv->size == size && (size == 0 || memcmp(iv->data, data, size) == 0);
}

/* True if the wire name in @p iv decodes to @p utf8. */
static bool same_name(const wmiev_wnode_instance_view *iv, const char *utf8) {
  char name[256];
  return iv->has_name && name_to_utf8(iv, name, sizeof name) && strcmp(name, utf8) == 0;
}

/*
 * UTF-8 to UTF-16 with the two-call pattern. Returns a malloc'ed array of
 * *units code units (no trailing NUL), or NULL after reporting the failure.
 */
static uint16_t *utf16_from_utf8(const char *utf8, size_t *units) {
  wmiev_diag diag;
  size_t needed = 0;
  wmiev_status st = wmiev_name_utf8_to_utf16(utf8, strlen(utf8), 0, NULL, 0, &needed, &diag);
  if (!expect_status(st, WMIEV_STATUS_BUFFER_TOO_SMALL, "wmiev_name_utf8_to_utf16 (size)", &diag)) {
    return NULL;
  }
  uint16_t *out = malloc(needed * sizeof *out + 1); /* + 1: never malloc(0) */
  if (out == NULL) {
    expect(false, "out of memory");
    return NULL;
  }
  st = wmiev_name_utf8_to_utf16(utf8, strlen(utf8), 0, out, needed, units, &diag);
  if (!expect_status(st, WMIEV_STATUS_SUCCESS, "wmiev_name_utf8_to_utf16", &diag)) {
    free(out);
    return NULL;
  }
  return out;
}

/* ---- The story -------------------------------------------------------- */

int main(void) {
  wmiev_diag diag;
  wmiev_status st;
  size_t size = 0;

  printf("wmiev %s: WNODE demo\n", wmiev_version_string());

  /* 1. GUIDs come from the MOF / registry as text. */
  GUID reading_guid;
  GUID snapshot_guid;
  st = wmiev_guid_parse(reading_guid_text, strlen(reading_guid_text), &reading_guid, &diag);
  if (!expect_status(st, WMIEV_STATUS_SUCCESS, "wmiev_guid_parse", &diag)) {
    return EXIT_FAILURE; /* nothing below makes sense without the GUID */
  }
  st = wmiev_guid_parse(snapshot_guid_text, strlen(snapshot_guid_text), &snapshot_guid, &diag);
  if (!expect_status(st, WMIEV_STATUS_SUCCESS, "wmiev_guid_parse", &diag)) {
    return EXIT_FAILURE;
  }
  char guid_text[WMIEV_GUID_STRING_SIZE];
  size_t guid_len = wmiev_guid_format(&reading_guid, guid_text);
  printf("\n== GUID\n  parsed    %s\n  formatted %s (Data1 0x%08x)\n", reading_guid_text, guid_text,
         (unsigned)reading_guid.Data1);
  expect(guid_len == 38 && strcmp(guid_text, reading_guid_upper) == 0,
         "formatting did not give the upper-case registry form");
  expect(!wmiev_guid_equal(&reading_guid, &snapshot_guid), "two different GUIDs compare equal");

  /* Header fields shared by the events below. */
  wmiev_wnode_header_params hdr;
  memset(&hdr, 0, sizeof hdr);
  hdr.guid = reading_guid;
  hdr.provider_id = DEMO_PROVIDER_ID;
  hdr.extra_flags = WNODE_FLAG_EVENT_ITEM | WNODE_FLAG_USE_TIMESTAMP;
  hdr.timestamp = DEMO_TIMESTAMP;

  /* 2. A single-instance event for static instance #2 (zone 2 overheats). */
  {
    const sensor_reading hot = {2, 91500, 4200, 0x1};
    wmiev_wnode_instance inst;
    memset(&inst, 0, sizeof inst);
    inst.index = 2;
    inst.data = &hot;
    inst.size = (uint32_t)sizeof hot;

    /* First call: no buffer, learn the size. */
    st = wmiev_wnode_build_single_instance(NULL, 0, &hdr, &inst, &size, &diag);
    expect_status(st, WMIEV_STATUS_BUFFER_TOO_SMALL, "single-instance build (size)", &diag);
    uint8_t *wnode = malloc(size);
    if (wnode == NULL) {
      return EXIT_FAILURE;
    }
    /* Second call: build into a buffer of exactly that size. */
    st = wmiev_wnode_build_single_instance(wnode, size, &hdr, &inst, &size, &diag);
    wmiev_wnode_view view;
    if (expect_status(st, WMIEV_STATUS_SUCCESS, "single-instance build", &diag) &&
        check_and_show("Single-instance event, static name", wnode, size,
                       WMIEV_WNODE_SINGLE_INSTANCE, true, &reading_guid, &view)) {
      expect(view.static_names && !view.instance.has_name && view.instance.index == 2,
             "the static instance index did not survive");
      expect(same_data(&view.instance, &hot, sizeof hot), "the event data did not survive");
      expect(view.timestamp == DEMO_TIMESTAMP, "the timestamp did not survive");
    }
    free(wnode);
  }

  /* 3. The same event for a dynamically named instance. */
  /* "ACPI\ThermalZone\Küche_0": the ü makes UTF-8 and UTF-16 lengths differ. */
  static const char dyn_name[] = "ACPI\\ThermalZone\\K\xc3\xbc"
                                 "che_0";
  uint8_t *dyn_wnode = NULL; /* kept for step 6 */
  size_t dyn_size = 0;
  {
    size_t units = 0;
    uint16_t *name16 = utf16_from_utf8(dyn_name, &units);
    const sensor_reading cool = {7, 36250, 1800, 0};
    wmiev_wnode_instance inst;
    memset(&inst, 0, sizeof inst);
    inst.dynamic_name = true;
    inst.name = name16;
    inst.name_units = units;
    inst.data = &cool;
    inst.size = (uint32_t)sizeof cool;
    if (name16 != NULL) {
      printf("\n  \"%s\" is %zu bytes of UTF-8, %zu UTF-16 units\n", dyn_name, strlen(dyn_name),
             units);
      st = wmiev_wnode_build_single_instance(NULL, 0, &hdr, &inst, &dyn_size, &diag);
      expect_status(st, WMIEV_STATUS_BUFFER_TOO_SMALL, "dynamic-name build (size)", &diag);
      dyn_wnode = malloc(dyn_size);
      if (dyn_wnode == NULL) {
        return EXIT_FAILURE;
      }
      st = wmiev_wnode_build_single_instance(dyn_wnode, dyn_size, &hdr, &inst, &dyn_size, &diag);
      wmiev_wnode_view view;
      if (expect_status(st, WMIEV_STATUS_SUCCESS, "dynamic-name build", &diag) &&
          check_and_show("Single-instance event, dynamic name", dyn_wnode, dyn_size,
                         WMIEV_WNODE_SINGLE_INSTANCE, true, &reading_guid, &view)) {
        expect(!view.static_names && same_name(&view.instance, dyn_name),
               "the instance name did not survive UTF-8 -> UTF-16 -> UTF-8");
        expect(same_data(&view.instance, &cool, sizeof cool), "the event data did not survive");
      }
    }
    free(name16);
  }

  /* 4. The reply to IRP_MN_QUERY_ALL_DATA: three named instances. */
  {
    static const char *const names[3] = {"Zone_0", "Zone_1", "Zone_2"};
    const sensor_reading readings[3] = {
        {0, 41000, 2100, 0}, {1, 39500, 2000, 0}, {2, 91500, 4200, 1}};
    uint16_t *names16[3] = {NULL, NULL, NULL};
    wmiev_wnode_instance insts[3];
    memset(insts, 0, sizeof insts);
    bool names_ok = true;
    for (size_t i = 0; i < 3; i++) {
      names16[i] = utf16_from_utf8(names[i], &insts[i].name_units);
      names_ok &= names16[i] != NULL;
      insts[i].dynamic_name = true;
      insts[i].name = names16[i];
      insts[i].data = &readings[i];
      insts[i].size = (uint32_t)sizeof readings[i];
    }
    wmiev_wnode_header_params reply;
    memset(&reply, 0, sizeof reply);
    reply.guid = snapshot_guid;
    reply.provider_id = DEMO_PROVIDER_ID; /* a query reply is not an event: no EVENT_ITEM */
    if (names_ok) {
      st = wmiev_wnode_build_all_data(NULL, 0, &reply, insts, 3, WMIEV_ALL_DATA_AUTO, &size, &diag);
      expect_status(st, WMIEV_STATUS_BUFFER_TOO_SMALL, "all-data build (size)", &diag);
      uint8_t *wnode = malloc(size);
      if (wnode == NULL) {
        return EXIT_FAILURE;
      }
      st = wmiev_wnode_build_all_data(wnode, size, &reply, insts, 3, WMIEV_ALL_DATA_AUTO, &size,
                                      &diag);
      wmiev_wnode_view view;
      if (expect_status(st, WMIEV_STATUS_SUCCESS, "all-data build", &diag) &&
          check_and_show("All data, 3 instances", wnode, size, WMIEV_WNODE_ALL_DATA, false,
                         &snapshot_guid, &view)) {
        /* Equal sizes: AUTO chooses the fixed-size layout. */
        expect(view.instance_count == 3, "InstanceCount is not 3");
        expect(view.fixed_instance_size && view.fixed_size == sizeof(sensor_reading),
               "equal-size instances did not get the fixed-size layout");
        for (uint32_t i = 0; i < 3 && i < view.instance_count; i++) {
          wmiev_wnode_instance_view iv;
          if (wmiev_wnode_view_instance(&view, i, &iv) == WMIEV_STATUS_SUCCESS) {
            expect(same_name(&iv, names[i]), "an instance name did not survive");
            expect(same_data(&iv, &readings[i], sizeof readings[i]),
                   "an instance's data did not survive");
          }
        }
      }
      free(wnode);
    }
    for (size_t i = 0; i < 3; i++) {
      free(names16[i]);
    }
  }

  /* 5. An event reference: instance #0 of the snapshot block is too large to
   *    send inline, so the event tells WMI to query it. */
  {
    wmiev_wnode_header_params ref;
    memset(&ref, 0, sizeof ref);
    ref.guid = snapshot_guid;
    ref.provider_id = DEMO_PROVIDER_ID;
    ref.timestamp = DEMO_TIMESTAMP;
    wmiev_wnode_instance target;
    memset(&target, 0, sizeof target);
    target.index = 0;
    target.size = 64 * 1024; /* TargetDataBlockSize */
    const uint8_t severity = 3;

    st = wmiev_wnode_build_event_reference(NULL, 0, &ref, &target, severity, &size, &diag);
    expect_status(st, WMIEV_STATUS_BUFFER_TOO_SMALL, "event-reference build (size)", &diag);
    uint8_t *wnode = malloc(size);
    if (wnode == NULL) {
      return EXIT_FAILURE;
    }
    st = wmiev_wnode_build_event_reference(wnode, size, &ref, &target, severity, &size, &diag);
    wmiev_wnode_view view;
    if (expect_status(st, WMIEV_STATUS_SUCCESS, "event-reference build", &diag) &&
        check_and_show("Event reference", wnode, size, WMIEV_WNODE_EVENT_REFERENCE, true,
                       &snapshot_guid, &view)) {
      expect(wmiev_guid_equal(&view.target_guid, &snapshot_guid), "TargetGuid is wrong");
      expect(view.severity == severity, "the severity did not survive");
      expect(!view.instance.has_name && view.instance.index == 0 && view.instance.size == 64 * 1024,
             "the target instance did not survive");
    }
    free(wnode);
  }

  /* 6. A malformed WNODE: the dynamic-name event cut short by 8 bytes in
   *    transit. BufferSize still claims the full length. The copy lives in
   *    a buffer of exactly the short length, so a sanitizer build would
   *    catch any read past it. */
  if (dyn_wnode != NULL && dyn_size > 8) {
    size_t cut = dyn_size - 8;
    uint8_t *truncated = malloc(cut);
    if (truncated == NULL) {
      return EXIT_FAILURE;
    }
    memcpy(truncated, dyn_wnode, cut);
    printf("\n== Malformed: the dynamic-name event cut to %zu of its %zu bytes\n", cut, dyn_size);
    wmiev_wnode_view view;
    memset(&diag, 0, sizeof diag);
    st = wmiev_wnode_validate(truncated, cut, WMIEV_VALIDATE_REQUIRE_EVENT, &view, &diag);
    printf("  status  %s (0x%08x)\n", wmiev_status_name(st), (unsigned)st);
    printf("  field   %s, offset %u\n", diag.field != NULL ? diag.field : "(none)",
           (unsigned)diag.offset);
    printf("  message %s\n", diag.message);
    if (expect_status(st, WMIEV_STATUS_INVALID_BUFFER_SIZE, "validating the cut WNODE", NULL)) {
      expect(diag.status == st, "the diag does not carry the returned status");
      expect(diag.field != NULL && diag.message[0] != '\0', "the diag names no field or reason");
    }
    free(truncated);
  } else {
    expect(false, "no dynamic-name event to corrupt");
  }
  free(dyn_wnode);

  if (failures != 0) {
    printf("\nwnode-demo: %d check(s) FAILED\n", failures);
    return EXIT_FAILURE;
  }
  printf("\nwnode-demo: every WNODE built, validated and decoded as expected\n");
  return EXIT_SUCCESS;
}
