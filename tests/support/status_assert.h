/*
 * assert_status(): cmocka's assert_int_equal for wmiev_status values, naming
 * both statuses (and their values) when they differ; assert_guid_equal().
 * Include after <cmocka.h> and <wmiev/wmiev.h>.
 */
#ifndef WMIEV_TEST_STATUS_ASSERT_H
#define WMIEV_TEST_STATUS_ASSERT_H

#define assert_status(actual, expected)                                                            \
  do {                                                                                             \
    wmiev_status a_ = (actual), e_ = (expected);                                                   \
    if (a_ != e_) {                                                                                \
      fail_msg("status %s (0x%08X), expected %s (0x%08X)", wmiev_status_name(a_), (unsigned)a_,    \
               wmiev_status_name(e_), (unsigned)e_);                                               \
    }                                                                                              \
  } while (0)

#define assert_guid_equal(a, b) assert_memory_equal((a), (b), sizeof(GUID))

#endif /* WMIEV_TEST_STATUS_ASSERT_H */
