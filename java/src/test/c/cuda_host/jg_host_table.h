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
};

namespace jg_host {
template <class... A, std::size_t... I>
void call_unpacked(void (*f)(A...), void **p, std::index_sequence<I...>) {
    f(*static_cast<A *>(p[I])...);
}
template <class... A> void call(void (*f)(A...), void **p) { call_unpacked(f, p, std::index_sequence_for<A...>{}); }
template <auto F> void invoke(void **p) { call(F, p); }
}  // namespace jg_host

#define JG_HOST_TABLE_BEGIN extern "C" const jg_host_kernel jg_host_kernels[] = {
#define JG_HOST_KERNEL(name) {#name, &jg_host::invoke<&name>}
#define JG_HOST_TABLE_END                                                            \
    };                                                                               \
    extern "C" const int jg_host_kernel_count = sizeof jg_host_kernels / sizeof jg_host_kernels[0];
