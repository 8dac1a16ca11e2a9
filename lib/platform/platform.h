/*
 * The few OS services the library needs, behind one internal interface so
 * that lib/core stays free of OS headers (docs/architecture.md). POSIX
 * implementation in posix.c (locks, clocks) and posix_threads.c (fences,
 * the thread-exit hook); the tick clock has its own header and file. A Win32
 * user-mode implementation would sit beside them.
 */
#ifndef WMIEV_PLATFORM_H
#define WMIEV_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <wmiev/common.h>

/* Opaque storage big enough for pthread_mutex_t / pthread_cond_t on every
 * supported host (checked with static assertions in posix.c). */
typedef struct wmiev__mutex {
  _Alignas(8) unsigned char storage[64];
} wmiev__mutex;

typedef struct wmiev__cond {
  _Alignas(8) unsigned char storage[64];
} wmiev__cond;

/* Initialisers return false when the OS refuses the resource (or a test
 * injected that failure, below); the object is then not initialised and must
 * not be destroyed. */
bool wmiev__mutex_init(wmiev__mutex *m);
/* A mutex the owning thread may lock again (the bus's control lock: a
 * provider's function-control callback may subscribe or register). */
bool wmiev__mutex_init_recursive(wmiev__mutex *m);
void wmiev__mutex_destroy(wmiev__mutex *m);
void wmiev__mutex_lock(wmiev__mutex *m);
void wmiev__mutex_unlock(wmiev__mutex *m);
/* Takes the mutex if no thread holds it; false (and not taken) otherwise. */
bool wmiev__mutex_trylock(wmiev__mutex *m);

bool wmiev__cond_init(wmiev__cond *c);
void wmiev__cond_destroy(wmiev__cond *c);
void wmiev__cond_wait(wmiev__cond *c, wmiev__mutex *m);
/* Waits at most timeout_ms; returns false on timeout. */
bool wmiev__cond_timedwait(wmiev__cond *c, wmiev__mutex *m, uint32_t timeout_ms);
void wmiev__cond_broadcast(wmiev__cond *c);
void wmiev__cond_signal(wmiev__cond *c);

/*
 * Fault injection for the tests (docs/reliability.md): every acquisition of an
 * OS resource — the initialisers above, and the libuv attachment's loop
 * handle (wmiev__platform_acquire) — counts, and the Nth from the call on
 * fails (0 turns it off). Exported only so the test programs can reach it.
 */
WMIEV_EXTERN void wmiev__platform_fail_nth(uint64_t n);
WMIEV_EXTERN bool wmiev__platform_failure_hit(void);
/* Counts one acquisition of a resource the platform layer does not create
 * itself; false means "fail it". */
WMIEV_EXTERN bool wmiev__platform_acquire(void);

/* Monotonic time in nanoseconds (arbitrary origin). */
uint64_t wmiev__monotonic_ns(void);
/* Wall-clock time as Windows counts it: 100-ns units since 1601-01-01 UTC
 * (what KeQuerySystemTime returns). */
int64_t wmiev__system_time_100ns(void);
/* The same from the OS's tick-granular clock where it has one (cheaper). */
int64_t wmiev__system_time_100ns_coarse(void);

/* An identifier of the calling thread, unique among live threads. */
uintptr_t wmiev__thread_self(void);
/* Lets another runnable thread have the CPU (waits that are short and rare). */
void wmiev__thread_yield(void);
/* One step of a busy wait: tells the CPU this is a spin loop (x86 `pause`). */
static inline void wmiev__cpu_relax(void) {
#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
  __builtin_ia32_pause();
#endif
}

/*
 * Asymmetric fences (posix_threads.c; docs/threading.md, "The fast path").
 * wmiev__heavy_fence_init() returns true when the OS can make every thread
 * of the process execute a full memory barrier on request (Linux
 * membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)); wmiev__heavy_fence() does
 * that (and nothing when it is not available). While it is available, the
 * frequent side of a store/load pairing needs only a compiler barrier, the
 * rare side calls wmiev__heavy_fence() between its store and its load.
 * Without it (another OS, a seccomp filter, valgrind, ThreadSanitizer
 * builds, which cannot see such fences) both sides use sequentially
 * consistent accesses.
 */
bool wmiev__heavy_fence_init(void);
void wmiev__heavy_fence(void);

/* Arranges for fn(arg) to be called when the calling thread exits (one
 * registration per thread; a second call replaces the first). False if the
 * OS refused. */
bool wmiev__at_thread_exit(void (*fn)(void *arg), void *arg);

#endif /* WMIEV_PLATFORM_H */
