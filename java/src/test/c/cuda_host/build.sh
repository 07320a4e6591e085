#!/usr/bin/env bash
# Builds CUDA kernel source for the CPU with jgpt's host emulation into one shared library.
#
#   java/src/test/c/cuda_host/build.sh OUT.so FILE...
#
# FILE: .cu files (compiled as C++ with the emulation's stand-in CUDA headers first on the include path;
# they may include kernels/common.cuh) and plain .c files (e.g. ../fake_cuda.c, the libcuda/cuBLAS
# stand-in). The kernel table (every `extern "C" __global__` name found in the .cu files) is generated
# here, so a kernel added to kernels/ is emulated without a list to keep. Used by the tests
# (HostKernels.java) and by hand, to drive the CLI or bench/gpu-check.sh without a GPU:
#
#   java/src/test/c/cuda_host/build.sh /tmp/libfakecuda.so java/src/test/c/fake_cuda.c kernels/*.cu
#   JGPT_LIBCUDA=/tmp/libfakecuda.so CUBLAS_LIB=/tmp/libfakecuda.so ./jgpt bench train-step --device cuda
#
# Built libraries are cached by content (java/target/host-kernels/, the newest 6 kept; JG_HOST_CACHE=DIR elsewhere,
# JG_HOST_CACHE= none): the key hashes every input file, the emulation's own files, kernels/*.cuh, the flags, the
# sanitizer, the compiler's version and what -march=native means on this CPU, so the test JVM, the jgpt processes
# the tests start and bench/gpu-check.sh's dry run share one build, and an edit to any input makes a new one.
# JG_HOST_OPT overrides the optimisation level (default -O3; -O1 with a sanitizer: an AddressSanitizer build of
# every kernel at -O3 took 101 s on 2 cores, at -O1 22 s, for tests that then run at a similar speed).
#
# Exit status: 0 built; 2 usage; 3 no C/C++ compiler; otherwise the compiler's (its output on stderr).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
kernels="$(cd "$here/../../../../../kernels" && pwd)"
[ $# -ge 2 ] || { echo "usage: $0 OUT.so FILE.cu|FILE.c ..." >&2; exit 2; }
out="$1"; shift
command -v cc >/dev/null || { echo "no C compiler (cc)" >&2; exit 3; }
echo 'int main() { return 0; }' | cc -x c++ - -o /dev/null -lstdc++ 2>/dev/null \
  || { echo "cc cannot compile C++ here (no g++ / libstdc++)" >&2; exit 3; }
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
unit="$work/kernels_host.cpp"; cfiles=()
echo '#include <cuda_runtime.h>' > "$unit"
table=$'#include "jg_host_table.h"\nJG_HOST_TABLE_BEGIN'
for f in "$@"; do
  case "$f" in
    *.cu) abs="$(cd "$(dirname "$f")" && pwd)/$(basename "$f")"
          echo "#include \"$abs\"" >> "$unit"
          for k in $(tr '\n' ' ' < "$f" | grep -oE 'extern +"C" +__global__ +(__launch_bounds__\([^)]*\) +)?void +[A-Za-z_][A-Za-z0-9_]* *\(' \
                     | sed -E 's/.*void +([A-Za-z_][A-Za-z0-9_]*) *\(/\1/'); do
            table+=$'\n'"    JG_HOST_KERNEL($k),"
          done ;;
    *.c)  cfiles+=("$f") ;;
    *)    echo "not a .cu or .c file: $f" >&2; exit 2 ;;
  esac
done
printf '%s\nJG_HOST_TABLE_END\n' "$table" >> "$unit"
# -O3 -march=native: the emulated kernels and the GEMM stand-in are the slow part of the CUDA tests.
# -Bsymbolic: the kernels' extern "C" names bind inside this library, never to a same-named symbol.
# -ffp-contract=off: a*b+c stays a rounded product and a rounded sum, whatever the inlining. With contraction on, gcc
# fused some of them into FMAs in one instantiation of a kernel template and not in another (the fp32 and bf16 fused
# attention kernels), so the same arithmetic gave results 1 ulp apart; off, the stand-in computes what the source says.
# JG_HOST_SANITIZE=address: built with AddressSanitizer (bench/stand-in-asan.sh): a kernel that reads or writes outside
# a "device" allocation (fake_cuda.c then allocates each exactly, see there) is reported where it happens.
# JG_HOST_SANITIZE=race: the kernels alone compiled with ThreadSanitizer's instrumentation, whose calls the
# emulation's own race tracker answers (jg_host_runtime.cpp, JG_HOST_RACES; no ThreadSanitizer runtime): a launch
# whose blocks touch one device address, one of them writing, fails naming both blocks.
opt="${JG_HOST_OPT:-$([ -n "${JG_HOST_SANITIZE:-}" ] && echo -O1 || echo -O3)}"
flags=(-fPIC "$opt" -march=native -ffp-contract=off)
cache="${JG_HOST_CACHE-$here/../../../../target/host-kernels}"
if [ -n "$cache" ] && command -v sha256sum >/dev/null; then
  key="$({ printf '%s\n' "${flags[*]}" "${JG_HOST_SANITIZE:-}"; realpath "$@"; cc --version; cc -march=native -Q --help=target 2>/dev/null
           cat "$@" "$here"/* "$kernels"/*.cuh; } | sha256sum | cut -c1-24)"
  if [ -f "$cache/$key.so" ]; then cp "$cache/$key.so" "$out"; touch "$cache/$key.so"; exit 0; fi
  # built below, then kept: a temporary name first, so a concurrent build or an interrupted one never leaves half a file
  trap 'rm -rf "$work"; rm -f "$cache/$key.so.$$"' EXIT
  keep() { mkdir -p "$cache" && cp "$out" "$cache/$key.so.$$" && mv -f "$cache/$key.so.$$" "$cache/$key.so" \
             && ls -t "$cache"/*.so | tail -n +7 | xargs -r rm -f; }
else
  keep() { :; }
fi
if [ "${JG_HOST_SANITIZE:-}" = race ]; then
  cc -c "${flags[@]}" -fsanitize=thread -g -I "$here" -I "$kernels" -x c++ "$unit" -o "$work/kernels.o"
  cc -shared "${flags[@]}" -DJG_HOST_RACES -Wl,-Bsymbolic -o "$out" -I "$here" -I "$kernels" \
     ${cfiles[@]+-x c "${cfiles[@]}"} -x c++ "$here/jg_host_runtime.cpp" -x none "$work/kernels.o" -lstdc++ -lm
  keep; exit 0
fi
san=()
if [ -n "${JG_HOST_SANITIZE:-}" ]; then san=(-fsanitize="$JG_HOST_SANITIZE" -fno-omit-frame-pointer -g); fi
cc -shared "${flags[@]}" ${san[@]+"${san[@]}"} -Wl,-Bsymbolic -o "$out" -I "$here" -I "$kernels" \
   ${cfiles[@]+-x c "${cfiles[@]}"} -x c++ "$unit" "$here/jg_host_runtime.cpp" -lstdc++ -lm
keep
