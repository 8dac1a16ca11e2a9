/* NTSTATUS values and their symbolic names (spec §7). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include <wmiev/wmiev.h>

/* Each value written out as Windows spells it, not taken from our header. */
static const struct {
  uint32_t value;
  const char *name;
} expected[] = {
    {0x00000000u, "STATUS_SUCCESS"},
    {0x00000103u, "STATUS_PENDING"},
    {0x80000002u, "STATUS_DATATYPE_MISALIGNMENT"},
    {0x80000005u, "STATUS_BUFFER_OVERFLOW"},
    {0xC0000001u, "STATUS_UNSUCCESSFUL"},
    {0xC0000002u, "STATUS_NOT_IMPLEMENTED"},
    {0xC000000Du, "STATUS_INVALID_PARAMETER"},
    {0xC0000010u, "STATUS_INVALID_DEVICE_REQUEST"},
    {0xC0000017u, "STATUS_NO_MEMORY"},
    {0xC0000023u, "STATUS_BUFFER_TOO_SMALL"},
    {0xC0000030u, "STATUS_INVALID_PARAMETER_MIX"},
    {0xC0000095u, "STATUS_INTEGER_OVERFLOW"},
    {0xC000009Au, "STATUS_INSUFFICIENT_RESOURCES"},
    {0xC00000B5u, "STATUS_IO_TIMEOUT"},
    {0xC00000BBu, "STATUS_NOT_SUPPORTED"},
    {0xC00000C0u, "STATUS_DEVICE_DOES_NOT_EXIST"},
    {0xC0000106u, "STATUS_NAME_TOO_LONG"},
    {0xC0000183u, "STATUS_DRIVER_INTERNAL_ERROR"},
    {0xC0000194u, "STATUS_POSSIBLE_DEADLOCK"},
    {0xC0000206u, "STATUS_INVALID_BUFFER_SIZE"},
    {0xC0000295u, "STATUS_WMI_GUID_NOT_FOUND"},
    {0xC0000296u, "STATUS_WMI_INSTANCE_NOT_FOUND"},
    {0xC0000297u, "STATUS_WMI_ITEMID_NOT_FOUND"},
    {0xC0000298u, "STATUS_WMI_TRY_AGAIN"},
    {0xC00002C6u, "STATUS_WMI_READ_ONLY"},
    {0xC00002C7u, "STATUS_WMI_SET_FAILURE"},
    {0xC00002DDu, "STATUS_WMI_NOT_SUPPORTED"},
    {0xC0000301u, "STATUS_WMI_GUID_DISCONNECTED"},
    {0xC0000302u, "STATUS_WMI_ALREADY_DISABLED"},
    {0xC0000303u, "STATUS_WMI_ALREADY_ENABLED"},
    {0x00000001u, "STATUS_WAIT_1"},
    {0x00000080u, "STATUS_ABANDONED"},
    {0x000000C0u, "STATUS_USER_APC"},
    {0x00000101u, "STATUS_ALERTED"},
    {0x00000102u, "STATUS_TIMEOUT"},
    {0x00000104u, "STATUS_REPARSE"},
    {0x00000105u, "STATUS_MORE_ENTRIES"},
    {0x80000011u, "STATUS_DEVICE_BUSY"},
    {0x8000001Au, "STATUS_NO_MORE_ENTRIES"},
    {0xC0000003u, "STATUS_INVALID_INFO_CLASS"},
    {0xC0000004u, "STATUS_INFO_LENGTH_MISMATCH"},
    {0xC0000005u, "STATUS_ACCESS_VIOLATION"},
    {0xC0000008u, "STATUS_INVALID_HANDLE"},
    {0xC000000Eu, "STATUS_NO_SUCH_DEVICE"},
    {0xC0000011u, "STATUS_END_OF_FILE"},
    {0xC0000016u, "STATUS_MORE_PROCESSING_REQUIRED"},
    {0xC0000022u, "STATUS_ACCESS_DENIED"},
    {0xC0000024u, "STATUS_OBJECT_TYPE_MISMATCH"},
    {0xC0000033u, "STATUS_OBJECT_NAME_INVALID"},
    {0xC0000034u, "STATUS_OBJECT_NAME_NOT_FOUND"},
    {0xC0000035u, "STATUS_OBJECT_NAME_COLLISION"},
    {0xC0000056u, "STATUS_DELETE_PENDING"},
    {0xC0000061u, "STATUS_PRIVILEGE_NOT_HELD"},
    {0xC000009Cu, "STATUS_DEVICE_DATA_ERROR"},
    {0xC000009Du, "STATUS_DEVICE_NOT_CONNECTED"},
    {0xC000009Eu, "STATUS_DEVICE_POWER_FAILURE"},
    {0xC00000A3u, "STATUS_DEVICE_NOT_READY"},
    {0xC00000E5u, "STATUS_INTERNAL_ERROR"},
    {0xC00000E8u, "STATUS_INVALID_USER_BUFFER"},
    {0xC00000EFu, "STATUS_INVALID_PARAMETER_1"},
    {0xC00000F0u, "STATUS_INVALID_PARAMETER_2"},
    {0xC00000F1u, "STATUS_INVALID_PARAMETER_3"},
    {0xC00000F2u, "STATUS_INVALID_PARAMETER_4"},
    {0xC0000120u, "STATUS_CANCELLED"},
    {0xC0000184u, "STATUS_INVALID_DEVICE_STATE"},
    {0xC0000185u, "STATUS_IO_DEVICE_ERROR"},
    {0xC0000225u, "STATUS_NOT_FOUND"},
    {0xC0000240u, "STATUS_REQUEST_ABORTED"},
    {0xC00002B6u, "STATUS_DEVICE_REMOVED"},
    {0xC00002D3u, "STATUS_POWER_STATE_INVALID"},
};

static void names_match_windows_values(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
    wmiev_status s = (wmiev_status)(int32_t)expected[i].value;
    assert_string_equal(wmiev_status_name(s), expected[i].name);
  }
}

static void macros_hold_windows_values(void **state) {
  (void)state;
  assert_int_equal((uint32_t)WMIEV_STATUS_WMI_GUID_NOT_FOUND, 0xC0000295u);
  assert_int_equal((uint32_t)WMIEV_STATUS_BUFFER_OVERFLOW, 0x80000005u);
  assert_int_equal(WMIEV_STATUS_WMI_GUID_NOT_FOUND, -1073741163); /* windows-sys binding value */
  assert_int_equal(sizeof(wmiev_status), 4);
}

static void unknown_value_has_placeholder_name(void **state) {
  (void)state;
  assert_string_equal(wmiev_status_name((wmiev_status)0x12345678), "STATUS_<unknown>");
  assert_string_equal(wmiev_status_name(WMIEV_NTSTATUS(0xC0000296u) + 2), "STATUS_WMI_TRY_AGAIN");
}

static void success_macro_follows_severity(void **state) {
  (void)state;
  assert_true(WMIEV_SUCCESS(WMIEV_STATUS_SUCCESS));
  assert_true(WMIEV_SUCCESS(WMIEV_STATUS_PENDING));
  /* STATUS_BUFFER_OVERFLOW is a warning (0x8...): NT_SUCCESS is false for it. */
  assert_false(WMIEV_SUCCESS(WMIEV_STATUS_BUFFER_OVERFLOW));
  assert_false(WMIEV_SUCCESS(WMIEV_STATUS_INVALID_PARAMETER));
}

static void diag_set_fills_every_field(void **state) {
  (void)state;
  wmiev_diag diag;
  memset(&diag, 0, sizeof diag);
  wmiev_status s = wmiev_diag_set(&diag, WMIEV_STATUS_INVALID_BUFFER_SIZE, "DataBlockOffset", 56,
                                  "offset %u past %u", 80u, 72u);
  assert_int_equal(s, WMIEV_STATUS_INVALID_BUFFER_SIZE);
  assert_int_equal(diag.status, WMIEV_STATUS_INVALID_BUFFER_SIZE);
  assert_string_equal(diag.field, "DataBlockOffset");
  assert_int_equal(diag.offset, 56);
  assert_string_equal(diag.message, "offset 80 past 72");
  /* NULL diag is allowed and still returns the status. */
  assert_int_equal(wmiev_diag_set(NULL, WMIEV_STATUS_NOT_SUPPORTED, "x", 0, "y"),
                   WMIEV_STATUS_NOT_SUPPORTED);
}

static void diag_message_is_truncated_not_overflowed(void **state) {
  (void)state;
  wmiev_diag diag;
  char long_text[400];
  memset(long_text, 'x', sizeof long_text - 1);
  long_text[sizeof long_text - 1] = '\0';
  wmiev_diag_set(&diag, WMIEV_STATUS_UNSUCCESSFUL, "f", 1, "%s", long_text);
  assert_int_equal(strlen(diag.message), WMIEV_DIAG_MESSAGE_SIZE - 1);
}

static void version_string_matches_macros(void **state) {
  (void)state;
  assert_string_equal(wmiev_version_string(), "0.1.0");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(names_match_windows_values),
      cmocka_unit_test(macros_hold_windows_values),
      cmocka_unit_test(unknown_value_has_placeholder_name),
      cmocka_unit_test(success_macro_follows_severity),
      cmocka_unit_test(diag_set_fills_every_field),
      cmocka_unit_test(diag_message_is_truncated_not_overflowed),
      cmocka_unit_test(version_string_matches_macros),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
