/*
 * The kernel table of jgpt's host emulation of CUDA: after the kernels/ .cu files are included, the generated
 * translation unit lists every kernel as JG_HOST_KERNEL(name) between JG_HOST_TABLE_BEGIN and _END. Each
 * entry unpacks cuLaunchKernel's kernelParams (one pointer per argument) into a typed call.
 */
#pragma once
#include <cstddef>
#include <type_traits>
#include <utility>

struct jg_host_kernel {
    const char *name;
    void (*invoke)(void **params);
    /* the sizes of the kernel's parameters into sizes[0..n) (n returned, at most max written): what a CUDA graph
     * copies when it records a launch (fake_cuda.c's stream capture) */
    int (*param_sizes)(std::size_t *sizes, int max);
};

namespace jg_host {
template <class... A, std::size_t... I>
void call_unpacked(void (*f)(A...), void **p, std::index_sequence<I...>) {
    f(*static_cast<A *>(p[I])...);
}
template <class... A> void call(void (*f)(A...), void **p) { call_unpacked(f, p, std::index_sequence_for<A...>{}); }
template <auto F> void invoke(void **p) { call(F, p); }
template <class... A> int sizes_of(void (*)(A...), std::size_t *out, int max) {
    const std::size_t s[] = {sizeof(A)..., 0};
    const int n = (int)sizeof...(A);
    for (int i = 0; i < n && i < max; i++) out[i] = s[i];
    return n;
}
template <auto F> int param_sizes(std::size_t *out, int max) { return sizes_of(F, out, max); }
}  // namespace jg_host

#define JG_HOST_TABLE_BEGIN extern "C" const jg_host_kernel jg_host_kernels[] = {
#define JG_HOST_KERNEL(name) {#name, &jg_host::invoke<&name>, &jg_host::param_sizes<&name>}
#define JG_HOST_TABLE_END                                                            \
    };                                                                               \
    extern "C" const int jg_host_kernel_count = sizeof jg_host_kernels / sizeof jg_host_kernels[0];
