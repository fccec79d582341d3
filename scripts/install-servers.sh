#!/usr/bin/env bash
# install-servers.sh installs the XMPP servers that Parley's interop tests
# start on 127.0.0.1, and the third-party client some of them drive, from
# the distribution's packages (Debian 12 / Ubuntu): Prosody with
# lua-unbound and its community modules (prosody-modules, for
# mod_privacy_lists), ejabberd, and slixmpp (python3-slixmpp, a Python
# XMPP library examples/echobot's interop test runs against the bot, with
# the system's /usr/bin/python3). Without arguments it installs
# everything the interop tests need. It does nothing else.
#
# It is idempotent: when every package is already installed it returns at
# once without touching apt. The distribution's services are never started:
# while installing, a temporary /usr/sbin/policy-rc.d that exits 101 forbids
# it (unless one already exists, which is then left alone). Parley's test
# helper (internal/testkit/xmppd) runs its own instances with their own
# configuration, ports and state directories.
#
# Usage: scripts/install-servers.sh            # all the interop tests need
#        scripts/install-servers.sh prosody    # only Prosody and its modules
#        scripts/install-servers.sh ejabberd   # only ejabberd
#        scripts/install-servers.sh clients    # only the third-party client
set -euo pipefail

want=("$@")
if [ "${#want[@]}" -eq 0 ]; then
	want=(prosody ejabberd clients)
fi

packages=()
for server in "${want[@]}"; do
	case "$server" in
	# prosody-modules has mod_privacy_lists (internal/testkit/xmppd,
	# Options.PrivacyLists); Prosody's core has no privacy lists.
	prosody) packages+=(prosody lua-unbound prosody-modules) ;;
	ejabberd) packages+=(ejabberd) ;;
	# A client no one here wrote, for examples/echobot's interop test
	# (examples/echobot/testdata/slixclient.py).
	clients) packages+=(python3-slixmpp) ;;
	*)
		echo "install-servers: unknown set '$server' (want prosody, ejabberd or clients)" >&2
		exit 2
		;;
	esac
done

installed() {
	[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" = installed ]
}

missing=()
for pkg in "${packages[@]}"; do
	if ! installed "$pkg"; then
		missing+=("$pkg")
	fi
done
if [ "${#missing[@]}" -eq 0 ]; then
	echo "install-servers: already installed: ${packages[*]}"
	exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
	if ! command -v sudo >/dev/null 2>&1; then
		echo "install-servers: must run as root (or with sudo available)" >&2
		exit 1
	fi
	sudo=(sudo)
fi

# Keep the distribution's services from starting during the installation.
policy=/usr/sbin/policy-rc.d
remove_policy=false
cleanup() {
	if [ "$remove_policy" = true ]; then
		"${sudo[@]}" rm -f "$policy"
	fi
}
trap cleanup EXIT
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\n# Temporary, from Parley scripts/install-servers.sh.\nexit 101\n' |
		"${sudo[@]}" tee "$policy" >/dev/null
	"${sudo[@]}" chmod 755 "$policy"
	remove_policy=true
fi

echo "install-servers: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	--no-install-recommends "${missing[@]}" >/dev/null

for pkg in "${missing[@]}"; do
	if ! installed "$pkg"; then
		echo "install-servers: $pkg did not install" >&2
		exit 1
	fi
done
echo "install-servers: installed ${missing[*]}"
