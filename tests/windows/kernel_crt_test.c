/*
 * Host test of lib/backend/windows/kernel_crt.c, the kernel build's
 * snprintf/vsnprintf. Compiled with the host compiler and run by the CI
 * stage "windows" (no Windows needed): ntoskrnl's _vsnprintf/_snprintf are
 * emulated here with their Microsoft semantics (no NUL and -1 on
 * truncation, I/I64 length modifiers), so the test checks what the shim adds:
 * the C99 -> Microsoft format translation, NUL termination and C99-style
 * return values.
 *
 *   cc -std=c11 -I lib -o kernel_crt_test tests/windows/kernel_crt_test.c && ./kernel_crt_test
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static char last_format[512]; /* the format the shim handed to "ntoskrnl" */

/* Microsoft's _vsnprintf, on top of the host's vsnprintf: the Microsoft
 * length modifiers are turned back into C99 ones for the host. */
static int ms_vsnprintf(char *buf, size_t count, const char *fmt, va_list args) {
  (void)snprintf(last_format, sizeof last_format, "%s", fmt);
  char c99[512];
  size_t o = 0;
  for (const char *p = fmt; *p != '\0' && o + 3 < sizeof c99; p++) {
    if (p[0] == 'I' && p[1] == '6' && p[2] == '4') {
      c99[o++] = 'l';
      c99[o++] = 'l';
      p += 2;
    } else if (p[0] == 'I') {
      c99[o++] = 'z';
    } else {
      c99[o++] = *p;
    }
  }
  c99[o] = '\0';
  char whole[1024];
  int len = vsnprintf(whole, sizeof whole, c99, args);
  if (len < 0) {
    return -1;
  }
  if ((size_t)len < count) {
    memcpy(buf, whole, (size_t)len + 1);
    return len;
  }
  memcpy(buf, whole, count); /* truncated or exactly full: no NUL */
  return (size_t)len == count ? len : -1;
}

static int ms_snprintf(char *buf, size_t count, const char *fmt, ...) {
  va_list args;
  va_start(args, fmt);
  int n = ms_vsnprintf(buf, count, fmt, args);
  va_end(args);
  return n;
}

#define _vsnprintf ms_vsnprintf
#define _snprintf ms_snprintf
#include "backend/windows/kernel_crt.c"
#undef printf /* kernel_crt.h maps it to gnu_printf, for format attributes */

static int failures;

static void check(int ok, const char *what, int n, const char *out) {
  if (!ok) {
    failures++;
    printf("FAIL: %s (returned %d, wrote \"%s\", format given to _vsnprintf \"%s\")\n", what, n,
           out, last_format);
  }
}

int main(void) {
  char b[32];
  int n;

  n = wmiev__kernel_snprintf(b, sizeof b, "%zu|%s|%lld", (size_t)42, "ab", -5LL);
  check(n == 8 && strcmp(b, "42|ab|-5") == 0, "%zu and %lld", n, b);
  check(strcmp(last_format, "%Iu|%s|%I64d") == 0, "z -> I, ll -> I64", n, b);

  n = wmiev__kernel_snprintf(b, sizeof b, "%-5.3jd%%%td%08zx", (intmax_t)7, (ptrdiff_t)-2,
                             (size_t)255);
  check(strcmp(last_format, "%-5.3I64d%%%Id%08Ix") == 0, "flags, width, precision kept", n, b);
  check(n == 16 && strcmp(b, "007  %-2000000ff") == 0, "j, t, z values", n, b);

  n = wmiev__kernel_snprintf(b, sizeof b, "%*.*s|%c|%u|%lu", 4, 2, "xyz", 'q', 7u, 9ul);
  check(n == 10 && strcmp(b, "  xy|q|7|9") == 0, "* width and precision", n, b);

  n = wmiev__kernel_snprintf(b, 5, "%s", "abcdefgh");
  check(n == 5 && strcmp(b, "abcd") == 0, "truncated: NUL-terminated, result >= size", n, b);
  n = wmiev__kernel_snprintf(b, 5, "%s", "abcd");
  check(n == 4 && strcmp(b, "abcd") == 0, "exactly size - 1 characters", n, b);
  n = wmiev__kernel_snprintf(b, 5, "%s", "abc");
  check(n == 3 && strcmp(b, "abc") == 0, "fits", n, b);
  n = wmiev__kernel_snprintf(b, 1, "%s", "x");
  check(n == 1 && b[0] == '\0', "size 1: empty string, truncated", n, b);
  n = wmiev__kernel_snprintf(b, 0, "x");
  check(n == -1, "size 0: -1", n, "");

  /* A format that does not fit the translation buffer is not passed on. */
  char long_format[400];
  memset(long_format, 'a', sizeof long_format - 1);
  long_format[sizeof long_format - 1] = '\0';
  char out[100];
  n = wmiev__kernel_snprintf(out, sizeof out, long_format, 0);
  check(strncmp(out, "(wmiev: format string too long", 30) == 0 && n > 0 && n < (int)sizeof out,
        "over-long format replaced by a notice", n, out);

  if (failures != 0) {
    printf("kernel_crt_test: %d failure(s)\n", failures);
    return 1;
  }
  printf("kernel_crt_test: ok\n");
  return 0;
}
