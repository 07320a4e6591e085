#!/usr/bin/env bash
# The cuda backend's stand-in tests under AddressSanitizer: our real kernels (kernels/*.cu, compiled for the CPU by
# the host emulation, java/src/test/c/cuda_host) and the driver stand-in (java/src/test/c/fake_cuda.c) built with
# -fsanitize=address, every device tensor its own allocation of exactly its (256-byte rounded) size
# (JGPT_CUDA_ARENA_CHUNK=0), so a kernel that reads or writes past a tensor, into freed memory or outside its
# dynamic shared memory is stopped at the access with the kernel's source line. It checks indexing on shapes the
# tests use, without a GPU; compute-sanitizer on a GPU (bench/gpu-check.sh) checks the same on hardware.
#
#   bench/stand-in-asan.sh                  # every test class that runs on the stand-in driver
#   TESTS='FakeDriverCudaGpt2Test' bench/stand-in-asan.sh
#   EXCLUDE='FakeDriverCudaCurveTest,FakeDriverCudaLlamaGenerateTest' bench/stand-in-asan.sh   # what .ci/run does
#
# Exit status: the test run's (0: every test passed and AddressSanitizer found nothing; it stops the test JVM at
# the first finding, which surefire then reports as a crashed fork); 3: no AddressSanitizer runtime here.
set -euo pipefail
cd "$(dirname "$0")/.."
asan="$(cc -print-file-name=libasan.so 2>/dev/null || true)"
if [ -z "$asan" ] || [ "$asan" = libasan.so ] || [ ! -e "$asan" ]; then
  echo "stand-in-asan: no AddressSanitizer runtime (gcc's libasan) here" >&2
  exit 3
fi
asan="$(readlink -f "$asan")"
# first the checker itself (java/src/test/c/asan/selfcheck.*): a kernel writing inside its allocation passes, one
# float past the end is reported with the kernel's source line
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
JG_HOST_SANITIZE=address java/src/test/c/cuda_host/build.sh "$work/libselfcheck.so" java/src/test/c/fake_cuda.c \
  java/src/test/c/asan/selfcheck.cu
cc -fsanitize=address -o "$work/selfcheck" java/src/test/c/asan/selfcheck.c "$work/libselfcheck.so" -Wl,-rpath,"$work"
ASAN_OPTIONS=detect_leaks=0 "$work/selfcheck" 0 > "$work/inside.log" 2>&1 \
  || { cat "$work/inside.log"; echo "stand-in-asan: the self-check's in-bounds launch failed" >&2; exit 1; }
if ASAN_OPTIONS=detect_leaks=0 "$work/selfcheck" 1 > "$work/past.log" 2>&1 \
   || ! grep -q 'heap-buffer-overflow' "$work/past.log" || ! grep -q 'selfcheck.cu:8' "$work/past.log"; then
  cat "$work/past.log"; echo "stand-in-asan: AddressSanitizer did not report a write one float past an allocation" >&2; exit 1
fi
echo "stand-in-asan: self-check passed (a write one float past a device allocation is reported at selfcheck.cu:8)"
# the test classes that load the stand-in driver or the host-compiled kernels
tests="${TESTS:-$(grep -rlE 'FakeCuda\.|HostKernels\.|jgptOnStandIn' java/src/test/java --include='*Test.java' \
  | sed -E 's|.*/||; s|\.java$||' | sort | paste -sd, -)}"
for x in $(tr "," " " <<<"${EXCLUDE:-}"); do tests="$(tr ',' '\n' <<<"$tests" | grep -vx "$x" | paste -sd, -)"; done
echo "stand-in-asan: $(tr ',' '\n' <<<"$tests" | wc -l) test classes, AddressSanitizer runtime $asan"
export JG_HOST_SANITIZE=address   # cuda_host/build.sh compiles the kernels and fake_cuda.c with it
export JGPT_CUDA_ARENA_CHUNK=0    # a cuMemAlloc per tensor: no neighbour tensor to read instead
# the JVM itself is not instrumented: it keeps its own SIGSEGV handling (handle_segv=0), its leaks are not ours
export ASAN_OPTIONS="${ASAN_OPTIONS:-handle_segv=0:allow_user_segv_handler=1:detect_leaks=0:verify_asan_link_order=0:halt_on_error=1}"
log=java/target/stand-in-asan.log
mkdir -p java/target
rc=0
LD_PRELOAD="$asan" ./mvnw -B -pl java -am test -DskipNative -Dtest="$tests" -Dsurefire.failIfNoSpecifiedTests=false \
  > "$log" 2>&1 || rc=$?
grep -E 'Tests run:|ERROR: AddressSanitizer|^    #[0-9]+ .* in |SUMMARY: AddressSanitizer' "$log" | grep -v '^\[INFO\] Tests run: [0-9]*, Failures: 0, Errors: 0, Skipped: 0, Time' | head -60 || true
if grep -q 'ERROR: AddressSanitizer' "$log"; then
  echo "stand-in-asan: AddressSanitizer found an invalid access (the whole report: $log)"
  exit 1
fi
[ "$rc" -eq 0 ] && echo "stand-in-asan: PASSED (no invalid access; log: $log)" || echo "stand-in-asan: the tests failed (log: $log)"
exit "$rc"
