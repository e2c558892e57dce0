#!/bin/sh
# /init of the kernel-initiator test guest (built by build.sh).  Drives the Linux iSCSI initiator
# (open-iscsi + iscsi_tcp) against a portal on the host and prints one line per step:
#   GUEST-OK <step> [detail]   |   GUEST-FAIL <step> [detail]   ...   GUEST-DONE pass=N fail=N
# Kernel command line parameters:
#   isim.portal=IP:PORT        portal to discover and log in through (10.0.2.2 = host loopback)
#   isim.iqn=IQN               target to use (default: first one SendTargets lists)
#   isim.chap=USER:SECRET      CHAP for the normal session (initiator authenticates to the target)
#   isim.mchap=USER:SECRET     mutual CHAP: the target's credentials the initiator checks
#   isim.dchap=USER:SECRET     CHAP for the discovery session
#   isim.digest=CRC32C         ask for header and data digests on the normal session
#   isim.debug=N               iscsid debug level; its log is printed at the end
#   isim.faults=BAD:DROP       fault injection run instead of the I/O steps: reading 512-byte LBA BAD
#                              (8-aligned; BAD..BAD+7 are bad) must fail while the rest reads; a write at LBA DROP
#                              (where the target drops the connection once) must still complete after
#                              the initiator logs in again
#   isim.probe                 print GUEST-PROBE-OK and power off (accelerator probe)
export PATH=/sbin:/bin
echo   # firmware leaves the cursor mid-line; GUEST-* lines must start at column 0
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
param() { tr ' ' '\n' < /proc/cmdline | sed -n "s/^isim\.$1=//p" | head -n1; }
grep -q 'isim\.probe' /proc/cmdline && { echo GUEST-PROBE-OK; poweroff -f; }

portal=$(param portal); want=$(param iqn); chap=$(param chap); mchap=$(param mchap)
dchap=$(param dchap); digest=$(param digest); debug=$(param debug); faults=$(param faults)
passed=0; failed=0
ok()   { passed=$((passed + 1)); echo "GUEST-OK $*"; }
fail() { failed=$((failed + 1)); echo "GUEST-FAIL $*"; }
run()  { name=$1; shift; out=$("$@" 2>&1); rc=$?; [ $rc -eq 0 ] && ok "$name" || { echo "$out" | sed "s/^/GUEST-LOG $name: /"; fail "$name rc=$rc"; }; return $rc; }
done_() {
  if [ "$failed" -gt 0 ] || [ -n "$debug" ]; then
    sed 's/^/GUEST-ISCSID /' /tmp/iscsid.log; dmesg | grep -iE 'iscsi|connection[0-9]|sd [0-9]' | sed 's/^/GUEST-DMESG /'
  fi
  echo "GUEST-DONE pass=$passed fail=$failed"; sync; poweroff -f
}
[ -n "$portal" ] || { fail "params no isim.portal"; done_; }

while read -r m; do
  case $m in \?*) insmod "${m#?}" 2>/dev/null ;; *) insmod "$m" || fail "insmod $m" ;; esac
done < /etc/modules.list
# Only 10.0.2.0/24 and no default route: QEMU user networking maps 10.0.2.2 to the host's 127.0.0.1.
ip link set lo up; ip link set eth0 up; ip addr add 10.0.2.15/24 dev eth0

/sbin/iscsid -f ${debug:+-d $debug} > /tmp/iscsid.log 2>&1 &
i=0; while [ $i -lt 100 ] && ! grep -q ISCSIADM_ABSTRACT_NAMESPACE /proc/net/unix; do sleep 0.1; i=$((i + 1)); done
run iscsid grep -q ISCSIADM_ABSTRACT_NAMESPACE /proc/net/unix || done_

# set_auth MODE-ARGS... PREFIX USER:SECRET [mutual USER:SECRET]: write CHAP settings into a db record
set_auth() {
  rec=$1; prefix=$2; cred=$3; mcred=$4
  $rec -o update -n "$prefix.authmethod" -v CHAP &&
  $rec -o update -n "$prefix.username" -v "${cred%%:*}" &&
  $rec -o update -n "$prefix.password" -v "${cred#*:}" &&
  if [ -n "$mcred" ]; then
    $rec -o update -n "$prefix.username_in" -v "${mcred%%:*}" &&
    $rec -o update -n "$prefix.password_in" -v "${mcred#*:}"
  fi
}

# --- discovery (RFC 7143 §12.3 SendTargets) ---
if [ -n "$dchap" ]; then
  disc="iscsiadm -m discoverydb -t sendtargets -p $portal"
  $disc -o new > /dev/null 2>&1
  set_auth "$disc" discovery.sendtargets.auth "$dchap" "" > /tmp/disc 2>&1 && $disc --discover > /tmp/disc 2>&1
else
  iscsiadm -m discovery -t sendtargets -p "$portal" > /tmp/disc 2>&1
fi
rc=$?
sed 's/^/GUEST-DISC /' /tmp/disc
line=$(grep -E " (iqn|eui|naa)\." /tmp/disc | { if [ -n "$want" ]; then grep " $want\$"; else cat; fi; } | head -n1)
[ $rc -eq 0 ] && [ -n "$line" ] && ok discovery || { fail "discovery rc=$rc"; done_; }
iqn=${line##* }; advertised=${line%% *}; tpgt=${advertised##*,}
# The target advertises its own address (127.0.0.1:PORT), unreachable from here: make a node record
# for the portal we can reach, keeping the advertised portal group tag.
node="iscsiadm -m node -T $iqn -p $portal"
if [ "${advertised%,*}" != "$portal" ]; then
  run node-record iscsiadm -m node -o new -T "$iqn" -p "$portal,$tpgt" || done_
fi
if [ -n "$digest" ]; then
  run digest-config sh -c "$node -o update -n 'node.conn[0].iscsi.HeaderDigest' -v $digest && $node -o update -n 'node.conn[0].iscsi.DataDigest' -v $digest" || done_
fi
if [ -n "$chap" ]; then run chap-config set_auth "$node" node.session.auth "$chap" "$mchap" || done_; fi

# --- login ---
$node --login > /tmp/login 2>&1; rc=$?
sed 's/^/GUEST-LOGIN /' /tmp/login
[ $rc -eq 0 ] && ok login || { fail "login rc=$rc"; done_; }
blk=; i=0
while [ -z "$blk" ] && [ $i -lt 100 ]; do
  for b in /sys/class/iscsi_session/session*/device/target*/*/block/*; do [ -e "$b" ] && blk=$b && break; done
  [ -n "$blk" ] || sleep 0.1; i=$((i + 1))
done
[ -n "$blk" ] && ok "disk /dev/${blk##*/} sectors=$(cat "$blk/size")" || { fail disk; done_; }
dev=/dev/${blk##*/}
for f in /sys/class/iscsi_connection/connection*/header_digest /sys/class/iscsi_connection/connection*/data_digest \
         /sys/class/iscsi_connection/connection*/max_recv_dlength /sys/class/iscsi_session/session*/max_burst_len; do
  [ -e "$f" ] && echo "GUEST-NEG ${f##*/}=$(cat "$f")"
done

# --- fault injection (the target's rules come from its config) ---
if [ -n "$faults" ]; then
  bad=${faults%%:*}; drop=${faults#*:}
  out=$(dd if="$dev" of=/dev/null bs=512 skip="$bad" count=1 iflag=direct 2>&1); rc=$?
  echo "$out" | sed 's/^/GUEST-LOG bad-lba: /'
  # Linux fails a MEDIUM ERROR read with ENODATA ("No data available", BLK_STS_MEDIUM), other errors with EIO.
  err=$(echo "$out" | grep -oE 'Input/output error|No data available' | head -n1)
  if [ $rc -ne 0 ] && [ -n "$err" ] && dmesg | grep -q "critical medium error, dev ${dev#/dev/}, sector $bad "; then
    ok "bad-lba-fails rc=$rc ($err; kernel: critical medium error, sector $bad)"
  else fail "bad-lba-fails rc=$rc"; fi
  run before-bad-reads dd if="$dev" of=/dev/null bs=4096 count=$((bad / 8)) iflag=direct
  run after-bad-reads dd if="$dev" of=/dev/null bs=4096 skip=$((bad / 8 + 1)) count=1024 iflag=direct
  dd if=/dev/urandom of=/tmp/pattern bs=4096 count=64 2>/dev/null
  run drop-write dd if=/tmp/pattern of="$dev" bs=4096 seek=$((drop / 8)) count=64 oflag=direct conv=fsync
  echo 3 > /proc/sys/vm/drop_caches
  run drop-readback sh -c "dd if=$dev of=/tmp/readback bs=4096 skip=$((drop / 8)) count=64 iflag=direct 2>/dev/null && cmp /tmp/pattern /tmp/readback"
  if dmesg | grep -qiE 'conn(ection)? ?error|detected conn error'; then ok "relogin $(dmesg | grep -ciE 'detected conn error') connection error(s)"; else fail relogin; fi
  dmesg | grep -iE 'iscsi|connection[0-9]|sd [0-9]|I/O error|Medium Error|Sense' | sed 's/^/GUEST-DMESG /'
  run logout $node --logout
  done_
fi

# --- raw I/O, bypassing the page cache both ways ---
dd if=/dev/urandom of=/tmp/pattern bs=1M count=8 2>/dev/null
run raw-write dd if=/tmp/pattern of="$dev" bs=1M count=8 oflag=direct conv=fsync
echo 3 > /proc/sys/vm/drop_caches
run raw-read dd if="$dev" of=/tmp/readback bs=1M count=8 iflag=direct
run raw-compare cmp /tmp/pattern /tmp/readback
rm -f /tmp/pattern /tmp/readback

# --- filesystem ---
run mkfs mkfs.ext4 -q -F "$dev"
run mount mount -t ext4 "$dev" /mnt
run fs-write sh -c 'dd if=/dev/urandom of=/mnt/data bs=1M count=16 2>/dev/null && sha256sum /mnt/data > /tmp/sum && sync'
run umount umount /mnt
run e2fsck e2fsck -fn "$dev"
echo 3 > /proc/sys/vm/drop_caches
run remount mount -t ext4 -o ro "$dev" /mnt
run fs-verify sha256sum -c -s /tmp/sum
umount /mnt 2>/dev/null

# --- logout ---
run logout $node --logout
done_
