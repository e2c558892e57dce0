#!/usr/bin/env bash
# Builds the kernel-initiator test guest: a Debian cloud kernel plus an initramfs holding busybox,
# open-iscsi's iscsid/iscsiadm (unpacked from their .debs, never installed on the host), e2fsprogs and
# init.sh (beside this file) as /init.  Boot it with QEMU; see guest.ts.
#
#   usage: build.sh CACHE_DIR
#   prints the directory holding vmlinuz + initrd.gz as its last stdout line; exit 3 when the guest
#   cannot be built here (no apt, no network), with the reason on stderr.
#
# Outputs live in CACHE_DIR/<hash of build.sh + init.sh>/ so an edited builder or init rebuilds and an
# unchanged one is reused instantly; downloaded .debs are shared in CACHE_DIR/debs.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${1:?usage: build.sh CACHE_DIR}
mkdir -p "$cache"; cache=$(cd "$cache" && pwd)
say() { echo "guest-build: $*" >&2; }
cannot() { say "cannot build: $*"; exit 3; }

key=$(cat "$here/build.sh" "$here/init.sh" | sha256sum | cut -c1-16)
out=$cache/$key
if [[ -s $out/vmlinuz && -s $out/initrd.gz ]]; then echo "$out"; exit 0; fi

# ---- host tools (read-only use; installed only when missing and we are root)
tools=(busybox-static e2fsprogs cpio kmod xz-utils zstd)
if ! dpkg -s "${tools[@]}" >/dev/null 2>&1; then
  [[ $(id -u) == 0 ]] || cannot "missing Debian packages ${tools[*]} (not root, cannot apt-get install)"
  say "installing ${tools[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${tools[@]}" >/dev/null \
    || cannot "apt-get install ${tools[*]} failed"
fi
command -v apt-get >/dev/null || cannot "no apt-get (not a Debian/Ubuntu host)"

# ---- downloads: the kernel, open-iscsi and the libraries it links that the host may lack
debs=$cache/debs; mkdir -p "$debs"
apt-cache show linux-image-cloud-amd64 >/dev/null 2>&1 || apt-get update -qq >/dev/null 2>&1 || true
kpkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
[[ -n $kpkg ]] || cannot "apt knows no linux-image-cloud-amd64"
fetch() {   # fetch PKG -> path of its .deb in $debs (downloaded once)
  local f; f=$(ls "$debs/$1"_*.deb 2>/dev/null | head -n1 || true)
  if [[ -z $f ]]; then
    (cd "$debs" && apt-get download -qq -o APT::Sandbox::User=root "$1" >/dev/null 2>&1) || cannot "apt-get download $1 failed"
    f=$(ls "$debs/$1"_*.deb | head -n1)
  fi
  echo "$f"
}
work=$(mktemp -d "$cache/tmp.XXXXXX"); trap 'rm -rf "$work"' EXIT
mkdir -p "$work/kernel" "$work/oi"
dpkg-deb -x "$(fetch "$kpkg")" "$work/kernel"
oilibs=$(apt-cache depends open-iscsi | awk '$1=="Depends:" && $2 ~ /^lib(isns|openiscsi)/{print $2}' | sort -u)
for p in open-iscsi $oilibs; do dpkg-deb -x "$(fetch "$p")" "$work/oi"; done
kver=$(ls "$work/kernel/lib/modules" | head -n1)
/usr/sbin/depmod -b "$work/kernel" "$kver"

# ---- root filesystem
r=$work/root
mkdir -p "$r"/{bin,sbin,etc/iscsi/nodes,etc/iscsi/send_targets,etc/iscsi/ifaces,proc,sys,dev,tmp,mnt,root,run/lock/iscsi,var/lib/iscsi,lib64}
ln -s ../run/lock "$r/var/lock"   # open-iscsi keeps its lock in /run/lock/iscsi
bb=$(dpkg -L busybox-static | grep -m1 '/busybox$')
cp "$bb" "$r/bin/busybox"
for applet in $("$r/bin/busybox" --list); do [[ $applet == busybox ]] || ln -sf busybox "$r/bin/$applet"; done

oi_libpath=$(find "$work/oi" -name '*.so*' -printf '%h\n' | sort -u | paste -sd:)
install_elf() {   # install_elf HOST_PATH GUEST_PATH: the binary plus every shared library ldd names
  cp -L "$1" "$r$2"
  local deps; deps=$(LD_LIBRARY_PATH=$oi_libpath ldd "$1")
  if grep -q 'not found' <<<"$deps"; then say "$deps"; cannot "unresolved libraries for $1"; fi
  local lib
  for lib in $(awk '/=> \//{print $3} /^[[:space:]]*\/[^ ]*ld-linux/{print $1}' <<<"$deps"); do
    # everything goes to /lib64 in the guest: one directory the loader always searches
    [[ -e $r/lib64/$(basename "$lib") ]] || cp -L "$lib" "$r/lib64/"
  done
}
install_elf "$(find "$work/oi" -path '*sbin/iscsid' -type f | head -n1)" /sbin/iscsid
install_elf "$(find "$work/oi" -path '*sbin/iscsiadm' -type f | head -n1)" /sbin/iscsiadm
install_elf "$(PATH=/usr/sbin:/sbin:$PATH command -v mke2fs)" /sbin/mke2fs
install_elf "$(PATH=/usr/sbin:/sbin:$PATH command -v e2fsck)" /sbin/e2fsck
ln -s mke2fs "$r/sbin/mkfs.ext4"   # mke2fs takes the fs type from argv[0]
mkdir -p "$r/lib"; ln -s ../lib64 "$r/lib/x86_64-linux-gnu"

# ---- kernel modules the initiator needs, decompressed, listed in load order
mdir=$r/lib/modules/$kver; mkdir -p "$mdir"; : > "$r/etc/modules.list"
for m in virtio_pci virtio_net iscsi_tcp sd_mod ext4 crc32c_generic crc32c_intel; do
  /usr/sbin/modprobe -d "$work/kernel" -S "$kver" --show-depends "$m" 2>/dev/null | awk '$1=="insmod"{print $2}'
done | awk '!seen[$0]++' | while read -r ko; do
  name=$(basename "$ko"); name=${name%.xz}; name=${name%.zst}; name=${name%.gz}
  case $ko in *.xz) xz -dc "$ko" ;; *.zst) zstd -qdc "$ko" ;; *.gz) gzip -dc "$ko" ;; *) cat "$ko" ;; esac > "$mdir/$name"
  # crc32c_intel needs SSE4.2, absent under TCG: optional ('?'); digests then use crc32c_generic
  case $name in crc32c*) echo "?/lib/modules/$kver/$name" ;; *) echo "/lib/modules/$kver/$name" ;; esac >> "$r/etc/modules.list"
done

# iscsid drops IPC peers whose uid has no passwd entry (iscsiadm then dies of SIGPIPE)
echo 'root:x:0:0:root:/root:/bin/sh' > "$r/etc/passwd"; echo 'root:x:0:' > "$r/etc/group"
echo 'InitiatorName=iqn.2026-11.org.iscsi-sim:guest' > "$r/etc/iscsi/initiatorname.iscsi"
# A throw-away guest should fail fast: few login retries, short replacement timeout, manual startup.
sed -e 's/^node\.startup = .*/node.startup = manual/' \
    -e 's|^iscsid\.startup = .*|iscsid.startup = /sbin/iscsid|' \
    -e 's/^node\.session\.initial_login_retry_max = .*/node.session.initial_login_retry_max = 2/' \
    -e 's/^node\.session\.timeo\.replacement_timeout = .*/node.session.timeo.replacement_timeout = 20/' \
    "$(find "$work/oi" -path '*etc/iscsi/iscsid.conf' | head -n1)" > "$r/etc/iscsi/iscsid.conf"
install -m 755 "$here/init.sh" "$r/init"

staged=$work/out; mkdir -p "$staged"
cp "$work/kernel/boot/vmlinuz-$kver" "$staged/vmlinuz"
(cd "$r" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -1) > "$staged/initrd.gz"
# A concurrent build of the same key may have won the race: keep its result.
mv -T "$staged" "$out" 2>/dev/null || [[ -s $out/initrd.gz ]] || cannot "could not install $out"
# Guests of older builder versions are dead weight.
find "$cache" -mindepth 1 -maxdepth 1 -type d ! -name debs ! -name "$key" ! -name 'tmp.*' -exec rm -rf {} +
say "built $out (kernel $kver, initrd $(du -h "$out/initrd.gz" | cut -f1))"
echo "$out"
