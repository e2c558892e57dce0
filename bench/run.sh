#!/usr/bin/env bash
# End-to-end benchmark (`npm run bench`): iscsi-sim and, when installed, tgtd side by side in one run,
# each with a 1 GiB sparse file LUN on loopback, driven by the same real initiators: QEMU's iSCSI
# driver (`qemu-img bench`) and libiscsi's `iscsi-perf`, plus a queue-depth-1 latency probe
# (bench/latency.ts). Every workload runs ROUNDS times; within a round each target runs the workload
# right after the other, and the order of the targets turns every round. Prints Markdown tables of the
# medians: MB/s, IOPS, target CPU-seconds per GiB moved (utime+stime of the target process and its
# threads/children, from /proc: far less sensitive to other load on the machine than MB/s) and the
# ratios to tgtd; then qd1 4 KiB write/read latency p50/p99. Each round's figures go to stderr.
#
#   env: SCALE=1      multiplies request counts and durations (SCALE=0.25 for a quick run)
#        ROUNDS=3     rounds (medians reported)
#        PORT_BASE=13310  targets listen on PORT_BASE, PORT_BASE+1, PORT_BASE+2
#        SIM_NODE_OPTIONS  extra node flags for iscsi-sim (e.g. "--max-semi-space-size=16")
#        SIM_B_ROOT=DIR / SIM_B_NODE_OPTIONS / SIM_B_ENV  add a second iscsi-sim (another checkout, e.g.
#                     an older commit from `git archive`, other node flags, and/or environment
#                     assignments such as "UV_THREADPOOL_SIZE=2") to the same alternating run
#        ONLY=REGEX   run only the workloads whose name matches (e.g. ONLY=write)
#        KEEP_TMP=1   keep the temp dir (LUN files, server logs, raw results)
# Needs qemu-utils + qemu-block-extra and libiscsi-bin; tgt is optional.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
scale=${SCALE:-1}
rounds=${ROUNDS:-3}
port_base=${PORT_BASE:-13310}
iqn_sim=iqn.2026-11.org.iscsi-sim:bench
iqn_tgt=iqn.2026-11.org.iscsi-sim:bench-tgtd
tick=$(getconf CLK_TCK)
say() { echo "bench: $*" >&2; }

for tool in qemu-img iscsi-perf; do
  command -v "$tool" >/dev/null || { say "$tool missing (Debian packages qemu-utils qemu-block-extra libiscsi-bin)"; exit 2; }
done
[[ $rounds =~ ^[1-9][0-9]*$ ]] || { say "ROUNDS must be a positive integer (got '$rounds')"; exit 2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/iscsi-sim-bench.XXXXXX")
pids=()
cleanup() {
  local pid
  if [[ -n ${tgt_control:-} ]]; then   # tgtd ignores SIGTERM while it has targets
    tgtadm -C "$tgt_control" --lld iscsi --op delete --mode target --tid 1 --force >/dev/null 2>&1 || true
    tgtadm -C "$tgt_control" --op delete --mode system >/dev/null 2>&1 || true
  fi
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  if [[ -n ${KEEP_TMP:-} ]]; then say "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_port() {   # wait_port PORT: until something accepts TCP connections there (bounded: 30 s)
  for _ in $(seq 150); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.2
  done
  return 1
}

# CPU ticks (user + system, all threads) used so far by PID and its descendants.
cpu_ticks() {
  local total=0 p t
  for p in $(descendants "$1"); do
    t=$(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13}') || t=0
    total=$((total + ${t:-0}))
  done
  echo "$total"
}
descendants() {
  local c
  echo "$1"
  for c in $(pgrep -P "$1" 2>/dev/null); do descendants "$c"; done
}

# ---- the targets: names[i], urls[i], tpids[i]
names=(); urls=(); tpids=()
start_sim() {   # start_sim NAME ROOT NODE_OPTIONS PORT [ENV assignments]
  local name=$1 dir=$2 opts=$3 port=$4 assignments=${5:-}
  # shellcheck disable=SC2086  # flags and assignments are word-split on purpose
  env $assignments node $opts "$dir/bin/iscsi-sim.js" serve --listen "127.0.0.1:$port" --iqn "$iqn_sim" \
    --lun "$tmp/$name.img:1G" --state-dir "$tmp/$name.state" > "$tmp/$name.log" 2>&1 &
  local pid=$!
  pids+=("$pid"); disown
  wait_port "$port" || { say "$name did not start; log:"; tail -20 "$tmp/$name.log" >&2; exit 1; }
  names+=("$name"); urls+=("iscsi://127.0.0.1:$port/$iqn_sim/0"); tpids+=("$pid")
}
start_sim iscsi-sim "$root" "${SIM_NODE_OPTIONS:-}" "$port_base"
if [[ -n ${SIM_B_ROOT:-}${SIM_B_NODE_OPTIONS:-}${SIM_B_ENV:-} ]]; then
  start_sim iscsi-sim-B "${SIM_B_ROOT:-$root}" "${SIM_B_NODE_OPTIONS:-}" $((port_base + 1)) "${SIM_B_ENV:-}"
  say "iscsi-sim-B: ${SIM_B_ROOT:-$root} ${SIM_B_ENV:-} node ${SIM_B_NODE_OPTIONS:-(no extra flags)}"
fi

port_tgt=$((port_base + 2))
if command -v tgtd >/dev/null && command -v tgtadm >/dev/null; then
  tgt_control=$port_tgt   # tgtd's management socket suffix (-C): other tgtd instances are left alone
  truncate -s 1G "$tmp/tgt.img"
  tgtd -f -C "$tgt_control" --iscsi "portal=127.0.0.1:$port_tgt" > "$tmp/tgtd.log" 2>&1 &
  tgt_pid=$!
  pids+=("$tgt_pid"); disown
  adm() { tgtadm -C "$tgt_control" --lld iscsi "$@"; }
  ok=
  for _ in $(seq 50); do adm --op show --mode target >/dev/null 2>&1 && { ok=1; break; }; sleep 0.1; done
  if [[ -n $ok ]] && adm --op new --mode target --tid 1 -T "$iqn_tgt" \
      && adm --op new --mode logicalunit --tid 1 --lun 1 --bstype rdwr -b "$tmp/tgt.img" \
      && adm --op bind --mode target --tid 1 -I ALL && wait_port "$port_tgt"; then
    names+=(tgtd); urls+=("iscsi://127.0.0.1:$port_tgt/$iqn_tgt/1"); tpids+=("$tgt_pid")   # LUN 0 is tgtd's controller
  else
    say "tgtd did not start; measuring iscsi-sim only"
  fi
else
  say "tgtd not installed (Debian package tgt); measuring iscsi-sim only"
fi

# ---- workloads; each prints "MB/s IOPS BYTES" (or "error")
count() {   # COUNT scaled; a warm-up (SCALE_WARM set) runs 1/8 of the unscaled count
  awk -v a="$1" -v s="$scale" -v w="${SCALE_WARM:-}" 'BEGIN{v=(w != "") ? int(a/8) : int(a*s); if (v<64) v=64; print v}'
}
qemu_bench() {   # qemu_bench URL COUNT DEPTH SIZE STEP [-w]
  local url=$1 n; n=$(count "$2")
  local secs
  secs=$(timeout 120 qemu-img bench -f raw -c "$n" -d "$3" -s "$4" -S "$5" ${6:-} "$url" 2>&1 \
    | sed -n 's/^Run completed in \([0-9.]*\) seconds\./\1/p') || true
  [[ -n $secs ]] || { echo "error"; return; }
  awk -v c="$n" -v s="$4" -v t="$secs" 'BEGIN{printf "%.0f %.0f %.0f\n", c*s/t/1e6, c/t, c*s}'
}
perf_randread() {   # perf_randread URL: libiscsi random 4 KiB reads, 32 in flight
  local secs; secs=$(awk -v s="$scale" 'BEGIN{v=int(5*s); if (v<2) v=2; print v}')
  local r
  r=$(timeout $((secs + 20)) iscsi-perf -m 32 -b 8 -r -t "$secs" "$1" 2>&1 | tr '\r' '\n' \
    | sed -n 's/^iops average \([0-9]*\) (\([0-9]*\) MB\/s).*/\2 \1/p' | tail -n 1) || true
  [[ -n $r ]] || { echo "error"; return; }
  awk -v r="$r" -v t="$secs" 'BEGIN{split(r, a, " "); printf "%s %s %.0f\n", a[1], a[2], a[2]*t*4096}'
}
latency_count() { awk -v s="$scale" 'BEGIN{v=int(2000*s); if (v<200) v=200; print v}'; }

workloads=(
  "seq-write 64 KiB qd16|qemu_bench URL 16384 16 65536 65536 -w"
  "write 4 KiB qd32 (1 MiB stride)|qemu_bench URL 50000 32 4096 1048576 -w"
  "seq-write 4 KiB qd32|qemu_bench URL 100000 32 4096 4096 -w"
  "seq-read 64 KiB qd16|qemu_bench URL 16384 16 65536 65536"
  "seq-read 4 KiB qd32|qemu_bench URL 100000 32 4096 4096"
  "rand-read 4 KiB qd32 (iscsi-perf)|perf_randread URL"
)
if [[ -n ${ONLY:-} ]]; then
  kept=()
  for w in "${workloads[@]}"; do [[ ${w%%|*} =~ $ONLY ]] && kept+=("$w"); done
  workloads=("${kept[@]}")
fi

# Prefill every LUN so reads hit written blocks, not holes.
for url in "${urls[@]}"; do qemu_bench "$url" 1024 16 1048576 1048576 -w > /dev/null; done
# Warm-up, the same for every target (results discarded): iscsi-sim's JIT compiles its hot path
# during the first few thousand I/Os, and a cold first round would measure that instead of the path.
for url in "${urls[@]}"; do
  for w in "${workloads[@]}"; do
    cmd=${w#*|}
    [[ $cmd == qemu_bench* ]] || continue
    eval "SCALE_WARM=1 ${cmd//URL/$url}" > /dev/null
  done
done

results=$tmp/results   # lines: KIND WORKLOAD_INDEX TARGET_INDEX ROUND values...
: > "$results"
n_targets=${#names[@]}
for ((round = 1; round <= rounds; round++)); do
  say "round $round/$rounds, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  for ((wi = 0; wi < ${#workloads[@]}; wi++)); do
    w=${workloads[$wi]}; label=${w%%|*}; cmd=${w#*|}
    for ((k = 0; k < n_targets; k++)); do
      ti=$(((k + round - 1) % n_targets))   # the first target turns every round
      # Each measurement starts with no dirty pages: otherwise whichever target runs second pays for
      # the first one's writeback (and the first for the prefill's).
      sync
      before=$(cpu_ticks "${tpids[$ti]}")
      out=$(eval "${cmd//URL/${urls[$ti]}}")
      after=$(cpu_ticks "${tpids[$ti]}")
      if [[ $out == error ]]; then say "$label on ${names[$ti]} failed"; continue; fi
      read -r mbs iops bytes <<< "$out"
      cpu=$(awk -v t=$((after - before)) -v hz="$tick" -v b="$bytes" 'BEGIN{printf "%.2f", (t/hz) / (b/1073741824)}')
      echo "io $wi $ti $round $mbs $iops $cpu" >> "$results"
      say "  $label | ${names[$ti]} | $mbs MB/s | $iops IOPS | $cpu CPU-s/GiB"
    done
  done
  for ((k = 0; k < n_targets; k++)); do
    ti=$(((k + round - 1) % n_targets))
    out=$(timeout 300 npx --no-install tsx "$here/latency.ts" "${urls[$ti]}" "$(latency_count)" 2>>"$tmp/latency.log") || out=
    if [[ -z $out ]]; then say "latency on ${names[$ti]} failed"; continue; fi
    echo "lat 0 $ti $round $out" >> "$results"
    say "  qd1 4 KiB latency µs (write p50 p99, read p50 p99) | ${names[$ti]} | $out"
  done
done

# ---- medians
median() {   # median KIND WORKLOAD TARGET FIELD (5 = first value)
  awk -v k="$1" -v w="$2" -v t="$3" -v f="$4" '$1==k && $2==w && $3==t {print $f}' "$results" | sort -g \
    | awk '{v[NR]=$1} END{ if (NR==0) print "n/a"; else if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2 }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a+0>0 && b+0>0) printf "%.2f", a/b; else print "n/a" }'; }
tgt_index=-1
for ((ti = 0; ti < n_targets; ti++)); do [[ ${names[$ti]} == tgtd ]] && tgt_index=$ti; done

echo "| workload | target | MB/s | IOPS | CPU-s/GiB | IOPS ÷ tgtd | CPU/GiB ÷ tgtd |"
echo "|---|---|---:|---:|---:|---:|---:|"
for ((wi = 0; wi < ${#workloads[@]}; wi++)); do
  label=${workloads[$wi]%%|*}
  for ((ti = 0; ti < n_targets; ti++)); do
    iops=$(median io "$wi" "$ti" 6); cpu=$(median io "$wi" "$ti" 7)
    r_iops=—; r_cpu=—
    if ((tgt_index >= 0 && ti != tgt_index)); then
      r_iops=$(ratio "$iops" "$(median io "$wi" "$tgt_index" 6)"); r_cpu=$(ratio "$cpu" "$(median io "$wi" "$tgt_index" 7)")
    fi
    echo "| $label | ${names[$ti]} | $(median io "$wi" "$ti" 5) | $iops | $cpu | $r_iops | $r_cpu |"
  done
done
echo
echo "| qd1 4 KiB latency (µs) | target | write p50 | write p99 | read p50 | read p99 |"
echo "|---|---|---:|---:|---:|---:|"
for ((ti = 0; ti < n_targets; ti++)); do
  echo "| bench/latency.ts | ${names[$ti]} | $(median lat 0 "$ti" 5) | $(median lat 0 "$ti" 6) | $(median lat 0 "$ti" 7) | $(median lat 0 "$ti" 8) |"
done
[[ -n ${KEEP_TMP:-} ]] && cp "$results" "$tmp/results.txt"
say "medians of $rounds round(s), SCALE=$scale, $(nproc) CPUs, load average at the end $(cut -d' ' -f1-3 /proc/loadavg), node $(node --version), $(qemu-img --version | head -n1)"
