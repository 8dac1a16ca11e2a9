/*
 * Wire layout at run time: values written through the Windows member names
 * must land on the bytes Windows puts them at. The static assertions in the
 * headers pin sizes and offsets; this proves the member *types* too (width,
 * endianness, union overlap), with expected bytes written out by hand from
 * spec §1.1, §2 and §8.2.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <wmiev/wmiev.h>

static void assert_bytes(const void *actual, const uint8_t *expected, size_t n) {
  const uint8_t *a = actual;
  for (size_t i = 0; i < n; i++) {
    if (a[i] != expected[i]) {
      fail_msg("byte %zu: got 0x%02x, expected 0x%02x", i, a[i], expected[i]);
    }
  }
}

/* GUID 78ebc104-4cf9-11d2-ba4a-00a0c9062910 (MSStorageDriver_FailurePredictEvent). */
static const GUID predict_failure = {
    0x78ebc104, 0x4cf9, 0x11d2, {0xba, 0x4a, 0x00, 0xa0, 0xc9, 0x06, 0x29, 0x10}};

static void header_members_land_on_windows_offsets(void **state) {
  (void)state;
  WNODE_HEADER h;
  memset(&h, 0, sizeof h);
  h.BufferSize = 0x11223344;
  h.ProviderId = 0x55667788;
  h.Version = 0x01020304;
  h.Linkage = 0x0a0b0c0d;
  h.TimeStamp.QuadPart = 0x0102030405060708LL;
  h.Guid = predict_failure;
  h.ClientContext = 2;
  h.Flags = WNODE_FLAG_SINGLE_INSTANCE | WNODE_FLAG_EVENT_ITEM | WNODE_FLAG_STATIC_INSTANCE_NAMES;
  static const uint8_t expected[48] = {
      0x44, 0x33, 0x22, 0x11,                         /*  0 BufferSize */
      0x88, 0x77, 0x66, 0x55,                         /*  4 ProviderId */
      0x04, 0x03, 0x02, 0x01,                         /*  8 Version */
      0x0d, 0x0c, 0x0b, 0x0a,                         /* 12 Linkage */
      0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, /* 16 TimeStamp */
      0x04, 0xc1, 0xeb, 0x78, 0xf9, 0x4c, 0xd2, 0x11, /* 24 Guid Data1..3 */
      0xba, 0x4a, 0x00, 0xa0, 0xc9, 0x06, 0x29, 0x10, /* 32 Guid Data4 */
      0x02, 0x00, 0x00, 0x00,                         /* 40 ClientContext */
      0x8a, 0x00, 0x00, 0x00,                         /* 44 Flags = 0x8a */
  };
  assert_bytes(&h, expected, sizeof expected);
  /* HistoricalContext overlays Version/Linkage; CountLost overlays TimeStamp's low part. */
  assert_true(h.HistoricalContext == 0x0a0b0c0d01020304ULL);
  assert_int_equal(h.CountLost, 0x05060708u);
  assert_int_equal(h.TimeStamp.LowPart, 0x05060708u);
  assert_int_equal(h.TimeStamp.HighPart, 0x01020304);
  assert_int_equal(h.TimeStamp.u.HighPart, 0x01020304);
}

static void single_instance_members(void **state) {
  (void)state;
  _Alignas(8) uint8_t buf[72];
  memset(buf, 0, sizeof buf);
  WNODE_SINGLE_INSTANCE *w = (WNODE_SINGLE_INSTANCE *)buf;
  w->OffsetInstanceName = 0x40;
  w->InstanceIndex = 7;
  w->DataBlockOffset = 0x40;
  w->SizeDataBlock = 8;
  w->VariableData[0] = 0xee;
  static const uint8_t expected[20] = {
      0x40, 0, 0, 0, /* 48 OffsetInstanceName */
      7,    0, 0, 0, /* 52 InstanceIndex */
      0x40, 0, 0, 0, /* 56 DataBlockOffset */
      8,    0, 0, 0, /* 60 SizeDataBlock */
      0xee,          /* 64 VariableData */
  };
  assert_bytes(buf + 48, expected, 17);
}

static void item_and_method_members(void **state) {
  (void)state;
  _Alignas(8) uint8_t buf[80];
  memset(buf, 0, sizeof buf);
  WNODE_SINGLE_ITEM *it = (WNODE_SINGLE_ITEM *)buf;
  it->OffsetInstanceName = 1;
  it->InstanceIndex = 2;
  it->ItemId = 3;
  it->DataBlockOffset = 4;
  it->SizeDataItem = 5;
  it->VariableData[0] = 6;
  static const uint8_t expected[21] = {1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0,
                                       0, 4, 0, 0, 0, 5, 0, 0, 0, 6};
  assert_bytes(buf + 48, expected, sizeof expected);
  memset(buf, 0, sizeof buf);
  WNODE_METHOD_ITEM *m = (WNODE_METHOD_ITEM *)buf;
  m->OffsetInstanceName = 1;
  m->InstanceIndex = 2;
  m->MethodId = 3;
  m->DataBlockOffset = 4;
  m->SizeDataBlock = 5;
  m->VariableData[0] = 6;
  assert_bytes(buf + 48, expected, sizeof expected);
}

static void all_data_union_overlays_fixed_size_and_array(void **state) {
  (void)state;
  _Alignas(8) uint8_t buf[80];
  memset(buf, 0, sizeof buf);
  WNODE_ALL_DATA *w = (WNODE_ALL_DATA *)buf;
  w->DataBlockOffset = 0x48;
  w->InstanceCount = 2;
  w->OffsetInstanceNameOffsets = 0x99;
  w->FixedInstanceSize = 0x0c;
  static const uint8_t expected[16] = {0x48, 0, 0, 0, 2, 0, 0, 0, 0x99, 0, 0, 0, 0x0c, 0, 0, 0};
  assert_bytes(buf + 48, expected, sizeof expected);
  /* The first array element's offset member is FixedInstanceSize's storage. */
  OFFSETINSTANCEDATAANDLENGTH pair;
  memcpy(&pair, buf + offsetof(WNODE_ALL_DATA, OffsetInstanceDataAndLength), sizeof pair);
  assert_int_equal(pair.OffsetInstanceData, 0x0c);
  /* Microsoft's declaration: first instance data may start right at sizeof. */
  assert_int_equal(sizeof(WNODE_ALL_DATA), 64);
}

static void event_reference_and_too_small(void **state) {
  (void)state;
  _Alignas(8) uint8_t buf[80];
  memset(buf, 0, sizeof buf);
  WNODE_EVENT_REFERENCE *r = (WNODE_EVENT_REFERENCE *)buf;
  r->TargetGuid = predict_failure;
  r->TargetDataBlockSize = 0x1000;
  r->TargetInstanceIndex = 3;
  static const uint8_t expected[24] = {0x04, 0xc1, 0xeb, 0x78, 0xf9, 0x4c, 0xd2, 0x11,
                                       0xba, 0x4a, 0x00, 0xa0, 0xc9, 0x06, 0x29, 0x10,
                                       0x00, 0x10, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00};
  assert_bytes(buf + 48, expected, sizeof expected);
  memset(buf, 0, sizeof buf);
  WNODE_TOO_SMALL *t = (WNODE_TOO_SMALL *)buf;
  t->SizeNeeded = 0x200;
  static const uint8_t ts[4] = {0x00, 0x02, 0x00, 0x00};
  assert_bytes(buf + 48, ts, sizeof ts);
}

static void reginfo_matches_word_size(void **state) {
  (void)state;
  _Alignas(8) uint8_t buf[128];
  memset(buf, 0, sizeof buf);
  WMIREGINFOW *ri = (WMIREGINFOW *)buf;
  ri->BufferSize = 0x100;
  ri->NextWmiRegInfo = 0;
  ri->RegistryPath = 0x60;
  ri->MofResourceName = 0x70;
  ri->GuidCount = 1;
  ri->WmiRegGuid[0].Guid = predict_failure;
  ri->WmiRegGuid[0].Flags = WMIREG_FLAG_INSTANCE_PDO | WMIREG_FLAG_EVENT_ONLY_GUID;
  ri->WmiRegGuid[0].InstanceCount = 1;
  ri->WmiRegGuid[0].Pdo = (uintptr_t)0x1234;
#if UINTPTR_MAX == 0xffffffffu
  const size_t guid_at = 20; /* i386: WMIREGGUIDW array starts at 20, entry is 28 bytes */
  const size_t entry_size = 28;
#else
  const size_t guid_at = 24; /* x86_64: 24 and 32 */
  const size_t entry_size = 32;
#endif
  assert_int_equal(offsetof(WMIREGINFOW, WmiRegGuid), guid_at);
  assert_int_equal(sizeof(WMIREGGUIDW), entry_size);
  static const uint8_t head[20] = {0x00, 0x01, 0, 0, 0, 0, 0, 0, 0x60, 0, 0, 0,
                                   0x70, 0,    0, 0, 1, 0, 0, 0};
  assert_bytes(buf, head, sizeof head);
  static const uint8_t entry[28] = {0x04, 0xc1, 0xeb, 0x78, 0xf9, 0x4c, 0xd2, 0x11, 0xba, 0x4a,
                                    0x00, 0xa0, 0xc9, 0x06, 0x29, 0x10, 0x60, 0x00, 0x00, 0x00,
                                    0x01, 0x00, 0x00, 0x00, 0x34, 0x12, 0x00, 0x00};
  assert_bytes(buf + guid_at, entry, sizeof entry);
}

static void flag_values_are_windows_values(void **state) {
  (void)state;
  /* A checksum over every flag would hide which one is wrong; list them. */
  assert_int_equal(WNODE_FLAG_ALL_DATA, 0x1);
  assert_int_equal(WNODE_FLAG_SINGLE_INSTANCE, 0x2);
  assert_int_equal(WNODE_FLAG_SINGLE_ITEM, 0x4);
  assert_int_equal(WNODE_FLAG_EVENT_ITEM, 0x8);
  assert_int_equal(WNODE_FLAG_FIXED_INSTANCE_SIZE, 0x10);
  assert_int_equal(WNODE_FLAG_TOO_SMALL, 0x20);
  assert_int_equal(WNODE_FLAG_INSTANCES_SAME, 0x40);
  assert_int_equal(WNODE_FLAG_STATIC_INSTANCE_NAMES, 0x80);
  assert_int_equal(WNODE_FLAG_INTERNAL, 0x100);
  assert_int_equal(WNODE_FLAG_USE_TIMESTAMP, 0x200);
  assert_int_equal(WNODE_FLAG_PERSIST_EVENT, 0x400);
  assert_int_equal(WNODE_FLAG_EVENT_REFERENCE, 0x2000);
  assert_int_equal(WNODE_FLAG_ANSI_INSTANCENAMES, 0x4000);
  assert_int_equal(WNODE_FLAG_METHOD_ITEM, 0x8000);
  assert_int_equal(WNODE_FLAG_PDO_INSTANCE_NAMES, 0x10000);
  assert_int_equal(WNODE_FLAG_TRACED_GUID, 0x20000);
  assert_int_equal(WNODE_FLAG_LOG_WNODE, 0x40000);
  assert_int_equal(WNODE_FLAG_USE_GUID_PTR, 0x80000);
  assert_int_equal(WNODE_FLAG_USE_MOF_PTR, 0x100000);
  assert_int_equal(WNODE_FLAG_NO_HEADER, 0x200000);
  assert_int_equal(WNODE_FLAG_SEND_DATA_BLOCK, 0x400000);
  assert_int_equal(WNODE_FLAG_VERSIONED_PROPERTIES, 0x800000);
  assert_int_equal(WNODE_FLAG_SEVERITY_MASK, 0xff000000u);
  assert_int_equal(WMIEV_WNODE_SEVERITY(0xab002000u), 0xab);
  assert_int_equal(WMIREG_FLAG_EXPENSIVE, 0x1);
  assert_int_equal(WMIREG_FLAG_INSTANCE_LIST, 0x4);
  assert_int_equal(WMIREG_FLAG_INSTANCE_BASENAME, 0x8);
  assert_int_equal(WMIREG_FLAG_INSTANCE_PDO, 0x20);
  assert_int_equal(WMIREG_FLAG_EVENT_ONLY_GUID, 0x40);
  assert_int_equal(WMIREG_FLAG_TRACE_CONTROL_GUID, 0x1000);
  assert_int_equal(WMIREG_FLAG_REMOVE_GUID, 0x10000);
  assert_int_equal(WMIREG_FLAG_RESERVED1, 0x20000);
  assert_int_equal(WMIREG_FLAG_RESERVED2, 0x40000);
  assert_int_equal(WMIREG_FLAG_TRACED_GUID, 0x80000);
  assert_int_equal(WMIREG_ACTION_REGISTER, 1);
  assert_int_equal(WMIREG_ACTION_DEREGISTER, 2);
  assert_int_equal(WMIREG_ACTION_REREGISTER, 3);
  assert_int_equal(WMIREG_ACTION_UPDATE_GUIDS, 4);
  assert_int_equal(WMIREG_ACTION_BLOCK_IRPS, 5);
  assert_int_equal(WMIREGISTER, 0);
  assert_int_equal(WMIUPDATE, 1);
  assert_int_equal(IRP_MJ_SYSTEM_CONTROL, 0x17);
  const int minors[] = {IRP_MN_QUERY_ALL_DATA,        IRP_MN_QUERY_SINGLE_INSTANCE,
                        IRP_MN_CHANGE_SINGLE_INSTANCE, IRP_MN_CHANGE_SINGLE_ITEM,
                        IRP_MN_ENABLE_EVENTS,          IRP_MN_DISABLE_EVENTS,
                        IRP_MN_ENABLE_COLLECTION,      IRP_MN_DISABLE_COLLECTION,
                        IRP_MN_REGINFO,                IRP_MN_EXECUTE_METHOD};
  for (int i = 0; i < 10; i++) {
    assert_int_equal(minors[i], i);
  }
  assert_int_equal(IRP_MN_REGINFO_EX, 0x0b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(header_members_land_on_windows_offsets),
      cmocka_unit_test(single_instance_members),
      cmocka_unit_test(item_and_method_members),
      cmocka_unit_test(all_data_union_overlays_fixed_size_and_array),
      cmocka_unit_test(event_reference_and_too_small),
      cmocka_unit_test(reginfo_matches_word_size),
      cmocka_unit_test(flag_values_are_windows_values),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
