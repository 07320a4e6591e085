#!/usr/bin/env bash
# Builds .gpu/ on the development machine: everything bench/gpu-check.sh needs on a GPU machine that has
# no JDK and no Maven (see docs/gpu.md). Keeps the bundle under the 64 MiB a transfer may carry:
#   .gpu/jre.txz          jlink-ed Java 25 runtime, xz-compressed (unpacked there by python3's tarfile; its modules
#                         image left uncompressed, which xz then packs to 20.6 MB where zip-9 inside gave 34.5): the
#                         modules `jdeps --print-module-deps` names for jgpt.jar (java.desktop too: picocli
#                         loads every command class, and `jgpt plot`'s uses Java2D), without java.desktop's
#                         native libraries for fonts, X11, sound and images, which only `jgpt plot` would load
#                         (JGPT_JRE_MODULES overrides the module list)
#   .gpu/app/*.jar        jgpt (thin jar: fatbin + libjgpt inside), bindings, runtime deps, a slim OpenBLAS
#                         carrier (only the .so files), jgpt's test classes, AssertJ, JUnit console launcher
#   .gpu/kernels.fatbin   the fatbin built here (sm_80 + sm_90a SASS + compute_90 PTX)
# Usage: bench/gpu-bundle.sh      (then run bench/gpu-check.sh on the GPU machine from the project root)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source .ci/find-jdk.sh
JAVA_HOME="$(jgpt_find_jdk)"; export JAVA_HOME
out="$root/.gpu"
rm -rf "$out"; mkdir -p "$out/app"
grep -qx '/.gpu/' .gitignore 2>/dev/null || grep -qx '.gpu/' .git/info/exclude 2>/dev/null || true

echo "== build (kernels.fatbin needs nvcc here) and collect the dependencies" >&2
deps="$(mktemp -d)"
./mvnw -B -q -pl java -am -DskipTests package dependency:copy-dependencies -DincludeScope=test \
  -DoutputDirectory="$deps" -DexcludeArtifactIds=tokenizers,byte-buddy,api,jna,gson,commons-io,commons-codec,commons-compress,javacpp,jline-native,jqwik,jqwik-api,jqwik-engine,jqwik-time,jqwik-web,jgpt-bindings,jgpt
[ -f java/target/classes/native/cuda/kernels.fatbin ] || { echo "no kernels.fatbin: nvcc missing on this machine" >&2; exit 1; }
cp java/target/classes/native/cuda/kernels.fatbin "$out/kernels.fatbin"

echo "== jars" >&2
cp java/target/jgpt-*-SNAPSHOT.jar "$out/app/jgpt.jar"
cp bindings/target/jgpt-bindings-*.jar "$out/app/"
"$JAVA_HOME/bin/jar" cf "$out/app/jgpt-tests.jar" -C java/target/test-classes .
# the OpenBLAS carrier jar is ~20 MB, mostly JNI glue jgpt never loads: keep only the .so files
blas="$(ls "$deps"/openblas-*-linux-x86_64.jar)"
slim="$(mktemp -d)"
(cd "$slim" && unzip -q "$blas" 'org/bytedeco/openblas/linux-x86_64/lib*.so*' -x '*jni*' && \
  "$JAVA_HOME/bin/jar" cf "$out/app/$(basename "$blas")" org)
rm -f "$blas"; rm -rf "$slim"
cp "$deps"/*.jar "$out/app/"; rm -rf "$deps"
./mvnw -B -q -N dependency:copy -Dartifact=org.junit.platform:junit-platform-console-standalone:6.1.3 \
  -DoutputDirectory="$out" -Dmdep.stripVersion=true
mv "$out/junit-platform-console-standalone.jar" "$out/junit-console.jar"
# the console launcher brings its own JUnit: drop the separate junit/opentest4j/apiguardian jars
rm -f "$out"/app/junit-*.jar "$out"/app/opentest4j-*.jar "$out"/app/apiguardian-*.jar

echo "== runtime" >&2
jre="$(mktemp -d)"
"$JAVA_HOME/bin/jlink" --add-modules "${JGPT_JRE_MODULES:-java.base,java.desktop,java.logging,java.management,java.net.http,java.xml,jdk.httpserver,jdk.management,jdk.unsupported,jdk.incubator.vector}" \
  --strip-debug --no-man-pages --no-header-files --compress=zip-0 \
  --exclude-files='**/libfontmanager.so,**/libawt_xawt.so,**/liblcms.so,**/libjavajpeg.so,**/libsplashscreen.so,**/libjsound.so,**/libmlib_image.so,**/libfreetype.so' \
  --output "$jre/JRE"
"$jre/JRE/bin/java" -version 2>&1 | head -1 >&2
# xz on every core (-T0): 26 s instead of 51 on 2 cores for 0.2 MB more (blocks compressed apart); python3 reads both
XZ_OPT="${XZ_OPT:--T0}" tar -C "$jre" -cJf "$out/jre.txz" JRE; rm -rf "$jre"

du -sh "$out" "$out"/* >&2
size=$(du -sb "$out" | cut -f1)
# what travels to the GPU machine is the bundle and the tracked tree together, at most 64 MiB: keep 2 MiB spare
tree=$(git ls-files -z | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1)
[ $((size + tree)) -lt $((62 * 1024 * 1024)) ] || {
  echo "bundle ($size bytes) and tracked files ($tree bytes) are over the 62 MiB budget (64 MiB travel)" >&2; exit 1; }
echo "bundle ready: $out ($size bytes; with the tracked files $((size + tree)) of 67108864 that may travel)" >&2
