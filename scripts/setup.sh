#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian/Ubuntu machine: Node.js >= 20, the Debian packages the tests
# and the lab use, and node_modules (npm ci when missing or older than package-lock.json).
# As root it installs what is missing; otherwise it names what is missing and carries on.
set -uo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(redis-server libiscsi-bin qemu-utils qemu-block-extra qemu-system-x86 tgt sblim-wbemcli openssl
  busybox-static cpio e2fsprogs kmod xz-utils zstd iproute2 chromium)
NODE_MAJOR_MIN=20

say() { echo "setup: $*" >&2; }
is_root() { [ "$(id -u)" = 0 ]; }
apt_updated=0
apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  if [ "$apt_updated" = 0 ]; then
    apt-get update -qq >/dev/null || say "apt-get update failed"
    apt_updated=1
  fi
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# --- Debian packages -------------------------------------------------------------------------------
missing=()
if command -v dpkg-query >/dev/null; then
  for pkg in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
fi
if [ ${#missing[@]} -gt 0 ]; then
  if is_root && command -v apt-get >/dev/null; then
    say "installing ${missing[*]}"
    apt_install "${missing[@]}" || say "could not install all of: ${missing[*]} (tests needing them will skip)"
  else
    say "missing Debian packages: ${missing[*]}"
    say "install them with: sudo apt-get install -y --no-install-recommends ${missing[*]}"
    say "continuing with what is installed; tests needing them will skip"
  fi
fi

# --- Node.js ---------------------------------------------------------------------------------------
node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ "$(node_major)" -lt "$NODE_MAJOR_MIN" ]; then
  if is_root && command -v apt-get >/dev/null; then
    apt_install nodejs npm || true
  fi
  if [ "$(node_major)" -lt "$NODE_MAJOR_MIN" ]; then
    say "Node.js >= $NODE_MAJOR_MIN is required (found: $(node --version 2>/dev/null || echo none)): install it from your distribution or NodeSource, then run this again"
    exit 1
  fi
fi

# --- node_modules ----------------------------------------------------------------------------------
# npm writes node_modules/.package-lock.json on every install: older than package-lock.json = stale.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "npm ci"
  npm ci --no-audit --no-fund --loglevel=error || { say "npm ci failed"; exit 1; }
fi
exit 0
