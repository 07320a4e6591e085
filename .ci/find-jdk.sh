# Sourced by ./jgpt, ./mvnw and .ci/run: prints the home of a JDK >= 25.
# Order: JAVA_HOME, then every JDK under /usr/lib/jvm (newest first), then `java` on PATH.
jgpt_jdk_major() {  # $1 = JDK home; prints its feature version or nothing
  local rel="$1/release"
  [ -x "$1/bin/java" ] || return 0
  if [ -f "$rel" ]; then
    sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$rel"
  else
    "$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = \([0-9]*\).*/\1/p'
  fi
}
jgpt_find_jdk() {
  local cand major
  local candidates=()
  [ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME")
  for cand in $(ls -d /usr/lib/jvm/*/ 2>/dev/null | sort -rV); do candidates+=("${cand%/}"); done
  if command -v java >/dev/null 2>&1; then
    candidates+=("$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")")
  fi
  for cand in "${candidates[@]}"; do
    major="$(jgpt_jdk_major "$cand")"
    if [ -n "$major" ] && [ "$major" -ge 25 ]; then echo "$cand"; return 0; fi
  done
  echo "jgpt: no JDK >= 25 found (looked at JAVA_HOME, /usr/lib/jvm/*, java on PATH); install one, e.g. Temurin 25, and set JAVA_HOME" >&2
  return 1
}
