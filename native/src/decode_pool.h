/* Internal to the decode_*.c files: a persistent team of worker threads for decoding, and the
 * barrier its members meet at.
 *
 * Why not an OpenMP region per token: libjgpt runs with OMP_WAIT_POLICY=PASSIVE (idle OpenMP workers
 * must not spin into OpenBLAS calls during training), so every `omp parallel` of a decoded token
 * first wakes a sleeping libgomp worker through a futex, and ends with one more sleep: tens of
 * microseconds of a token that takes a few hundred. A pool belongs to one inference object (created
 * at load, destroyed at close), so two models decoding on two Java threads at once have separate
 * workers. Between tokens its workers wait like the barrier does: spin for a bounded time (so on an
 * idle machine the next token starts without a system call), then sleep on a futex (so on a busy
 * machine they give the core back). */
#ifndef JGPT_DECODE_POOL_H
#define JGPT_DECODE_POOL_H

#include <stdatomic.h>

/* A sense-reversing barrier for n threads: spins up to JGPT_DECODE_SPIN_US (default 20 µs), then
 * sleeps on a futex; the last thread to arrive wakes the sleepers. */
typedef struct {
    _Alignas(64) atomic_int count;
    _Alignas(64) atomic_int sense;
    atomic_int sleepers;
} jgpt_barrier;

/* What a team member is handed: its barrier and its own sense flags (one per member, persistent). */
typedef struct jgpt_team jgpt_team;

/* Blocks until all n members of the team reached the same call. */
void jgpt_team_sync(jgpt_team *team, int id);

/* The body of a parallel step: member id of n (id 0 is the calling thread). */
typedef void (*jgpt_team_fn)(void *ctx, jgpt_team *team, int id, int n);

typedef struct jgpt_pool jgpt_pool;

/* Runs fn on n = the pool's threads (the caller is member 0) and returns when all have finished.
 * pool NULL: the same on an OpenMP region of nt threads (what decoding did before the pool). Not
 * reentrant: one run at a time per pool (an inference object is used by one thread at a time). */
void jgpt_team_run(jgpt_pool *pool, int nt, jgpt_team_fn fn, void *ctx);

#endif
