/*
 * guiddef.h (WDK face): GUID, DEFINE_GUID and IsEqualGUID.
 *
 * GUID itself is the core's (<wmiev/wnode.h>): one definition for the wire
 * structs and for driver code.
 *
 * DEFINE_GUID(name, l, w1, w2, b1, ..., b8) declares `extern const GUID name`
 * unless INITGUID is defined when the macro is expanded, in which case it
 * defines the storage. As on Windows (DECLSPEC_SELECTANY), the definition is
 * a weak symbol, so two translation units that both include <initguid.h>
 * before the same GUID header link together. <initguid.h> defines INITGUID;
 * including it after a GUID header has no effect on that header, exactly as
 * with the WDK.
 */
#ifndef WMIEV_WDK_GUIDDEF_H
#define WMIEV_WDK_GUIDDEF_H

#include <string.h>

#include <wmiev/wnode.h>

#ifndef EXTERN_C
#ifdef __cplusplus
#define EXTERN_C extern "C"
#else
#define EXTERN_C extern
#endif
#endif

#ifndef DECLSPEC_SELECTANY
#define DECLSPEC_SELECTANY __attribute__((weak))
#endif

typedef GUID *LPGUID;
typedef GUID *PGUID;
typedef GUID IID;
typedef GUID CLSID;
typedef const GUID *REFGUID_PTR_;

/* The definition form: C gives a file-scope const object external linkage;
 * C++ needs extern "C" (and an extern declaration first, or const would make
 * it internal). */
#ifdef __cplusplus
#define WMIEV_WDK_GUID_STORAGE_(name)                                                              \
  extern "C" const GUID name;                                                                      \
  extern "C" const GUID DECLSPEC_SELECTANY name
#else
#define WMIEV_WDK_GUID_STORAGE_(name) const GUID DECLSPEC_SELECTANY name
#endif

/* DEFINE_GUID dispatches on INITGUID at expansion time, so <initguid.h> only
 * has to define INITGUID. */
#define WMIEV_WDK_GUID_DECL_0_(name, l, w1, w2, b1, b2, b3, b4, b5, b6, b7, b8)                    \
  EXTERN_C const GUID name
#define WMIEV_WDK_GUID_DECL_1_(name, l, w1, w2, b1, b2, b3, b4, b5, b6, b7, b8)                    \
  WMIEV_WDK_GUID_STORAGE_(name) = {(uint32_t)(l),                                                  \
                                   (uint16_t)(w1),                                                 \
                                   (uint16_t)(w2),                                                 \
                                   {(uint8_t)(b1), (uint8_t)(b2), (uint8_t)(b3), (uint8_t)(b4),    \
                                    (uint8_t)(b5), (uint8_t)(b6), (uint8_t)(b7), (uint8_t)(b8)}}

#ifndef DEFINE_GUID
#define DEFINE_GUID(name, l, w1, w2, b1, b2, b3, b4, b5, b6, b7, b8)                               \
  WMIEV_WDK_GUID_DECL_(WMIEV_WDK_INITGUID_(), name, l, w1, w2, b1, b2, b3, b4, b5, b6, b7, b8)
#endif

/* INITGUID is defined empty or as 1 (both are common); either means "define". */
#define WMIEV_WDK_INITGUID_() WMIEV_WDK_INITGUID_IS_(INITGUID)
#define WMIEV_WDK_INITGUID_IS_(x) WMIEV_WDK_INITGUID_CAT_(x)
#define WMIEV_WDK_INITGUID_CAT_(x) WMIEV_WDK_INITGUID_IS2_(WMIEV_WDK_INITGUID_PROBE_##x)
#define WMIEV_WDK_INITGUID_PROBE_INITGUID 0, 0
#define WMIEV_WDK_INITGUID_PROBE_ 1, 1
#define WMIEV_WDK_INITGUID_PROBE_1 1, 1
#define WMIEV_WDK_INITGUID_IS2_(...) WMIEV_WDK_INITGUID_IS3_(__VA_ARGS__)
#define WMIEV_WDK_INITGUID_IS3_(a, b) b
#define WMIEV_WDK_GUID_DECL_(flag, ...) WMIEV_WDK_GUID_DECL2_(flag, __VA_ARGS__)
#define WMIEV_WDK_GUID_DECL2_(flag, ...) WMIEV_WDK_GUID_DECL_##flag##_(__VA_ARGS__)

/** IsEqualGUID / InlineIsEqualGUID: byte equality of two GUIDs. */
#ifndef IsEqualGUID
#define IsEqualGUID(a, b) (memcmp((a), (b), sizeof(GUID)) == 0)
#endif
#ifndef InlineIsEqualGUID
#define InlineIsEqualGUID(a, b) IsEqualGUID(a, b)
#endif

#endif /* WMIEV_WDK_GUIDDEF_H */
