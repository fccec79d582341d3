#!/usr/bin/env bash
# fresh-machine.sh runs .ci/run on a clean clone inside a freshly
# bootstrapped Debian 12 root (debootstrap), so that a test which needs a
# package that only this machine has installed by hand fails here as it
# would on a new CI machine. The root has no XMPP server: .ci/run must
# install everything itself through scripts/install-servers.sh.
#
# The host's Go (GOROOT, read-only) and module cache are mounted into the
# root, so that Debian's packages are all it downloads. The servers the
# tests start listen on 127.0.0.1 only, as everywhere.
#
# Usage (as root): scripts/fresh-machine.sh [DIR]
#   DIR defaults to a new temporary folder, removed afterwards unless
#   KEEP_ROOT=1.
# Needs: debootstrap (installed by this script when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

if [ "$(id -u)" -ne 0 ]; then
	echo "fresh-machine: must run as root (debootstrap, chroot, mounts)" >&2
	exit 1
fi
if ! command -v debootstrap >/dev/null 2>&1; then
	DEBIAN_FRONTEND=noninteractive apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
fi

root=${1:-$(mktemp -d /tmp/parley-fresh.XXXXXX)}
goroot=$(go env GOROOT)
modcache=$(go env GOMODCACHE)
mounts=()
cleanup() {
	for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
		umount -l "${mounts[$i]}" 2>/dev/null || true
	done
	if [ -z "${KEEP_ROOT:-}" ]; then
		rm -rf --one-file-system "$root"
	fi
}
trap cleanup EXIT

echo "fresh-machine: bootstrapping Debian 12 into $root"
debootstrap --variant=minbase --include=ca-certificates,git,gcc,libc6-dev bookworm "$root" http://deb.debian.org/debian >/dev/null
cp /etc/resolv.conf "$root/etc/resolv.conf"
printf 'deb http://deb.debian.org/debian bookworm main\ndeb http://deb.debian.org/debian bookworm-updates main\ndeb http://deb.debian.org/debian-security bookworm-security main\n' >"$root/etc/apt/sources.list"

bind() { # bind SRC DST [ro]
	mkdir -p "$2"
	mount --bind "$1" "$2"
	mounts+=("$2")
	if [ "${3:-}" = ro ]; then
		mount -o remount,bind,ro "$2"
	fi
}
mount -t proc proc "$root/proc"
mounts+=("$root/proc")
bind /dev "$root/dev"
bind "$goroot" "$root/usr/local/go" ro
bind "$modcache" "$root/root/go/pkg/mod"

git clone -q "$repo" "$root/root/parley"
echo "fresh-machine: running .ci/run in the fresh root"
chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/local/go/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	GOMODCACHE=/root/go/pkg/mod GOCACHE=/root/.cache/go-build GOTOOLCHAIN=local /bin/bash -c 'cd /root/parley && time .ci/run'
