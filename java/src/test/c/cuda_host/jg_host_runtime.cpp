/*
 * The scheduler of jgpt's host emulation of CUDA (see jg_host.h and README.md): runs a launch's blocks one
 * after another in a random order, each block's threads as fibers on the calling thread, in a seeded random order between
 * barriers (so that a missing __syncthreads / __syncwarp shows up as a wrong result), and checks that every
 * live thread reaches the same barriers. A fiber switch is a few register moves (jg_switch, x86-64), not
 * the system call of swapcontext. Entry points for fake_cuda.c: jg_host_launch, jg_host_has_kernel,
 * jg_host_last_error; for tests, jg_host_reorder. The kernel table comes from a generated translation unit that includes the kernels/ .cu files
 * (FakeCuda.java writes it).
 */
#include "jg_host.h"
#include "jg_host_ptx.h"

#include <sys/mman.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <numeric>
#include <string>
#include <vector>
#ifdef JG_HOST_RACES
#include <algorithm>
#include <map>
#include <unordered_map>
#endif
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif

#include "jg_host_table.h"

extern "C" const jg_host_kernel jg_host_kernels[];
extern "C" const int jg_host_kernel_count;

// jg_switch(&from_sp, to_sp): saves the callee-saved registers on the current stack, stores the stack pointer
// in from_sp, and resumes the context whose stack pointer is to_sp. MXCSR and the x87 control word are not
// switched: no fiber changes them (rounding modes are the same everywhere), and saving them doubled the cost.
extern "C" void jg_switch(void **from_sp, void *to_sp);
#if defined(__x86_64__)
asm(R"(
    .text
    .globl jg_switch
    .hidden jg_switch
    .type jg_switch, @function
jg_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size jg_switch, .-jg_switch
)");
#else
#error "jgpt's host emulation of CUDA switches fibers with x86-64 code (jg_switch); port it for this machine"
#endif

// the linker's bounds of the section that holds every static __shared__ array (jg_host.h); weak: a build
// without any has no such section
extern "C" unsigned char __start_jg_shared __attribute__((weak, visibility("hidden")));
extern "C" unsigned char __stop_jg_shared __attribute__((weak, visibility("hidden")));

namespace jg_host {
Thread *current;
uint3 block_idx;
dim3 block_dim, grid_dim;
unsigned char *dynamic_shared;

namespace {
enum State { NEW, RUNNABLE, AT_BLOCK, AT_WARP, DONE, FAILED };  // NEW: not started, has no stack yet
constexpr size_t STACK_BYTES = 256 * 1024, GUARD_BYTES = 4096;
constexpr int MAX_THREADS = 1024;

struct Fiber {
    void *sp;                 // saved stack pointer while not running
    void *stack;              // from the pool while started and not finished
    Thread thread;
    State state;
    long block_barriers, warp_barriers;  // how many of each this thread has passed (checked for equality)
    bool at_shuffle;                     // its warp barrier is a shuffle's (else __syncwarp)
    const char *barrier_file;            // where it waits at __syncthreads
    int barrier_line;
};

// cp.async (jg_host_ptx.h): each thread's issued copies, tagged with the group they belong to (committed: that
// thread's number of commit_group calls so far; a copy issued after the last commit belongs to the next group)
struct AsyncCopy {
    void *dst;
    const void *src;
    int src_bytes;
    long group;
};
std::vector<AsyncCopy> async_copies[MAX_THREADS];
long async_committed[MAX_THREADS];
Fiber fibers[MAX_THREADS];
int thread_count;
void *scheduler_sp;
Fiber *running;
const jg_host_kernel *kernel;
void **params;
std::string error;
uint64_t slots[MAX_THREADS / 32][2][32];   // [warp][barrier parity][lane]: shuffle values, double-buffered
uint32_t present[MAX_THREADS / 32][2];     // lanes that took part in that exchange
uint64_t rng_state = 0x9E3779B97F4A7C15ull;
// Launches of each kernel (by its index in jg_host_kernels) since the last jg_host_reorder: a launch's orders
// come from a seed of (its kernel's name, this count), so the nth launch of a kernel runs in the same order
// whatever else ran before it, in this process or another (a failure repeats in a single test; two runs that
// launch a kernel with the same inputs get the same sums from its atomics).
std::vector<uint64_t> launch_counts;
uint64_t order_salt = 0;  // jg_host_reorder's salt: another salt, other orders for every launch
std::mutex one_launch_at_a_time;  // the scheduler's state is global; launches from two threads queue
std::vector<unsigned char> shared_buffer;
size_t shared_offset;  // where the 256-byte aligned dynamic shared memory starts in shared_buffer
size_t dynamic_bytes;  // the launch's dynamic shared memory
constexpr size_t SHARED_GUARD = 256;

// A write just outside the launch's dynamic shared memory (the bytes around it stay all-ones): on a GPU it
// would corrupt other data or fault; here it would pass silently without this check.
bool shared_guard_intact() {
    if (dynamic_bytes == 0) return true;
    for (size_t i = 0; i < shared_buffer.size(); i++) {
        if (i >= shared_offset && i < shared_offset + dynamic_bytes) continue;
        if (shared_buffer[i] != 0xFF) return false;
    }
    return true;
}
// Stacks are lent to threads when they start and taken back when they finish, most recently returned first:
// a kernel without barriers runs all its threads on one stack that stays in cache; only threads waiting at
// a barrier hold one each.
std::vector<void *> free_stacks;

// splitmix64's finaliser: spreads a (name hash, launch count) pair over the whole state
uint64_t mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void seed_launch(int kernel_index) {
    if (launch_counts.size() < (size_t)jg_host_kernel_count) launch_counts.resize(jg_host_kernel_count, 0);
    uint64_t h = 0xCBF29CE484222325ull;  // FNV-1a of the kernel's name
    for (const char *c = jg_host_kernels[kernel_index].name; *c; c++) h = (h ^ (unsigned char)*c) * 0x100000001B3ull;
    rng_state = mix(h + 0x9E3779B97F4A7C15ull * ++launch_counts[kernel_index] + mix(order_salt)) | 1;  // xorshift needs a non-zero state
}

uint64_t next_random() {  // xorshift64*: a fixed, seeded order, so a failure repeats
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ull;
}

[[noreturn]] void fiber_main() {
    kernel->invoke(params);
    running->state = DONE;
    jg_switch(&running->sp, scheduler_sp);  // never resumed
    std::abort();
}

// A fresh fiber's stack, laid out as jg_switch leaves a suspended one, so that its `ret` enters fiber_main
// with the stack aligned as after a call.
void *fresh_stack(void *stack) {
    uintptr_t top = ((uintptr_t)stack + STACK_BYTES) & ~(uintptr_t)15;
    uint64_t *sp = (uint64_t *)top;
    *--sp = 0;                          // fiber_main's (never used) return address
    *--sp = (uint64_t)(uintptr_t)&fiber_main;
    for (int r = 0; r < 6; r++) *--sp = 0;  // rbp rbx r12 r13 r14 r15
    return sp;
}

// Gives a fiber's stack back to the pool. Under AddressSanitizer (cuda_host/build.sh, JG_HOST_SANITIZE) the frames
// of a fiber that never returned (a kernel stopped by the emulation's checks, fiber_main) are still poisoned there;
// the next fiber on this stack would be reported for using its own fresh frames.
void pool_stack(void *stack) {
#if defined(__SANITIZE_ADDRESS__)
    __asan_unpoison_memory_region(stack, STACK_BYTES);
#endif
    free_stacks.push_back((unsigned char *)stack);
}

// Runs f until it waits at a barrier or finishes (starting it on a pooled stack if new).
bool resume(Fiber &f) {
    if (f.state == NEW) {
        if (free_stacks.empty()) {
            // a guard page below each stack: a kernel that overflows it faults instead of writing over another
            unsigned char *map = (unsigned char *)mmap(nullptr, STACK_BYTES + GUARD_BYTES, PROT_READ | PROT_WRITE,
                                                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
            if (map == MAP_FAILED || mprotect(map, GUARD_BYTES, PROT_NONE) != 0) {
                error = "out of memory for fiber stacks";
                return false;
            }
            free_stacks.push_back(map + GUARD_BYTES);
        }
        f.stack = free_stacks.back();
        free_stacks.pop_back();
        f.sp = fresh_stack(f.stack);
    }
    running = &f;
    current = &f.thread;
    jg_switch(&scheduler_sp, f.sp);
    if (f.state == DONE || f.state == FAILED) {
        pool_stack(f.stack);  // it never runs again
        f.stack = nullptr;
    }
    return error.empty();
}

// The lanes (or warps) from..from+n in a random order: a random start and a random stride coprime to n (a
// full shuffle costs n random numbers per barrier; this costs one).
void random_order(int *order, int from, int n) {
    const uint64_t r = next_random();
    int stride = 1 + (int)((r >> 32) % (uint64_t)n);
    while (std::gcd(stride, n) != 1) stride++;
    const int start = (int)(r % (uint64_t)n);
    for (int k = 0; k < n; k++) order[k] = from + (int)((start + (long)k * stride) % n);
}

std::string where(const Fiber &f) {
    char s[160];
    snprintf(s, sizeof s, "block (%u,%u,%u) thread (%u,%u,%u)", block_idx.x, block_idx.y, block_idx.z, f.thread.idx.x,
             f.thread.idx.y, f.thread.idx.z);
    return s;
}

void park(State s) {
    Fiber *self = running;
    self->state = s;
    jg_switch(&self->sp, scheduler_sp);
}

std::string site(const Fiber &f) {
    const char *slash = std::strrchr(f.barrier_file, '/');
    return std::string(slash ? slash + 1 : f.barrier_file) + ":" + std::to_string(f.barrier_line) + ", its barrier #" +
           std::to_string(f.block_barriers);
}

std::string where_warp(int w) {
    return "block (" + std::to_string(block_idx.x) + "," + std::to_string(block_idx.y) + "," + std::to_string(block_idx.z) +
           ") warp " + std::to_string(w);
}

// Runs warp w until each of its live lanes waits at __syncthreads or has exited: lanes in a fresh random
// order up to their next warp barrier, which is released when every live lane of the warp has reached it
// (lanes that took part recorded for the shuffles). False with `error` set when the lanes cannot all meet.
bool run_warp(int w) {
    const int first = w * 32, lanes = std::min(thread_count - first, 32);
    int order[32];
    for (;;) {
        random_order(order, first, lanes);
        for (int k = 0; k < lanes; k++) {
            Fiber &f = fibers[order[k]];
            if (f.state != RUNNABLE && f.state != NEW) continue;
            if (!resume(f)) return false;
        }
        int live = 0, at_warp = 0;
        long count = -1;
        uint32_t mask = 0;
        const Fiber *other = nullptr;
        for (int i = first; i < first + lanes; i++) {
            const Fiber &f = fibers[i];
            if (f.state == DONE) continue;
            live++;
            if (f.state != AT_WARP) continue;
            at_warp++;
            if (other && (f.warp_barriers != count || f.at_shuffle != other->at_shuffle)) {
                error = "lanes of one warp meet at different warp primitives (" + where(*other) + " at its " +
                        (other->at_shuffle ? "shuffle" : "__syncwarp") + " #" + std::to_string(count) + ", " + where(f) +
                        " at its " + (f.at_shuffle ? "shuffle" : "__syncwarp") + " #" + std::to_string(f.warp_barriers) +
                        "): divergent warp primitive";
                return false;
            }
            count = f.warp_barriers;
            other = &f;
            mask |= 1u << (i - first);
        }
        if (at_warp == 0) return true;  // all at __syncthreads or exited
        if (at_warp != live) {
            error = "in " + where_warp(w) + " some lanes wait at a warp barrier, the others at __syncthreads: "
                    "divergent warp primitive";
            return false;
        }
        present[w][(count - 1) & 1] = mask;
        for (int i = first; i < first + lanes; i++)
            if (fibers[i].state == AT_WARP) fibers[i].state = RUNNABLE;
    }
}

// One block: between two __syncthreads the warps run one after another, each as far as it can go, in a
// fresh random order (the largest skew between warps that a GPU may show); then the barrier is checked
// (every live thread must have passed the same number) and released.
bool run_block() {
    for (int i = 0; i < thread_count; i++) {
        Fiber &f = fibers[i];
        f.state = NEW;
        f.block_barriers = f.warp_barriers = 0;
    }
    for (int i = 0; i < thread_count; i++) {  // a thread that exited with copies in flight leaves none to the next block
        async_copies[i].clear();
        async_committed[i] = 0;
    }
    if (!shared_buffer.empty()) std::memset(shared_buffer.data(), 0xFF, shared_buffer.size());  // NaN until written
    if (&__stop_jg_shared > &__start_jg_shared)  // the static __shared__ arrays too
        std::memset(&__start_jg_shared, 0xFF, (size_t)(&__stop_jg_shared - &__start_jg_shared));
    const int warps = (thread_count + 31) / 32;
    int warp_order[MAX_THREADS / 32];
    for (;;) {
        random_order(warp_order, 0, warps);
        for (int k = 0; k < warps; k++)
            if (!run_warp(warp_order[k])) return false;
        int live = 0;
        const Fiber *first = nullptr;
        for (int i = 0; i < thread_count; i++) {
            const Fiber &f = fibers[i];
            if (f.state == DONE) continue;
            live++;
            if (!first) first = &f;
            if (f.block_barriers != first->block_barriers || f.barrier_line != first->barrier_line ||
                std::strcmp(f.barrier_file, first->barrier_file) != 0) {
                error = "threads wait at different __syncthreads (" + where(*first) + " at " + site(*first) + ", " +
                        where(f) + " at " + site(f) + "): a barrier in divergent code";
                return false;
            }
        }
        if (live == 0) {
            if (shared_guard_intact()) return true;
            error = "wrote outside the launch's " + std::to_string(dynamic_bytes) + " bytes of dynamic shared memory";
            return false;
        }
        for (int i = 0; i < thread_count; i++)
            if (fibers[i].state == AT_BLOCK) fibers[i].state = RUNNABLE;
    }
}
}  // namespace

void sync_block(const char *file, int line) {
    running->block_barriers++;
    running->barrier_file = file;
    running->barrier_line = line;
    park(AT_BLOCK);
}

void sync_warp() {
    running->warp_barriers++;
    running->at_shuffle = false;
    park(AT_WARP);
}

static void shuffle_barrier() {
    running->warp_barriers++;
    running->at_shuffle = true;
    park(AT_WARP);
}

uint64_t exchange(uint64_t bits, int src_lane) {
    const int w = current->warp, parity = (int)(running->warp_barriers & 1);
    slots[w][parity][current->lane] = bits;
    shuffle_barrier();
    if (src_lane < 0 || src_lane >= 32 || !(present[w][parity] >> src_lane & 1u)) return ~0ull;  // lane not there
    return slots[w][parity][src_lane];
}

uint32_t warp_collective(uint64_t bits, uint64_t *lane0) {
    const int w = current->warp, parity = (int)(running->warp_barriers & 1);
    slots[w][parity][current->lane] = bits;
    shuffle_barrier();
    const uint32_t lanes = present[w][parity];
    *lane0 = (lanes & 1u) ? slots[w][parity][0] : ~bits;
    return lanes;
}

void async_copy(void *dst, const void *src, int src_bytes) {
    if (src_bytes < 0 || src_bytes > 16) fail("cp.async: src-size outside 0..16 bytes");
    if ((uintptr_t)dst % 16 != 0 || (src_bytes > 0 && (uintptr_t)src % 16 != 0))
        fail("cp.async: a 16-byte copy whose shared or global address is not 16-byte aligned");
    const int t = current->linear;
    async_copies[t].push_back(AsyncCopy{dst, src, src_bytes, async_committed[t]});
}

void async_commit() { async_committed[current->linear]++; }

// completes every copy of a committed group older than the newest `newest_left` ones, in issue order
void async_wait(int newest_left) {
    const int t = current->linear;
    const long done_below = async_committed[t] - newest_left;
    std::vector<AsyncCopy> &q = async_copies[t];
    size_t kept = 0;
    for (size_t i = 0; i < q.size(); i++) {
        const AsyncCopy &c = q[i];
        if (c.group < done_below) {
            std::memset(c.dst, 0, 16);
            if (c.src_bytes > 0) std::memcpy(c.dst, c.src, (size_t)c.src_bytes);
        } else {
            q[kept++] = c;
        }
    }
    q.resize(kept);
}

void fail(const char *why) {
    error = std::string(why) + " at " + where(*running);
    running->state = FAILED;
    jg_switch(&running->sp, scheduler_sp);
    std::abort();  // never resumed
}
}  // namespace jg_host

using namespace jg_host;

extern "C" int jg_host_has_kernel(const char *name) {
    for (int i = 0; i < jg_host_kernel_count; i++)
        if (!std::strcmp(jg_host_kernels[i].name, name)) return 1;
    return 0;
}

extern "C" const char *jg_host_last_error(void) { return error.c_str(); }

/* Counts every kernel's launches from zero again and draws the orders of the launches after it from salt: salt 0 gives
 * the orders a fresh process would; two runs that differ only in the salt run every launch's blocks, warps and lanes in
 * different orders, as two runs on a GPU may. */
extern "C" void jg_host_reorder(uint64_t salt) {
    std::lock_guard<std::mutex> hold(one_launch_at_a_time);
    launch_counts.assign(launch_counts.size(), 0);
    order_salt = salt;
}

/* The sizes of kernel `name`'s parameters into sizes[0..max): their count, or -1 for no such kernel. */
extern "C" int jg_host_param_sizes(const char *name, size_t *sizes, int max) {
    for (int i = 0; i < jg_host_kernel_count; i++)
        if (!std::strcmp(jg_host_kernels[i].name, name)) return jg_host_kernels[i].param_sizes(sizes, max);
    return -1;
}

// Races between blocks (JG_HOST_SANITIZE=race, cuda_host/build.sh): the blocks of a launch run one after another here,
// so two blocks that write one address, or one that reads what another writes, still give the right numbers; on a
// GPU they run at once and the result depends on their timing. The kernels are compiled with the compiler's
// ThreadSanitizer instrumentation, which calls the __tsan_* functions below for every memory access left after
// optimisation; instead of ThreadSanitizer's runtime, these record, per launch, which block wrote and which read each
// 2-byte granule of "device" memory (the driver stand-in's allocations, jg_host_device_memory), and the first
// conflict fails the launch naming the kernel, the blocks and the offset. Shared memory, registers, stacks and the
// emulation's own state lie outside device memory and are not tracked. atomicAdd/Max/Min (jg_host.h) are not
// instrumented. Without JG_HOST_RACES none of this is compiled.
#ifdef JG_HOST_RACES
namespace races {
struct Granule {
    int64_t writer = -1, reader = -1, reader2 = -1;  // linear block ids: the writer, the first two blocks that read it
};
std::mutex ranges_lock;                              // allocations may come from any thread
std::map<uintptr_t, size_t> ranges;                  // device memory: start -> bytes
std::vector<std::pair<uintptr_t, uintptr_t>> active; // a launch's snapshot of it, sorted: [start, end)
std::unordered_map<uintptr_t, Granule> granules;     // this launch's accesses
int64_t block = -1;                                  // the running block's linear id; -1: no launch running
std::string found;                                   // the first conflict of this launch

const std::pair<uintptr_t, uintptr_t> *device_range(uintptr_t a) {
    auto it = std::upper_bound(active.begin(), active.end(), std::make_pair(a, UINTPTR_MAX));
    if (it == active.begin()) return nullptr;
    --it;
    return a < it->second ? &*it : nullptr;
}

void access(const void *p, size_t n, bool write) {
    if (block < 0 || !found.empty()) return;
    const uintptr_t a = (uintptr_t)p;
    const auto *range = device_range(a);
    if (!range) return;
    for (uintptr_t g = a / 2; g <= (a + n - 1) / 2; g++) {
        Granule &e = granules[g];
        // another block that wrote it, or (for a write) read it: of two distinct readers one is not this block
        const int64_t reader = e.reader != block ? e.reader : e.reader2;
        const int64_t other = e.writer >= 0 && e.writer != block ? e.writer : write ? reader : -1;
        if (other >= 0) {
            char msg[320];
            snprintf(msg, sizeof msg, "block %lld %s what block %lld %s (byte %llu of a %llu-byte allocation): a race "
                     "between blocks", (long long)block, write ? "writes" : "reads", (long long)other,
                     other == e.writer ? "wrote" : "read", (unsigned long long)(g * 2 - range->first),
                     (unsigned long long)(range->second - range->first));
            found = msg;
            return;
        }
        if (write) e.writer = block;
        else if (e.reader < 0) e.reader = block;
        else if (e.reader != block && e.reader2 < 0) e.reader2 = block;
    }
}

void begin() {
    std::lock_guard<std::mutex> hold(ranges_lock);
    active.clear();
    for (const auto &r : ranges) active.emplace_back(r.first, r.first + r.second);
    granules.clear();
    found.clear();
}
}  // namespace races

extern "C" {
void __tsan_init(void) {}
void __tsan_func_entry(void *) {}
void __tsan_func_exit(void) {}
void __tsan_vptr_update(void **, void *) {}
void __tsan_vptr_read(void **) {}
#define JG_RACE_ACCESS(n)                                                                 \
    void __tsan_read##n(void *p) { races::access(p, n, false); }                          \
    void __tsan_write##n(void *p) { races::access(p, n, true); }                          \
    void __tsan_unaligned_read##n(void *p) { races::access(p, n, false); }                \
    void __tsan_unaligned_write##n(void *p) { races::access(p, n, true); }
JG_RACE_ACCESS(1)
JG_RACE_ACCESS(2)
JG_RACE_ACCESS(4)
JG_RACE_ACCESS(8)
JG_RACE_ACCESS(16)
void __tsan_read_range(void *p, unsigned long n) { races::access(p, n, false); }
void __tsan_write_range(void *p, unsigned long n) { races::access(p, n, true); }
}
#endif

// The driver stand-in's cuMemAlloc/cuMemFree: what is device memory (only the race tracker asks).
extern "C" void jg_host_device_memory(const void *p, size_t bytes, int added) {
#ifdef JG_HOST_RACES
    std::lock_guard<std::mutex> hold(races::ranges_lock);
    if (added) races::ranges[(uintptr_t)p] = bytes;
    else races::ranges.erase((uintptr_t)p);
#else
    (void)p; (void)bytes; (void)added;
#endif
}

/* 0, 1 (CUDA_ERROR_INVALID_VALUE: a launch configuration CUDA refuses), 500 (no such kernel) or 719
 * (CUDA_ERROR_LAUNCH_FAILED: the kernel broke a rule; jg_host_last_error says which, also on stderr). */
extern "C" int jg_host_launch(const char *name, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,
                              unsigned bz, unsigned shared_bytes, void **kernel_params) {
    std::lock_guard<std::mutex> hold(one_launch_at_a_time);
    kernel = nullptr;
    int index = -1;
    for (int i = 0; i < jg_host_kernel_count; i++)
        if (!std::strcmp(jg_host_kernels[i].name, name)) kernel = &jg_host_kernels[index = i];
    if (!kernel) return 500;
    seed_launch(index);
    const unsigned long threads = (unsigned long)bx * by * bz;
    if (gx == 0 || gy == 0 || gz == 0 || threads == 0 || threads > MAX_THREADS || by > 1024 || bz > 64 ||
        gy > 65535 || gz > 65535 || shared_bytes > 232448)
        return 1;
    error.clear();
    params = kernel_params;
    grid_dim = dim3{gx, gy, gz};
    block_dim = dim3{bx, by, bz};
    thread_count = (int)threads;
    // + room to start it 256-byte aligned, as on a GPU, and at least 256 guard bytes after it (checked after each block)
    shared_buffer.assign(shared_bytes + 2 * SHARED_GUARD, 0xFF);
    shared_offset = (size_t)(-(uintptr_t)shared_buffer.data() & 255);
    dynamic_bytes = shared_bytes;
    dynamic_shared = shared_bytes == 0 ? nullptr : shared_buffer.data() + shared_offset;
    for (unsigned z = 0, i = 0; z < bz; z++)
        for (unsigned y = 0; y < by; y++)
            for (unsigned x = 0; x < bx; x++, i++)
                fibers[i].thread = Thread{uint3{x, y, z}, (int)i, (int)(i % 32), (int)(i / 32)};
    // blocks one after another, in a random order (a random start and a stride coprime to their count): a
    // kernel must not depend on which block runs first
    const uint64_t blocks = (uint64_t)gx * gy * gz, r = next_random();
    uint64_t stride = 1 + (r >> 20) % blocks, b = r % blocks;
    while (std::gcd(stride, blocks) != 1) stride++;
#ifdef JG_HOST_RACES
    races::begin();
#endif
    for (uint64_t k = 0; k < blocks; k++, b = (b + stride) % blocks) {
        block_idx = uint3{(unsigned)(b % gx), (unsigned)(b / gx % gy), (unsigned)(b / gx / gy)};
#ifdef JG_HOST_RACES
        races::block = (int64_t)b;
#endif
        bool ran = run_block();
#ifdef JG_HOST_RACES
        races::block = -1;
        if (ran && !races::found.empty()) {  // the block finished: no fiber is left holding a stack
            error = races::found;
            ran = false;
        }
#endif
        if (!ran) {
            for (Fiber &f : fibers) {  // the threads left waiting never resume
                if (f.stack) pool_stack(f.stack);
                f.stack = nullptr;
            }
            error = std::string(kernel->name) + ": " + error;
            fprintf(stderr, "jgpt host kernels: %s\n", error.c_str());
            return 719;
        }
    }
    return 0;
}
