/*
 * DbgPrint and friends. The format is the kernel's, which is printf's with
 * Microsoft's sizes and a few extra conversions, so it cannot go straight
 * to vfprintf:
 *   %wZ  PUNICODE_STRING     %Z  PANSI_STRING
 *   %ws, %ls, %S  PCWSTR     %wc, %lc, %C  WCHAR
 *   %hs  char string         l   means 32 bits (LONG/ULONG are 32-bit)
 *   I64 / ll  64 bits        I   pointer-sized    z, j, t  as in C
 * Each conversion is taken apart, its argument fetched with the right type,
 * and printed alone with the C library; wide text is converted to UTF-8 with
 * the core's name codec (never with the C library's wide functions).
 */
#include <stdio.h>

#include <wmiev/name.h>

#include "host_private.h"

typedef struct out_buf {
  char *p;
  size_t size;
  size_t used; /* may exceed size: the length it would have had */
} out_buf;

static void put_text(out_buf *o, const char *s, size_t n) {
  if (o->used < o->size) {
    size_t room = o->size - o->used - 1;
    size_t k = n < room ? n : room;
    memcpy(o->p + o->used, s, k);
    o->p[o->used + k] = '\0';
  }
  o->used += n;
}

static void put_piece(out_buf *o, const char *spec, ...) {
  char tmp[512];
  va_list args;
  va_start(args, spec);
  int n = vsnprintf(tmp, sizeof tmp, spec, args);
  va_end(args);
  if (n > 0) {
    put_text(o, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
  }
}

/* UTF-16 (units) to UTF-8 in @p out; "(invalid)" when it does not decode. */
static const char *utf8_of(const WCHAR *units, size_t count, char *out, size_t out_size) {
  size_t len = 0;
  if (units == NULL) {
    return "(null)";
  }
  if (count == 0) {
    return "";
  }
  wmiev_status st =
      wmiev_name_utf16_to_utf8(units, count * sizeof(WCHAR), 0, out, out_size, &len, NULL);
  if (st == WMIEV_STATUS_BUFFER_TOO_SMALL) {
    /* Too long for one piece: print a prefix. */
    size_t shorter = count;
    while (shorter > 0 && st == WMIEV_STATUS_BUFFER_TOO_SMALL) {
      shorter /= 2;
      st = wmiev_name_utf16_to_utf8(units, shorter * sizeof(WCHAR), 0, out, out_size, &len, NULL);
    }
  }
  return WMIEV_SUCCESS(st) ? out : "(invalid)";
}

size_t wmiev__dbg_format(char *out, size_t out_size, const char *format, va_list args) {
  out_buf o = {out, out_size, 0};
  if (out_size != 0) {
    out[0] = '\0';
  }
  const char *f = format;
  while (*f != '\0') {
    if (*f != '%') {
      const char *start = f;
      while (*f != '\0' && *f != '%') {
        f++;
      }
      put_text(&o, start, (size_t)(f - start));
      continue;
    }
    f++;
    if (*f == '%') {
      put_text(&o, "%", 1);
      f++;
      continue;
    }
    /* flags, width, precision */
    char flags[8];
    size_t nflags = 0;
    while (*f != '\0' && strchr("-+ #0", *f) != NULL && nflags < sizeof flags - 1) {
      flags[nflags++] = *f++;
    }
    flags[nflags] = '\0';
    int width = -1;
    if (*f == '*') {
      width = va_arg(args, int);
      f++;
    } else if (*f >= '0' && *f <= '9') {
      width = 0;
      while (*f >= '0' && *f <= '9') {
        width = width * 10 + (*f++ - '0');
      }
    }
    int precision = -1;
    if (*f == '.') {
      f++;
      precision = 0;
      if (*f == '*') {
        precision = va_arg(args, int);
        f++;
      } else {
        while (*f >= '0' && *f <= '9') {
          precision = precision * 10 + (*f++ - '0');
        }
      }
    }
    /* size: 0 = int, 1 = short, 2 = char, 4 = 32-bit, 8 = 64-bit, 'p' = pointer-sized */
    int size = 0;
    bool wide = false;
    bool narrow = false;
    bool long_double = false;
    if (f[0] == 'I' && f[1] == '6' && f[2] == '4') {
      size = 8;
      f += 3;
    } else if (f[0] == 'I' && f[1] == '3' && f[2] == '2') {
      size = 4;
      f += 3;
    } else if (f[0] == 'I') {
      size = 'p';
      f++;
    } else if (f[0] == 'l' && f[1] == 'l') {
      size = 8;
      f += 2;
    } else if (f[0] == 'h' && f[1] == 'h') {
      size = 2;
      f += 2;
    } else if (f[0] == 'l' || f[0] == 'w') {
      size = 4;
      wide = true;
      f++;
    } else if (f[0] == 'h') {
      size = 1;
      narrow = true;
      f++;
    } else if (f[0] == 'z' || f[0] == 't' || f[0] == 'j') {
      size = f[0] == 'j' ? 8 : 'p';
      f++;
    } else if (f[0] == 'L' || f[0] == 'q') {
      size = 8;
      long_double = f[0] == 'L';
      f++;
    }
    char conv = *f;
    if (conv == '\0') {
      break;
    }
    f++;
    /* The spec for one C call: flags, width, precision as given, then a C length. */
    char spec[80]; /* "%" + flags + width.precision + length + conversion, with room to spare */
    char wp[24];
    if (width >= 0 && precision >= 0) {
      snprintf(wp, sizeof wp, "%d.%d", width, precision);
    } else if (width >= 0) {
      snprintf(wp, sizeof wp, "%d", width);
    } else if (precision >= 0) {
      snprintf(wp, sizeof wp, ".%d", precision);
    } else {
      wp[0] = '\0';
    }
    char text[1024];
    switch (conv) {
    case 'd':
    case 'i':
    case 'u':
    case 'o':
    case 'x':
    case 'X': {
      bool is_signed = conv == 'd' || conv == 'i';
      if (size == 8 || (size == 'p' && sizeof(void *) == 8)) {
        snprintf(spec, sizeof spec, "%%%s%sll%c", flags, wp, conv);
        if (is_signed) {
          put_piece(&o, spec, (long long)va_arg(args, long long));
        } else {
          put_piece(&o, spec, (unsigned long long)va_arg(args, unsigned long long));
        }
      } else {
        snprintf(spec, sizeof spec, "%%%s%s%s%c", flags, wp,
                 size == 1   ? "h"
                 : size == 2 ? "hh"
                             : "",
                 conv);
        if (is_signed) {
          put_piece(&o, spec, va_arg(args, int));
        } else {
          put_piece(&o, spec, va_arg(args, unsigned int));
        }
      }
      break;
    }
    case 'p':
      snprintf(spec, sizeof spec, "%%%s%sp", flags, wp);
      put_piece(&o, spec, va_arg(args, void *));
      break;
    case 'e':
    case 'E':
    case 'f':
    case 'F':
    case 'g':
    case 'G':
    case 'a':
    case 'A':
      if (long_double) {
        snprintf(spec, sizeof spec, "%%%s%sL%c", flags, wp, conv);
        put_piece(&o, spec, va_arg(args, long double));
      } else {
        snprintf(spec, sizeof spec, "%%%s%s%c", flags, wp, conv);
        put_piece(&o, spec, va_arg(args, double));
      }
      break;
    case 'c':
    case 'C': {
      int c = va_arg(args, int);
      snprintf(spec, sizeof spec, "%%%s%ss", flags, width >= 0 ? wp : "");
      if ((wide || conv == 'C') && !narrow) {
        WCHAR unit = (WCHAR)c;
        put_piece(&o, spec, utf8_of(&unit, 1, text, sizeof text));
      } else {
        char one[2] = {(char)c, '\0'};
        put_piece(&o, spec, one);
      }
      break;
    }
    case 's':
    case 'S': {
      snprintf(spec, sizeof spec, "%%%s%ss", flags, wp);
      if ((wide || conv == 'S') && !narrow) {
        const WCHAR *w = va_arg(args, const WCHAR *);
        size_t n = w != NULL ? wmiev__wide_len(w, SIZE_MAX) : 0;
        put_piece(&o, spec, utf8_of(w, n, text, sizeof text));
      } else {
        const char *s = va_arg(args, const char *);
        put_piece(&o, spec, s != NULL ? s : "(null)");
      }
      break;
    }
    case 'Z': {
      snprintf(spec, sizeof spec, "%%%s%ss", flags, wp);
      if (wide) {
        PCUNICODE_STRING u = va_arg(args, PCUNICODE_STRING);
        put_piece(&o, spec,
                  u == NULL ? "(null)"
                            : utf8_of(u->Buffer, u->Length / sizeof(WCHAR), text, sizeof text));
      } else {
        PCANSI_STRING a = va_arg(args, PCANSI_STRING);
        if (a == NULL || a->Buffer == NULL) {
          put_piece(&o, spec, "(null)");
        } else {
          size_t n = a->Length < sizeof text - 1 ? a->Length : sizeof text - 1;
          memcpy(text, a->Buffer, n);
          text[n] = '\0';
          put_piece(&o, spec, text);
        }
      }
      break;
    }
    case 'n':
      (void)va_arg(args, void *); /* never written, as a kernel printer would refuse it */
      break;
    default:
      /* Unknown conversion: print it as written. */
      put_text(&o, "%", 1);
      put_text(&o, &conv, 1);
      break;
    }
  }
  return o.used;
}

ULONG vDbgPrintEx(ULONG ComponentId, ULONG Level, PCCH Format, va_list arglist) {
  (void)ComponentId;
  (void)Level;
  if (Format == NULL || wmiev__host_quiet()) {
    return 0;
  }
  char text[2048];
  va_list copy;
  va_copy(copy, arglist);
  (void)wmiev__dbg_format(text, sizeof text, Format, copy);
  va_end(copy);
  fputs(text, stderr);
  fflush(stderr);
  return 0;
}

ULONG DbgPrint(PCSTR Format, ...) {
  va_list args;
  va_start(args, Format);
  ULONG r = vDbgPrintEx(DPFLTR_DEFAULT_ID, DPFLTR_INFO_LEVEL, Format, args);
  va_end(args);
  return r;
}

ULONG DbgPrintEx(ULONG ComponentId, ULONG Level, PCSTR Format, ...) {
  va_list args;
  va_start(args, Format);
  ULONG r = vDbgPrintEx(ComponentId, Level, Format, args);
  va_end(args);
  return r;
}
