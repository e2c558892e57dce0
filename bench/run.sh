#!/usr/bin/env bash
# End-to-end benchmark (`npm run bench`): iscsi-sim and, when installed, tgtd side by side in one run,
# each with a 1 GiB sparse file LUN on loopback, driven by two real initiators: QEMU's iSCSI driver
# (`qemu-img bench`) and libiscsi's `iscsi-perf`. Prints a Markdown table.
#
#   env: SCALE=1      multiplies request counts and durations (SCALE=0.25 for a quick run)
#        PORT_BASE=13310  iscsi-sim listens on PORT_BASE, tgtd on PORT_BASE+1
#        KEEP_TMP=1   keep the temp dir (LUN files, server logs)
# Needs qemu-utils + qemu-block-extra and libiscsi-bin; tgt is optional.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
scale=${SCALE:-1}
port_sim=${PORT_BASE:-13310}
port_tgt=$((port_sim + 1))
tgt_control=$port_tgt   # tgtd's management socket suffix (-C), so other tgtd instances are left alone
iqn_sim=iqn.2026-11.org.iscsi-sim:bench
iqn_tgt=iqn.2026-11.org.iscsi-sim:bench-tgtd
say() { echo "bench: $*" >&2; }

for tool in qemu-img iscsi-perf; do
  command -v "$tool" >/dev/null || { say "$tool missing (Debian packages qemu-utils qemu-block-extra libiscsi-bin)"; exit 2; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/iscsi-sim-bench.XXXXXX")
pids=()
cleanup() {
  local pid
  if [[ -n ${tgt_started:-} ]]; then   # tgtd ignores SIGTERM while it has targets
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

# ---- the targets
node "$root/bin/iscsi-sim.js" serve --listen "127.0.0.1:$port_sim" --iqn "$iqn_sim" \
  --lun "$tmp/sim.img:1G" --state-dir "$tmp/state" > "$tmp/iscsi-sim.log" 2>&1 &
pids+=($!); disown
wait_port "$port_sim" || { say "iscsi-sim did not start; log:"; tail -20 "$tmp/iscsi-sim.log" >&2; exit 1; }
urls=("iscsi://127.0.0.1:$port_sim/$iqn_sim/0")
names=(iscsi-sim)

if command -v tgtd >/dev/null && command -v tgtadm >/dev/null; then
  truncate -s 1G "$tmp/tgt.img"
  tgtd -f -C "$tgt_control" --iscsi "portal=127.0.0.1:$port_tgt" > "$tmp/tgtd.log" 2>&1 &
  pids+=($!); disown; tgt_started=1
  adm() { tgtadm -C "$tgt_control" --lld iscsi "$@"; }
  ok=
  for _ in $(seq 50); do adm --op show --mode target >/dev/null 2>&1 && { ok=1; break; }; sleep 0.1; done
  if [[ -n $ok ]] && adm --op new --mode target --tid 1 -T "$iqn_tgt" \
      && adm --op new --mode logicalunit --tid 1 --lun 1 --bstype rdwr -b "$tmp/tgt.img" \
      && adm --op bind --mode target --tid 1 -I ALL && wait_port "$port_tgt"; then
    urls+=("iscsi://127.0.0.1:$port_tgt/$iqn_tgt/1")   # tgtd's LUN 0 is its controller
    names+=(tgtd)
  else
    say "tgtd did not start; measuring iscsi-sim only"
  fi
else
  say "tgtd not installed (Debian package tgt); measuring iscsi-sim only"
fi

# ---- workloads: name count depth size step [-w]; each prints "MB/s IOPS" (or "error")
count() {   # COUNT scaled; a warm-up (SCALE_WARM set) runs 1/8 of the unscaled count
  awk -v a="$1" -v s="$scale" -v w="${SCALE_WARM:-}" 'BEGIN{v=(w != "") ? int(a/8) : int(a*s); if (v<64) v=64; print v}'
}
qemu_bench() {   # qemu_bench URL COUNT DEPTH SIZE STEP [-w]
  local url=$1 n; n=$(count "$2")
  local secs
  secs=$(timeout 120 qemu-img bench -f raw -c "$n" -d "$3" -s "$4" -S "$5" ${6:-} "$url" 2>&1 \
    | sed -n 's/^Run completed in \([0-9.]*\) seconds\./\1/p') || true
  [[ -n $secs ]] || { echo "error error"; return; }
  awk -v c="$n" -v s="$4" -v t="$secs" 'BEGIN{printf "%.0f %.0f\n", c*s/t/1e6, c/t}'
}
perf_randread() {   # perf_randread URL: libiscsi random 4 KiB reads, 32 in flight
  local secs; secs=$(awk -v s="$scale" 'BEGIN{v=int(5*s); if (v<2) v=2; print v}')
  local r
  r=$(timeout $((secs + 20)) iscsi-perf -m 32 -b 8 -r -t "$secs" "$1" 2>&1 | tr '\r' '\n' \
    | sed -n 's/^iops average \([0-9]*\) (\([0-9]*\) MB\/s).*/\2 \1/p' | tail -n 1) || true
  echo "${r:-error error}"
}

workloads=(
  "seq-write 64 KiB qd16|qemu_bench URL 16384 16 65536 65536 -w"
  "seq-read 64 KiB qd16|qemu_bench URL 16384 16 65536 65536"
  "write 4 KiB qd32 (1 MiB stride)|qemu_bench URL 50000 32 4096 1048576 -w"
  "seq-read 4 KiB qd32|qemu_bench URL 100000 32 4096 4096"
  "rand-read 4 KiB qd32 (iscsi-perf)|perf_randread URL"
)

# Prefill both LUNs so reads hit written blocks, not holes.
for url in "${urls[@]}"; do qemu_bench "$url" 1024 16 1048576 1048576 -w > /dev/null; done
# Warm-up, the same for both targets (results discarded): iscsi-sim's JIT compiles its hot path
# during the first few thousand I/Os, and a cold first row would measure that instead of the path.
for url in "${urls[@]}"; do
  for w in "${workloads[@]}"; do
    cmd=${w#*|}
    [[ $cmd == qemu_bench* ]] || continue
    eval "SCALE_WARM=1 ${cmd//URL/$url}" > /dev/null
  done
done

header="| workload |"; rule="|---|"
for n in "${names[@]}"; do header+=" $n MB/s | $n IOPS |"; rule+="---:|---:|"; done
[[ ${#names[@]} -gt 1 ]] && { header+=" ratio (iscsi-sim / tgtd) |"; rule+="---:|"; }
echo "$header"; echo "$rule"
for w in "${workloads[@]}"; do
  label=${w%%|*}; cmd=${w#*|}
  row="| $label |"; firsts=()
  for url in "${urls[@]}"; do
    # Each measurement starts with no dirty pages: otherwise whichever target runs second pays for
    # the first one's writeback (and the first for the prefill's).
    sync
    read -r mbs iops < <(eval "${cmd//URL/$url}")
    row+=" $mbs | $iops |"; firsts+=("$iops")
  done
  if [[ ${#names[@]} -gt 1 ]]; then
    row+=" $(awk -v a="${firsts[0]}" -v b="${firsts[1]}" 'BEGIN{ if (a+0>0 && b+0>0) printf "%.2f", a/b; else print "n/a" }') |"
  fi
  echo "$row"
done
say "SCALE=$scale, $(nproc) CPUs, load average $(cut -d" " -f1-3 /proc/loadavg), node $(node --version), $(qemu-img --version | head -n1)"
