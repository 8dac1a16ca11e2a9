/*
 * Helpers shared by the fuzz targets (tests/fuzz/fuzz_*.c) and the seed
 * generator (make_seeds.c).
 *
 * Two things live here because both sides must agree on them byte for byte:
 *  - the input encodings of the structured targets (fuzz_provider_reply's
 *    script of operations and IRP answers, fuzz_fire's provider layout), so
 *    that the seeds make_seeds.c writes are read the way it meant them;
 *  - the byte reader the targets decode their input with.
 *
 * A property that does not hold is reported with FUZZ_CHECK / fuzz_fail,
 * which print what broke and abort(): libFuzzer then saves the input as a
 * crash, exactly as it does for an ASan or UBSan report.
 */
#ifndef WMIEV_FUZZ_COMMON_H
#define WMIEV_FUZZ_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wmiev/wmiev.h>

/* ---- Reporting ---------------------------------------------------------------------------- */

#if defined(__GNUC__) || defined(__clang__)
#define FUZZ_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define FUZZ_UNUSED __attribute__((unused))
#else
#define FUZZ_PRINTF(a, b)
#define FUZZ_UNUSED
#endif

static _Noreturn FUZZ_UNUSED FUZZ_PRINTF(3, 4) void fuzz_fail_at(const char *file, int line,
                                                                 const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "%s:%d: property violated: ", file, line);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  abort();
}

/* A property with a message (printf format). */
#define fuzz_fail(...) fuzz_fail_at(__FILE__, __LINE__, __VA_ARGS__)
/* A property that reads well as its own message. */
#define FUZZ_CHECK(cond)                                                                           \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fuzz_fail_at(__FILE__, __LINE__, "%s", #cond);                                               \
    }                                                                                              \
  } while (0)

/* A status a library call may return: exactly STATUS_SUCCESS, or a failure.
 * An informational status leaking out (e.g. a driver's STATUS_PENDING taken
 * as its final answer) would read as success to NT_SUCCESS callers. */
#define FUZZ_CHECK_STATUS_CLASS(st)                                                                \
  do {                                                                                             \
    wmiev_status st_ = (st);                                                                       \
    if (st_ != WMIEV_STATUS_SUCCESS && WMIEV_SUCCESS(st_)) {                                       \
      fuzz_fail("informational status %s (0x%08x) returned as a result", wmiev_status_name(st_),   \
                (unsigned)st_);                                                                    \
    }                                                                                              \
  } while (0)

/* The teardown property of the harnesses on the debug allocator: no
 * allocation live and no allocator error on `dbg` (a debug_alloc *). A
 * macro, so that only its users need debug_alloc.h. */
#define FUZZ_CHECK_NO_LEAKS(dbg)                                                                   \
  do {                                                                                             \
    debug_alloc *dbg_ = (dbg);                                                                     \
    if (debug_alloc_live_count(dbg_) != 0 || debug_alloc_errors(dbg_) != 0) {                      \
      debug_alloc_report_leaks(dbg_);                                                              \
      fuzz_fail("%llu allocations live after teardown, %llu allocator errors",                     \
                (unsigned long long)debug_alloc_live_count(dbg_),                                  \
                (unsigned long long)debug_alloc_errors(dbg_));                                     \
    }                                                                                              \
  } while (0)

/* ---- Reading the input ---------------------------------------------------------------------- */

/* The rest of a fuzz input. Past the end every read yields zeros, so any
 * prefix of an input is itself a complete, deterministic input. */
typedef struct fuzz_in {
  const uint8_t *p;
  size_t n;
} fuzz_in;

static FUZZ_UNUSED uint8_t fuzz_u8(fuzz_in *in) {
  if (in->n == 0) {
    return 0;
  }
  in->n--;
  return *in->p++;
}

static FUZZ_UNUSED uint16_t fuzz_u16(fuzz_in *in) {
  uint16_t lo = fuzz_u8(in);
  return (uint16_t)(lo | (uint16_t)(fuzz_u8(in) << 8));
}

static FUZZ_UNUSED uint32_t fuzz_u32(fuzz_in *in) {
  uint32_t lo = fuzz_u16(in);
  return lo | ((uint32_t)fuzz_u16(in) << 16);
}

/* Up to @p want bytes; returns how many are at *out (fewer at the end of the input). */
static FUZZ_UNUSED size_t fuzz_bytes(fuzz_in *in, size_t want, const uint8_t **out) {
  size_t n = want < in->n ? want : in->n;
  *out = in->p;
  in->p += n;
  in->n -= n;
  return n;
}

/* ---- fuzz_fire: the provider every input is fired through ---------------------------------- */

/*
 * A portable provider with four blocks, created first in a fresh bus (so its
 * provider id is 1), plus a PDO device (id 2) that names the PDO block's
 * instances. A subscriber listens to the first three GUIDs; FIRE_G_QUIET has
 * no consumer, so events for it end as not_enabled.
 */
#define FIRE_PROVIDER_ID 1u
#define FIRE_PDO_ID 2u
#define FIRE_BASE_NAME "Fuzz"
#define FIRE_PDO_INSTANCE_ID "ROOT\\FUZZ\\0000"
/* Virtual time the bus stamps events with (2023-06-01, 100-ns units since 1601). */
#define FIRE_CLOCK INT64_C(0x01d99445fa5b8000)

enum { FIRE_G_STATIC, FIRE_G_PDO, FIRE_G_DYNAMIC, FIRE_G_QUIET, FIRE_G_COUNT };

static const GUID fire_guids[FIRE_G_COUNT] = {
    /* {F1F10000-0001-4000-8000-00000000F1F1}: BASENAME "Fuzz", 3 instances, event-only */
    {0xf1f10000, 0x0001, 0x4000, {0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf1, 0xf1}},
    /* {F1F10000-0002-4000-8000-00000000F1F1}: INSTANCE_PDO, 2 instances */
    {0xf1f10000, 0x0002, 0x4000, {0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf1, 0xf1}},
    /* {F1F10000-0003-4000-8000-00000000F1F1}: dynamic names */
    {0xf1f10000, 0x0003, 0x4000, {0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf1, 0xf1}},
    /* {F1F10000-0004-4000-8000-00000000F1F1}: BASENAME, 1 instance, no subscriber */
    {0xf1f10000, 0x0004, 0x4000, {0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf1, 0xf1}},
};
static const uint32_t fire_instance_counts[FIRE_G_COUNT] = {3, 2, 0, 1};

/* The data the provider answers for instance @p index of block @p g (what an
 * event reference resolves to): a size and bytes that depend on both. */
static FUZZ_UNUSED uint32_t fire_instance_size(uint32_t g, uint32_t index) {
  return (g * 7u + index * 5u) % 13u + 1u;
}
static FUZZ_UNUSED uint8_t fire_instance_byte(uint32_t g, uint32_t index, uint32_t i) {
  return (uint8_t)(0x40u + g * 16u + index * 3u + i);
}

/* ---- fuzz_provider_reply: the script ------------------------------------------------------ */

/*
 * Input layout (every field read with the reader above, little endian):
 *
 *   config   u8   bits 0-2: the registry's first REGINFO buffer size
 *                 (PR_REGINFO_SIZES[]), so the growth path is reachable
 *   op*      until the input ends (at most PR_MAX_OPS):
 *     code   u8   bits 0-3: PR_OP_* (mod PR_OP_COUNT); bit 4: device B
 *                 instead of device A; then the operation's own fields
 *
 * Whenever a device's dispatch routine receives an IRP it reads one answer:
 *
 *   action   u8   bits 0-2: PR_ACT_*; bit 3: write bytes; bit 4: after
 *                 writing, set WnodeHeader.BufferSize to the end of the
 *                 written bytes (a cheap way to a well-formed WNODE)
 *   status   u8   index into PR_STATUSES[]; 0xff: a raw u32 follows
 *   info     u8   PR_INFO_* (how IoStatus.Information is chosen); raw
 *                 modes are followed by their value
 *   [write]  u16 offset, u16 length, then the bytes (clipped to the buffer)
 */
#define PR_MAX_OPS 24

static const uint32_t PR_REGINFO_SIZES[8] = {0, 8, 24, 40, 64, 100, 256, 1024};
/* config bit 3: complete held IRPs only after the devices are destroyed. */
#define PR_CONFIG_LATE_AFTER_DESTROY 0x08u

enum {
  PR_OP_REGISTER = 0,
  PR_OP_UPDATE,
  PR_OP_DEREGISTER,
  PR_OP_REREGISTER,
  PR_OP_BLOCK_IRPS,
  PR_OP_QUERY_ALL, /* u8 guid pick, u16 buffer size */
  PR_OP_QUERY_ONE, /* u8 guid pick, instance ref, u16 buffer size */
  PR_OP_METHOD, /* u8 guid pick, instance ref, u32 method id, u8 n + n input bytes, u16 out size */
  PR_OP_SET,    /* u8 guid pick, instance ref, u8 item (0: whole instance), u8 n + n bytes */
  PR_OP_COMPLETE_HELD, /* complete the IRPs held by PR_ACT_HOLD now (late completion) */
  PR_OP_COUNT
};
/* Instance ref: u8 mode (0: provider + index, 1: name, 2: name + provider),
 * u8 provider pick (0: A, 1: B, 2: provider id 0, else an id nobody has),
 * u8 index, then for a name u8 n and n UTF-16 units (u16 each). */
#define PR_DEVICE_B 0x10u
/* A guid pick of this or more names PR_GUID_OTHER (unless registered, nobody's). */
#define PR_GUID_UNKNOWN 0xf0u
static const GUID PR_GUID_OTHER = {
    0x0e0e0e0e, 0x0e0e, 0x0e0e, {0x0e, 0x0e, 0x0e, 0x0e, 0x0e, 0x0e, 0x0e, 0x0e}};
/* Pdo values the fuzzed REGINFO may use (WMIREG_FLAG_INSTANCE_PDO): 1 names a
 * PDO with a short instance id, 2 one with an id too long to register, any
 * other value no PDO at all. */
#define PR_PDO_SHORT 1u
#define PR_PDO_LONG 2u
#define PR_PDO_SHORT_ID "ROOT\\FUZZ\\0000"

enum {
  PR_ACT_COMPLETE = 0,      /* complete with status and Information */
  PR_ACT_PEND_COMPLETE,     /* mark pending, complete, return STATUS_PENDING */
  PR_ACT_FORWARD,           /* set IoStatus, forward (A: to its lower device; B: bottom) */
  PR_ACT_HOLD,              /* mark pending, keep it: the sender times out; completed later */
  PR_ACT_NO_COMPLETE,       /* return without completing (a driver bug the core must survive) */
  PR_ACT_COMPLETE_TWICE,    /* complete, then complete again */
  PR_ACT_DEREGISTER_INSIDE, /* DEREGISTER itself from inside the dispatch, then complete */
  PR_ACT_COUNT_ = 8
};
#define PR_ACT_WRITE 0x08u
#define PR_ACT_PATCH_SIZE 0x10u

static const wmiev_status PR_STATUSES[] = {
    WMIEV_STATUS_SUCCESS,
    WMIEV_STATUS_BUFFER_TOO_SMALL,
    WMIEV_STATUS_NOT_SUPPORTED,
    WMIEV_STATUS_INVALID_DEVICE_REQUEST,
    WMIEV_STATUS_WMI_INSTANCE_NOT_FOUND,
    WMIEV_STATUS_WMI_GUID_NOT_FOUND,
    WMIEV_STATUS_INVALID_PARAMETER,
    WMIEV_STATUS_INSUFFICIENT_RESOURCES,
    WMIEV_STATUS_WMI_GUID_DISCONNECTED,
    WMIEV_STATUS_PENDING,        /* informational: a driver "completing" with PENDING */
    WMIEV_STATUS_TIMEOUT,        /* informational */
    WMIEV_STATUS_BUFFER_OVERFLOW /* a warning: not NT_SUCCESS */
};
#define PR_STATUS_COUNT (sizeof PR_STATUSES / sizeof PR_STATUSES[0])
#define PR_STATUS_RAW 0xffu

enum {
  PR_INFO_WRITTEN = 0, /* end of the bytes written (0 if none) */
  PR_INFO_ZERO,
  PR_INFO_FOUR,        /* classpnp's "too small, size in the first ULONG" */
  PR_INFO_BUFFER,      /* Parameters.WMI.BufferSize */
  PR_INFO_BUFFER_PLUS, /* one more than the buffer holds */
  PR_INFO_WNODE_SIZE,  /* WnodeHeader.BufferSize as it is in the buffer now */
  PR_INFO_RAW16,       /* u16 follows */
  PR_INFO_RAW32,       /* u32 follows */
  PR_INFO_COUNT
};

/* Requests for more than this many bytes are rewritten by the harness to a
 * smaller size (see fuzz_provider_reply.c): the library honours up to 16 MiB
 * (REGINFO) and 64 MiB (replies), and allocating that much per input would
 * slow the fuzzer to a crawl without exercising any other code. */
#define PR_GROWTH_CAP (256u * 1024u)

#endif /* WMIEV_FUZZ_COMMON_H */
