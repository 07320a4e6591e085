#!/usr/bin/env bash
# The cuda backend's stand-in tests under AddressSanitizer: our real kernels (kernels/*.cu, compiled for the CPU by
# the host emulation, java/src/test/c/cuda_host) and the driver stand-in (java/src/test/c/fake_cuda.c) built with
# -fsanitize=address, every device tensor its own allocation of exactly its (256-byte rounded) size
# (JGPT_CUDA_ARENA_CHUNK=0), so a kernel that reads or writes past a tensor, into freed memory or outside its
# dynamic shared memory is stopped at the access with the kernel's source line; and, by default, UndefinedBehavior-
# Sanitizer (a misaligned vector load, a signed overflow, a bad shift). It checks indexing on shapes the tests use,
# without a GPU; compute-sanitizer on a GPU (bench/gpu-check.sh) checks the same on hardware.
#
#   bench/stand-in-asan.sh                  # every test class that runs on the stand-in driver (11 min on 2 cores)
#   TESTS='FakeDriverCudaGpt2Test' bench/stand-in-asan.sh
#   SANITIZE=address EXCLUDE='FakeDriverCudaCurveTest,FakeDriverCudaLlamaGenerateTest' bench/stand-in-asan.sh  # as .ci/run (it skips 2 more)
#   SANITIZE=race bench/stand-in-asan.sh    # races between blocks instead (cuda_host/jg_host_runtime.cpp, JG_HOST_RACES):
#                                           # the kernels with ThreadSanitizer's instrumentation, answered by the emulation
#
# Exit status: the test run's (0: every test passed and the sanitizers found nothing; they stop the test JVM at
# the first finding, which surefire then reports as a crashed fork); 3: no AddressSanitizer runtime here.
set -euo pipefail
cd "$(dirname "$0")/.."
# cuda_host/build.sh compiles the kernels and fake_cuda.c with these (SANITIZE=address: .ci/run's, the faster);
# UndefinedBehaviorSanitizer too: a misaligned vector load (a fault on a GPU, not on x86), a signed index overflow or
# an out-of-range shift. SANITIZE=race instead: the emulation's tracker of races between blocks (see the header).
export JG_HOST_SANITIZE="${SANITIZE:-address,undefined}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
selfcheck() { ASAN_OPTIONS=detect_leaks=0 "$work/selfcheck" "$@" > "$work/check.log" 2>&1; }
if [ "$JG_HOST_SANITIZE" = race ]; then
  preload=""   # no sanitizer runtime: the emulation answers the instrumentation's calls itself
  java/src/test/c/cuda_host/build.sh "$work/libselfcheck.so" java/src/test/c/fake_cuda.c java/src/test/c/asan/racecheck.cu
  cc -o "$work/selfcheck" java/src/test/c/asan/selfcheck.c "$work/libselfcheck.so" -Wl,-rpath,"$work"
  selfcheck 0 race || { cat "$work/check.log"; echo "stand-in-asan: the race self-check's disjoint writes failed" >&2; exit 1; }
  for mode in 1 2; do
    if selfcheck "$mode" race || ! grep -q 'a race between blocks' "$work/check.log"; then
      cat "$work/check.log"; echo "stand-in-asan: the race tracker missed race_selfcheck mode $mode" >&2; exit 1
    fi
  done
  echo "stand-in-asan: self-check passed (two blocks writing one float, or one reading what another writes, fail the launch)"
else
  asan="$(cc -print-file-name=libasan.so 2>/dev/null || true)"
  if [ -z "$asan" ] || [ "$asan" = libasan.so ] || [ ! -e "$asan" ]; then
    echo "stand-in-asan: no AddressSanitizer runtime (gcc's libasan) here" >&2
    exit 3
  fi
  preload="$(readlink -f "$asan")"
  # first the checker itself (java/src/test/c/asan/selfcheck.*): a kernel writing inside its allocation passes, one
  # float past the end is reported with the kernel's source line; with UBSan, a float4 load 4 bytes off alignment too
  java/src/test/c/cuda_host/build.sh "$work/libselfcheck.so" java/src/test/c/fake_cuda.c java/src/test/c/asan/selfcheck.cu
  cc -fsanitize="$JG_HOST_SANITIZE" -o "$work/selfcheck" java/src/test/c/asan/selfcheck.c "$work/libselfcheck.so" \
    -Wl,-rpath,"$work"
  selfcheck 0 || { cat "$work/check.log"; echo "stand-in-asan: the self-check's in-bounds launch failed" >&2; exit 1; }
  if selfcheck 1 || ! grep -q 'heap-buffer-overflow' "$work/check.log" || ! grep -q 'selfcheck.cu:8' "$work/check.log"; then
    cat "$work/check.log"; echo "stand-in-asan: AddressSanitizer did not report a write one float past an allocation" >&2; exit 1
  fi
  checked="a write one float past a device allocation is reported at selfcheck.cu:8"
  if [[ "$JG_HOST_SANITIZE" == *undefined* ]]; then
    selfcheck 0 load4 || { cat "$work/check.log"; echo "stand-in-asan: the self-check's aligned load failed" >&2; exit 1; }
    if selfcheck 1 load4 || ! grep -q 'misaligned address' "$work/check.log"; then
      cat "$work/check.log"; echo "stand-in-asan: UndefinedBehaviorSanitizer did not report a misaligned float4 load" >&2; exit 1
    fi
    checked+=", a misaligned float4 load too"
  fi
  echo "stand-in-asan: self-check passed ($checked)"
fi
# the test classes that load the stand-in driver or the host-compiled kernels
tests="${TESTS:-$(grep -rlE 'FakeCuda\.|HostKernels\.|jgptOnStandIn' java/src/test/java --include='*Test.java' \
  | sed -E 's|.*/||; s|\.java$||' | sort | paste -sd, -)}"
for x in $(tr "," " " <<<"${EXCLUDE:-}"); do tests="$(tr ',' '\n' <<<"$tests" | grep -vx "$x" | paste -sd, -)"; done
echo "stand-in-asan: $(tr ',' '\n' <<<"$tests" | wc -l) test classes, $JG_HOST_SANITIZE${preload:+ (runtime $preload)}"
export JGPT_CUDA_ARENA_CHUNK=0    # a cuMemAlloc per tensor: no neighbour tensor to read instead
# the JVM itself is not instrumented: it keeps its own SIGSEGV handling (handle_segv=0), its leaks are not ours
export ASAN_OPTIONS="${ASAN_OPTIONS:-handle_segv=0:allow_user_segv_handler=1:detect_leaks=0:verify_asan_link_order=0:halt_on_error=1}"
log=java/target/stand-in-asan.log
mkdir -p java/target
rc=0
LD_PRELOAD="$preload" ./mvnw -B -pl java -am test -DskipNative -Dtest="$tests" -Dsurefire.failIfNoSpecifiedTests=false \
  > "$log" 2>&1 || rc=$?
grep -E 'Tests run:|ERROR: AddressSanitizer|runtime error:|a race between blocks|^    #[0-9]+ .* in |SUMMARY: (AddressSanitizer|UndefinedBehaviorSanitizer)' "$log" | grep -v '^\[INFO\] Tests run: [0-9]*, Failures: 0, Errors: 0, Skipped: 0, Time' | head -60 || true
if grep -qE 'ERROR: AddressSanitizer|runtime error:|a race between blocks' "$log"; then
  echo "stand-in-asan: a sanitizer found an invalid access, undefined behaviour or a race (the whole report: $log)"
  exit 1
fi
[ "$rc" -eq 0 ] && echo "stand-in-asan: PASSED ($JG_HOST_SANITIZE: nothing found; log: $log)" || echo "stand-in-asan: the tests failed (log: $log)"
exit "$rc"
