#!/bin/sh
# Install the Debian packages catrace needs to build, test and run.
# Idempotent: packages already present are skipped by apt; apt-get update
# runs only when something is missing, so repeated runs are quick.
set -eu

PKGS="make gcc clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev \
libpcap-dev libcmocka-dev tshark tcpdump python3 python3-pyepics \
iproute2 ethtool jq pkg-config g++ dpkg-dev xz-utils perl libclang-rt-14-dev bc \
prometheus curl libncurses-dev \
man-db groff-base bash-completion libcap2-bin"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done

if [ -z "$missing" ]; then
	exit 0
fi

if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing packages:$missing (run as root to install)" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer for it.
echo "wireshark-common wireshark-common/install-setuid boolean false" |
	debconf-set-selections
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing
