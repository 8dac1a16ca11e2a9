/*
 * Rtl string and memory helpers. Counted strings are handled unit by unit
 * here: the WDK face never calls the C library's wide-character functions
 * (wchar_t is 16-bit in this code, 32-bit in glibc's).
 */
#include "host_private.h"

SIZE_T NTAPI RtlCompareMemory(const VOID *Source1, const VOID *Source2, SIZE_T Length) {
  const unsigned char *a = Source1;
  const unsigned char *b = Source2;
  SIZE_T i = 0;
  while (i < Length && a[i] == b[i]) {
    i++;
  }
  return i;
}

size_t wmiev__wide_len(PCWSTR s, size_t max) {
  size_t n = 0;
  while (n < max && s[n] != 0) {
    n++;
  }
  return n;
}

NTSTATUS wmiev__wide_name_to_utf8(PCWSTR s, size_t max_units, char *out, size_t out_size,
                                  size_t *units) {
  size_t n = wmiev__wide_len(s, max_units + 1u);
  size_t len = 0;
  if (n == 0 || n > max_units ||
      !NT_SUCCESS(wmiev_name_utf16_to_utf8(s, n * sizeof(WCHAR), 0, out, out_size, &len, NULL))) {
    return STATUS_INVALID_PARAMETER;
  }
  if (units != NULL) {
    *units = n;
  }
  return STATUS_SUCCESS;
}

VOID NTAPI RtlInitUnicodeString(PUNICODE_STRING DestinationString, PCWSTR SourceString) {
  if (SourceString == NULL) {
    DestinationString->Length = 0;
    DestinationString->MaximumLength = 0;
    DestinationString->Buffer = NULL;
    return;
  }
  size_t bytes = wmiev__wide_len(SourceString, SIZE_MAX) * sizeof(WCHAR);
  if (bytes > UNICODE_STRING_MAX_BYTES - sizeof(WCHAR)) {
    bytes = UNICODE_STRING_MAX_BYTES - sizeof(WCHAR); /* as Windows truncates */
  }
  DestinationString->Length = (USHORT)bytes;
  DestinationString->MaximumLength = (USHORT)(bytes + sizeof(WCHAR));
  DestinationString->Buffer = (PWCH)SourceString;
}

VOID NTAPI RtlInitString(PSTRING DestinationString, PCSZ SourceString) {
  if (SourceString == NULL) {
    DestinationString->Length = 0;
    DestinationString->MaximumLength = 0;
    DestinationString->Buffer = NULL;
    return;
  }
  size_t bytes = strlen(SourceString);
  if (bytes > 0xfffeu) {
    bytes = 0xfffeu;
  }
  DestinationString->Length = (USHORT)bytes;
  DestinationString->MaximumLength = (USHORT)(bytes + 1);
  DestinationString->Buffer = (PCHAR)SourceString;
}

VOID NTAPI RtlInitAnsiString(PANSI_STRING DestinationString, PCSZ SourceString) {
  RtlInitString(DestinationString, SourceString);
}

VOID NTAPI RtlCopyUnicodeString(PUNICODE_STRING DestinationString, PCUNICODE_STRING SourceString) {
  if (SourceString == NULL || SourceString->Buffer == NULL) {
    DestinationString->Length = 0;
    return;
  }
  USHORT bytes = SourceString->Length;
  if (bytes > DestinationString->MaximumLength) {
    bytes = (USHORT)(DestinationString->MaximumLength & ~1u);
  }
  memmove(DestinationString->Buffer, SourceString->Buffer, bytes);
  DestinationString->Length = bytes;
  if ((size_t)bytes + sizeof(WCHAR) <= DestinationString->MaximumLength) {
    DestinationString->Buffer[bytes / sizeof(WCHAR)] = UNICODE_NULL;
  }
}

WCHAR NTAPI RtlUpcaseUnicodeChar(WCHAR SourceCharacter) {
  unsigned c = SourceCharacter;
  if (c >= 'a' && c <= 'z') {
    return (WCHAR)(c - 32u);
  }
  /* Latin-1: à..þ except ÷ map down by 32; ÿ to Ÿ (U+0178). */
  if (c >= 0xe0 && c <= 0xfe && c != 0xf7) {
    return (WCHAR)(c - 32u);
  }
  if (c == 0xff) {
    return (WCHAR)0x178;
  }
  return SourceCharacter;
}

LONG NTAPI RtlCompareUnicodeString(PCUNICODE_STRING String1, PCUNICODE_STRING String2,
                                   BOOLEAN CaseInSensitive) {
  size_t n1 = String1->Length / sizeof(WCHAR);
  size_t n2 = String2->Length / sizeof(WCHAR);
  size_t n = n1 < n2 ? n1 : n2;
  for (size_t i = 0; i < n; i++) {
    WCHAR a = String1->Buffer[i];
    WCHAR b = String2->Buffer[i];
    if (CaseInSensitive) {
      a = RtlUpcaseUnicodeChar(a);
      b = RtlUpcaseUnicodeChar(b);
    }
    if (a != b) {
      return (LONG)a - (LONG)b;
    }
  }
  return (LONG)n1 - (LONG)n2;
}

BOOLEAN NTAPI RtlEqualUnicodeString(PCUNICODE_STRING String1, PCUNICODE_STRING String2,
                                    BOOLEAN CaseInSensitive) {
  if (String1->Length != String2->Length) {
    return FALSE;
  }
  return RtlCompareUnicodeString(String1, String2, CaseInSensitive) == 0 ? TRUE : FALSE;
}

static NTSTATUS append_units(PUNICODE_STRING Destination, const WCHAR *units, size_t bytes) {
  if ((size_t)Destination->Length + bytes > Destination->MaximumLength) {
    return STATUS_BUFFER_TOO_SMALL;
  }
  memmove((unsigned char *)Destination->Buffer + Destination->Length, units, bytes);
  Destination->Length = (USHORT)(Destination->Length + bytes);
  if ((size_t)Destination->Length + sizeof(WCHAR) <= Destination->MaximumLength) {
    Destination->Buffer[Destination->Length / sizeof(WCHAR)] = UNICODE_NULL;
  }
  return STATUS_SUCCESS;
}

NTSTATUS NTAPI RtlAppendUnicodeToString(PUNICODE_STRING Destination, PCWSTR Source) {
  if (Source == NULL) {
    return STATUS_SUCCESS;
  }
  return append_units(Destination, Source, wmiev__wide_len(Source, SIZE_MAX) * sizeof(WCHAR));
}

NTSTATUS NTAPI RtlAppendUnicodeStringToString(PUNICODE_STRING Destination,
                                              PCUNICODE_STRING Source) {
  if (Source == NULL || Source->Length == 0) {
    return STATUS_SUCCESS;
  }
  return append_units(Destination, Source->Buffer, Source->Length);
}

NTSTATUS NTAPI RtlIntegerToUnicodeString(ULONG Value, ULONG Base, PUNICODE_STRING String) {
  if (Base == 0) {
    Base = 10;
  }
  if (Base != 2 && Base != 8 && Base != 10 && Base != 16) {
    return STATUS_INVALID_PARAMETER;
  }
  WCHAR digits[33];
  size_t n = 0;
  do {
    ULONG d = Value % Base;
    digits[n++] = (WCHAR)(d < 10 ? '0' + d : 'A' + d - 10);
    Value /= Base;
  } while (Value != 0);
  if (n * sizeof(WCHAR) > String->MaximumLength) {
    return STATUS_BUFFER_OVERFLOW;
  }
  for (size_t i = 0; i < n; i++) {
    String->Buffer[i] = digits[n - 1 - i];
  }
  String->Length = (USHORT)(n * sizeof(WCHAR));
  if ((n + 1) * sizeof(WCHAR) <= String->MaximumLength) {
    String->Buffer[n] = UNICODE_NULL;
  }
  return STATUS_SUCCESS;
}

VOID NTAPI RtlFreeUnicodeString(PUNICODE_STRING UnicodeString) {
  if (UnicodeString != NULL && UnicodeString->Buffer != NULL) {
    ExFreePool(UnicodeString->Buffer);
    UnicodeString->Buffer = NULL;
    UnicodeString->Length = 0;
    UnicodeString->MaximumLength = 0;
  }
}
