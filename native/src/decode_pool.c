/* The decode worker pool and its barrier (see decode_pool.h for why they exist).
 *
 * Waiting, everywhere in this file, is "spin for a bounded wall time, then sleep on a futex":
 * - at a barrier inside a token, the others arrive within microseconds on an idle machine, and a
 *   futex sleep + wake costs tens of microseconds (30 barriers in a 1.3 ms token at 15M would lose a
 *   third of the time), so a waiter spins for up to JGPT_DECODE_SPIN_US (default 20 µs);
 * - between tokens, a worker waits while Java samples the next token (40-250 µs for vocabularies of
 *   32k-50k), so it spins for up to JGPT_DECODE_IDLE_SPIN_US (default 300 µs) before sleeping. The
 *   spin adapts to the machine: when a worker spun but was descheduled for most of the wait (more
 *   runnable threads than cores: its spinning takes a core from the caller or a neighbour), or when
 *   the whole spin was in vain (the caller took longer, e.g. descheduled), it waits the next 64
 *   tokens with a 5 µs spin only, then tries spinning again. So on an idle machine the next token
 *   starts without a system call, and an oversubscribed one sees workers that mostly sleep at once,
 *   like passive OpenMP ones (bench/c/decode_pool_bench.c measures both against an OpenMP region).
 * On a busy machine the other thread may be descheduled for milliseconds; spinning longer would burn
 * the very core it needs, hence the bound. The thread that releases the others wakes sleepers only
 * when there are some, so on an idle machine a token costs no system call at all. */
#define _GNU_SOURCE
#include "jgpt.h"
#include "decode_pool.h"
#include <immintrin.h>
#include <limits.h>
#include <linux/futex.h>
#include <omp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_SPIN_NS 20000L
#define DEFAULT_IDLE_SPIN_NS 300000L
#define MIN_IDLE_SPIN_NS 5000L
#define CROWDED_TOKENS 64
#define MAX_THREADS 256

static long env_ns(const char *name, long dflt) {
    const char *e = getenv(name);
    return e != NULL && *e ? atol(e) * 1000L : dflt;
}

static long spin_ns = -1, idle_spin_ns = -1;   /* read once; a benign race (same value) */

static inline long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

/* CPU time of the calling thread (it was running, not descheduled) */
static inline long thread_cpu_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

static void futex_wait(atomic_int *addr, int expected) {
    syscall(SYS_futex, (int *)addr, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
}

static void futex_wake_all(atomic_int *addr) {
    syscall(SYS_futex, (int *)addr, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

/* Waits until *word != old: spins for budget ns, then sleeps. The releaser stores the new value
 * (seq_cst) and then wakes if *sleepers > 0: either it sees our increment, or we see its value.
 * Returns 1 when it went to sleep. */
static int wait_change(atomic_int *word, atomic_int *sleepers, int old, long budget) {
    long start = 0;
    int slept = 0;
    for (int spins = 0; atomic_load_explicit(word, memory_order_acquire) == old; spins++) {
        if ((spins & 63) != 0) {                           /* the clock is read every 64 pauses */
            _mm_pause();
            continue;
        }
        long t = now_ns();
        if (spins == 0) start = t;
        if (t - start < budget) continue;
        slept = 1;
        atomic_fetch_add(sleepers, 1);
        if (atomic_load(word) == old) futex_wait(word, old);
        atomic_fetch_sub(sleepers, 1);
    }
    return slept;
}

static void release(atomic_int *word, atomic_int *sleepers, int value) {
    atomic_store(word, value);                             /* seq_cst: ordered before the load below */
    if (atomic_load(sleepers) > 0) futex_wake_all(word);
}

/* ---- the barrier --------------------------------------------------------------------------------- */

static void barrier_wait(jgpt_barrier *b, int *local_sense, int n) {
    if (n == 1) return;
    int s = !*local_sense;
    *local_sense = s;
    if (atomic_fetch_add(&b->count, 1) == n - 1) {
        atomic_store_explicit(&b->count, 0, memory_order_relaxed);
        release(&b->sense, &b->sleepers, s);
        return;
    }
    if (spin_ns < 0) spin_ns = env_ns("JGPT_DECODE_SPIN_US", DEFAULT_SPIN_NS);
    wait_change(&b->sense, &b->sleepers, !s, spin_ns);
}

typedef struct {
    _Alignas(64) int sense;
} sense_slot;

struct jgpt_team {
    jgpt_barrier bar;
    int n;
    sense_slot *senses;   /* n slots, one cache line each */
};

void jgpt_team_sync(jgpt_team *team, int id) {
    barrier_wait(&team->bar, &team->senses[id].sense, team->n);
}

/* ---- the pool ------------------------------------------------------------------------------------ */

struct jgpt_pool {
    jgpt_team team;
    _Alignas(64) atomic_int generation;   /* bumped once per run (and once to stop) */
    atomic_int sleepers;
    _Alignas(64) jgpt_team_fn fn;         /* written before generation is bumped */
    void *ctx;
    int stop;
    int started;                          /* workers actually created */
    pthread_t *workers;
    sense_slot senses[];
};

typedef struct {
    jgpt_pool *pool;
    int id;
} worker_arg;

static void *worker_main(void *argp) {
    worker_arg *arg = argp;
    jgpt_pool *p = arg->pool;
    int id = arg->id;
    free(arg);
    if (idle_spin_ns < 0) idle_spin_ns = env_ns("JGPT_DECODE_IDLE_SPIN_US", DEFAULT_IDLE_SPIN_NS);
    const long budget = idle_spin_ns;
    int seen = 0, crowded = 0;   /* crowded: tokens left to wait without spinning */
    for (;;) {
        long t0 = now_ns(), c0 = thread_cpu_ns();
        int slept = wait_change(&p->generation, &p->sleepers, seen, crowded > 0 ? MIN_IDLE_SPIN_NS : budget);
        long wall = now_ns() - t0;
        if (crowded > 0) {
            crowded--;
        } else if (slept || (wall > 20000 && 2 * (thread_cpu_ns() - c0) < wall)) {
            /* the whole spin was in vain (the caller took longer: descheduled on a busy machine, or a
             * pause in a chat), or this thread was descheduled for most of it (more runnable threads
             * than cores): spinning takes a core from the caller or a neighbour, so wait the next
             * tokens without spinning, then try again */
            crowded = CROWDED_TOKENS;
        }
        seen = atomic_load_explicit(&p->generation, memory_order_acquire);
        if (p->stop) return NULL;
        p->fn(p->ctx, &p->team, id, p->team.n);
        jgpt_team_sync(&p->team, id);                    /* the caller returns after this */
    }
}

JGPT_API void *jgpt_pool_create(int threads) {
    if (threads < 1) threads = 1;
    if (threads > MAX_THREADS) threads = MAX_THREADS;
    jgpt_pool *p = aligned_alloc(64, (sizeof(jgpt_pool) + sizeof(sense_slot) * threads + 63) / 64 * 64);
    if (p == NULL) return NULL;
    memset(p, 0, sizeof(jgpt_pool) + sizeof(sense_slot) * threads);
    atomic_init(&p->team.bar.count, 0);
    atomic_init(&p->team.bar.sense, 0);
    atomic_init(&p->team.bar.sleepers, 0);
    atomic_init(&p->generation, 0);
    atomic_init(&p->sleepers, 0);
    p->team.n = threads;
    p->team.senses = p->senses;
    p->workers = calloc(threads, sizeof(pthread_t));
    if (p->workers == NULL) {
        free(p);
        return NULL;
    }
    for (int id = 1; id < threads; id++) {
        worker_arg *arg = malloc(sizeof *arg);
        if (arg == NULL) break;
        arg->pool = p;
        arg->id = id;
        if (pthread_create(&p->workers[id], NULL, worker_main, arg) != 0) {
            free(arg);
            break;
        }
        pthread_setname_np(p->workers[id], "jgpt-decode");
        p->started++;
    }
    if (p->started != threads - 1) {   /* could not start them all: stop those that run, report failure */
        jgpt_pool_destroy(p);
        return NULL;
    }
    return p;
}

JGPT_API void jgpt_pool_destroy(void *pool) {
    jgpt_pool *p = pool;
    if (p == NULL) return;
    p->stop = 1;
    release(&p->generation, &p->sleepers, atomic_load(&p->generation) + 1);
    for (int id = 1; id <= p->started; id++) pthread_join(p->workers[id], NULL);
    free(p->workers);
    free(p);
}

JGPT_API int jgpt_pool_threads(const void *pool) {
    return pool == NULL ? 0 : ((const jgpt_pool *)pool)->team.n;
}

/* JGPT_DECODE_POOL=0 runs every token on an OpenMP region instead (to measure what the pool buys) */
static int pool_disabled(void) {
    static int cached = -1;
    if (cached < 0) {
        const char *e = getenv("JGPT_DECODE_POOL");
        cached = e != NULL && e[0] == '0';
    }
    return cached;
}

void jgpt_team_run(jgpt_pool *p, int nt, jgpt_team_fn fn, void *ctx) {
    if (p != NULL && pool_disabled()) p = NULL;
    if (p != NULL) {
        if (p->team.n == 1) {
            fn(ctx, &p->team, 0, 1);
            return;
        }
        p->fn = fn;
        p->ctx = ctx;
        release(&p->generation, &p->sleepers, atomic_load_explicit(&p->generation, memory_order_relaxed) + 1);
        fn(ctx, &p->team, 0, p->team.n);
        jgpt_team_sync(&p->team, 0);                     /* every worker is done with ctx */
        return;
    }
    /* no pool: an OpenMP region with a barrier of its own */
    if (nt < 1) nt = 1;
    sense_slot senses[nt];
    memset(senses, 0, sizeof senses);
    jgpt_team team = { .n = nt, .senses = senses };
    atomic_init(&team.bar.count, 0);
    atomic_init(&team.bar.sense, 0);
    atomic_init(&team.bar.sleepers, 0);
    #pragma omp parallel num_threads(nt)
    {
        int id = omp_get_thread_num(), n = omp_get_num_threads();
        if (id == 0 && n != nt) team.n = n;   /* fewer threads than asked (nested, limits) */
        #pragma omp barrier
        fn(ctx, &team, id, team.n);
    }
}
