# Sourced by the bench/*-vs-*.sh scripts. Their rounds append one line per run to a results file:
#   NAME THREADS VALUE ... [load=L]
# medians FILE COL [LOADCOL] prints, for each NAME and THREADS, the median of column COL over the rounds,
# every run's value, and (with LOADCOL, the column holding "load=L") the load average beside each run.
medians() {
  local file=$1 col=$2 loadcol=${3:-} key name t vals loads count med
  for key in $(awk '{print $1 "@" $2}' "$file" | sort -u); do
    name="${key%@*}"; t="${key#*@}"
    vals=$(awk -v n="$name" -v t="$t" -v c="$col" '$1 == n && $2 == t {print $c}' "$file" | sort -n)
    loads=""
    if [ -n "$loadcol" ]; then
      loads=$(awk -v n="$name" -v t="$t" -v c="$loadcol" '$1 == n && $2 == t {sub("load=", "", $c); print $c}' "$file" | xargs)
    fi
    count=$(echo "$vals" | wc -l)
    med=$(echo "$vals" | sed -n "$(( (count + 1) / 2 ))p")
    printf "%-17s %-4s median %8s  runs: %-26s%s\n" "$name" "$t" "$med" "$(echo $vals)" "${loads:+  load: $loads}"
  done
}
