/*
 * snprintf/vsnprintf with C99 behaviour for the Windows kernel build, on top
 * of ntoskrnl's _vsnprintf. Why and what exactly: kernel_crt.h.
 *
 * Nonpaged code with a small stack frame (one FORMAT_MAX buffer), usable at
 * IRQL <= DISPATCH_LEVEL for formats without wide-character conversions.
 */
#include "kernel_crt.h"

#include <stdbool.h>

/* Longest format string (after translation) the shim handles, NUL included. */
#define FORMAT_MAX 256

/* Written instead of the output when a format is too long to translate:
 * passing it on untranslated could misparse "%zu" and read a wrong argument. */
static const char too_long[] = "(wmiev: format string too long for the kernel printf shim)";

typedef struct {
  char *out;
  size_t used;
  bool fits;
} emitter;

static void emit(emitter *e, const char *s, size_t n) {
  if (!e->fits || n > FORMAT_MAX - e->used) {
    e->fits = false;
    return;
  }
  for (size_t i = 0; i < n; i++) {
    e->out[e->used++] = s[i];
  }
}

static bool is_flag(char c) {
  return c == '-' || c == '+' || c == ' ' || c == '#' || c == '0';
}

static bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

/*
 * Rewrites the C99 length modifiers the kernel does not know: z and t become
 * I (pointer-sized), j and ll become I64. Everything else is copied. Returns
 * false if the result does not fit in FORMAT_MAX bytes.
 */
static bool translate(const char *fmt, char out[FORMAT_MAX]) {
  emitter e = {out, 0, true};
  const char *p = fmt;
  while (*p != '\0' && e.fits) {
    if (*p != '%') {
      emit(&e, p++, 1);
      continue;
    }
    emit(&e, p++, 1);
    if (*p == '%') {
      emit(&e, p++, 1);
      continue;
    }
    while (is_flag(*p)) {
      emit(&e, p++, 1);
    }
    if (*p == '*') {
      emit(&e, p++, 1);
    }
    while (is_digit(*p)) {
      emit(&e, p++, 1);
    }
    if (*p == '.') {
      emit(&e, p++, 1);
      if (*p == '*') {
        emit(&e, p++, 1);
      }
      while (is_digit(*p)) {
        emit(&e, p++, 1);
      }
    }
    if (*p == 'z' || *p == 't') {
      emit(&e, "I", 1);
      p++;
    } else if (*p == 'j') {
      emit(&e, "I64", 3);
      p++;
    } else if (p[0] == 'l' && p[1] == 'l') {
      emit(&e, "I64", 3);
      p += 2;
    }
    /* The conversion character (or anything else) is copied by the loop. */
  }
  emit(&e, "", 1); /* the terminating NUL */
  return e.fits;
}

int wmiev__kernel_vsnprintf(char *buf, size_t size, const char *fmt, va_list args) {
  if (buf == NULL || size == 0 || fmt == NULL) {
    return -1;
  }
  if (size > (size_t)0x7fffffff) {
    size = (size_t)0x7fffffff;
  }
  char translated[FORMAT_MAX];
  int n;
  if (translate(fmt, translated)) {
    /* Room for size - 1 characters; the NUL is written here, because
     * _vsnprintf omits it when the output fills the count exactly. */
    n = _vsnprintf(buf, size - 1, translated, args);
  } else {
    n = _snprintf(buf, size - 1, "%s", too_long);
  }
  buf[size - 1] = '\0';
  if (n < 0 || (size_t)n > size - 1) {
    return (int)size; /* truncated: C99 callers test for a result >= size */
  }
  return n;
}

int wmiev__kernel_snprintf(char *buf, size_t size, const char *fmt, ...) {
  va_list args;
  va_start(args, fmt);
  int n = wmiev__kernel_vsnprintf(buf, size, fmt, args);
  va_end(args);
  return n;
}
