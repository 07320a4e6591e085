/*
 * jgpt.h — the C ABI of libjgpt, the only native functions of ours that Java calls (through FFM,
 * bindings in bindings/src/main/java/dev/jgpt/bindings/Jgpt.java). All pointers are host memory,
 * float tensors are row-major float32, sizes are int (elements) unless named *_bytes.
 */
#ifndef JGPT_H
#define JGPT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(JGPT_BUILDING)
#define JGPT_API __attribute__((visibility("default")))
#else
#define JGPT_API
#endif

/* ABI version: bumped when any signature below changes; Java refuses a library of another version. */
#define JGPT_ABI_VERSION 1
JGPT_API int jgpt_abi_version(void);

#ifdef __cplusplus
}
#endif
#endif /* JGPT_H */
