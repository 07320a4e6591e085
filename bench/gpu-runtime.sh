# bench/gpu-runtime.sh - sourced by bench/gpu-check.sh and bench/gpu-quick.sh on the GPU machine (no JDK there):
# gpu_runtime CURVE_STEPS unpacks the bundle's Java runtime into /tmp/jgpt-jre, puts the image's cuBLAS on
# LD_LIBRARY_PATH and sets J (the java command, -Djgpt.test.curveSteps=CURVE_STEPS) and CP (jars and test classes).
# Returns non-zero when the runtime does not start.
gpu_runtime() {
  # the runtime is xz-compressed (it must fit the transfer); python3's tarfile unpacks it without an xz binary
  rm -rf /tmp/jgpt-jre && python3 -c 'import sys, tarfile; t = tarfile.open(sys.argv[1]); t.extractall(sys.argv[2], **({"filter": "tar"} if hasattr(tarfile, "tar_filter") else {}))' .gpu/jre.txz /tmp/jgpt-jre-unpack \
    && mv /tmp/jgpt-jre-unpack/JRE /tmp/jgpt-jre && rm -rf /tmp/jgpt-jre-unpack && /tmp/jgpt-jre/bin/java -version || return 1
  # cuBLAS comes from the image's pip wheels (nvidia-cublas): find the lib dirs instead of guessing the wheel layout
  CUBLAS_DIRS=$(python3 - <<'PY' 2>/dev/null
import glob, os, site
roots = site.getsitepackages() + [site.getusersitepackages()]
print(":".join(sorted({os.path.dirname(p) for r in roots for p in glob.glob(os.path.join(r, "nvidia", "**", "libcublas.so.*"), recursive=True)})))
PY
)
  export CUBLAS_DIRS; echo "CUBLAS_DIRS=$CUBLAS_DIRS"
  export LD_LIBRARY_PATH="${CUBLAS_DIRS}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  J=(/tmp/jgpt-jre/bin/java --enable-native-access=ALL-UNNAMED -Xmx8g "-Djgpt.test.curveSteps=$1")
  CP=".gpu/junit-console.jar:.gpu/app/*"
}
