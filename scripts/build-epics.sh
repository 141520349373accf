#!/usr/bin/env bash
# Build the parts of EPICS base that catrace's end-to-end tests need
# (libCom, libca, libdbCore/libdbRecStd and the tools softIoc, caget, caput,
# camonitor, cainfo, caRepeater, casw) from Debian's epics-base source
# package, and cache the result outside the checkout.
#
# Usage: scripts/build-epics.sh
#   Prints one line: the directory holding the EPICS host binaries.
#   On failure prints one line to stderr (with the build log's path) and
#   exits non-zero.
#
# Environment:
#   CATRACE_EPICS_DIR   cache/install directory
#                       (default /var/cache/catrace/epics-base-7.0.3.1)
#   CATRACE_EPICS_SUITE Debian suite to take the source from (default bookworm)
#
# The cache is complete only when its stamp file exists. The build happens
# in a temporary directory next to the cache and is renamed into place as
# the very last step, so an interrupted build never leaves a directory that
# looks usable.
set -euo pipefail

EPICS_VERSION=7.0.3.1
SUITE=${CATRACE_EPICS_SUITE:-bookworm}
CACHE=${CATRACE_EPICS_DIR:-/var/cache/catrace/epics-base-$EPICS_VERSION}
CACHE=${CACHE%/}
STAMP_NAME=.catrace-build-ok
# Stamp content is the EPICS host arch, so the fast path needs no perl run.
STAMP=$CACHE/$STAMP_NAME

die() {
	echo "build-epics: $*" >&2
	exit 1
}

# Fast path: a finished cache. Print where the binaries are and stop.
cached_bindir() {
	local arch
	[ -f "$STAMP" ] || return 1
	arch=$(head -n1 "$STAMP")
	[ -n "$arch" ] && [ -x "$CACHE/bin/$arch/softIoc" ] || return 1
	echo "$CACHE/bin/$arch"
}
if cached_bindir; then
	exit 0
fi

PARENT=$(dirname "$CACHE")
mkdir -p "$PARENT" 2>/dev/null || die "cannot create $PARENT (run as root or set CATRACE_EPICS_DIR)"
[ -w "$PARENT" ] || die "$PARENT is not writable (run as root or set CATRACE_EPICS_DIR)"
LOG=$CACHE.build.log

# Serialise concurrent callers (parallel test runs): the second one waits
# and then finds the stamp written by the first.
exec 9>"$CACHE.lock"
flock 9
if cached_bindir; then
	exit 0
fi

# Holding the lock, no other build is running: temp dirs left by a build
# that was killed outright (no trap ran) are garbage.
rm -rf "$PARENT/.$(basename "$CACHE").tmp."*

if [ -e "$CACHE" ]; then
	# No stamp, so not ours to trust. Only an empty directory is replaced;
	# anything else might be a user's data behind CATRACE_EPICS_DIR.
	rmdir "$CACHE" 2>/dev/null ||
		die "$CACHE exists but holds no finished build; remove it and retry"
fi

: >"$LOG"
log() { echo "=== $(date '+%F %T') $*" >>"$LOG"; }

# run DESCRIPTION CMD...: run quietly, output to the log; one-line error.
# The command runs in the background and is waited for, because bash
# delays signal traps until a foreground child ends: this way INT/TERM
# stop a long make at once (make passes the signal on to its children).
# fd 9 (the lock) is closed for the command, so a make orphaned by a
# SIGKILLed script cannot keep the next build waiting for the lock.
CHILD=""
run() {
	local what=$1
	shift
	log "$what: $*"
	"$@" 9>&- >>"$LOG" 2>&1 &
	CHILD=$!
	if ! wait "$CHILD"; then
		CHILD=""
		die "$what failed; log: $LOG"
	fi
	CHILD=""
}
on_signal() {
	trap - INT TERM
	if [ -n "$CHILD" ]; then
		kill -TERM "$CHILD" 2>/dev/null || true
		wait "$CHILD" 2>/dev/null || true
	fi
	echo "build-epics: interrupted; log: $LOG" >&2
	exit "$1"
}
trap 'on_signal 130' INT
trap 'on_signal 143' TERM

# --- build dependencies -------------------------------------------------
# perl runs EPICS's build tools; g++ (pulls gcc, libc6-dev, libstdc++-dev)
# compiles; dpkg-dev provides dpkg-source, which apt-get source uses to
# unpack and apply Debian's patches; xz-utils unpacks the .debian.tar.xz;
# python3 runs EPICS's makeRPath.py, which computes the $ORIGIN RPATHs.
# libreadline-dev is deliberately not used: the build is told to use
# EPICS's own line editor (COMMANDLINE_LIBRARY=EPICS), since tests run
# softIoc non-interactively.
DEPS="perl make g++ dpkg-dev xz-utils python3"
missing=""
for p in $DEPS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	[ "$(id -u)" = 0 ] || die "missing packages:$missing (run as root to install)"
	export DEBIAN_FRONTEND=noninteractive
	run "apt-get update" apt-get update -q
	# shellcheck disable=SC2086  # word splitting of the package list is wanted
	run "installing$missing" apt-get install -y -q --no-install-recommends $missing
fi

# --- temporary work area ------------------------------------------------
WORK=$(mktemp -d "$PARENT/.$(basename "$CACHE").tmp.XXXXXX")
cleanup() { rm -rf "$WORK"; }
trap cleanup EXIT
# apt drops privileges to _apt for downloads; it needs to traverse WORK.
chmod 755 "$WORK"

# --- fetch the source with a private apt configuration ------------------
# Use the same Debian mirror host the machine already uses, read from its
# sources (one-line .list and deb822 .sources formats).
mirror_uri() {
	local f
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
		/etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		case "$f" in
		*.sources)
			awk 'tolower($1)=="uris:" { for (i = 2; i <= NF; i++) print $i }' "$f"
			;;
		*)
			# deb [opts] URI suite comps: skip the [options] block.
			awk '$1=="deb" || $1=="deb-src" {
				i = 2
				if ($i ~ /^\[/) { while ($i !~ /\]$/ && i < NF) i++; i++ }
				print $i }' "$f"
			;;
		esac
	done | grep -E '^https?://[^ ]*/debian/?$' | head -n1
}
MIRROR=$(mirror_uri || true)
MIRROR=${MIRROR:-http://deb.debian.org/debian}
MIRROR=${MIRROR%/}

APTDIR=$WORK/apt
mkdir -p "$APTDIR/lists/partial" "$APTDIR/parts" "$WORK/src"
chmod -R 755 "$APTDIR"
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
SIGNED=""
[ -r "$KEYRING" ] && SIGNED="[signed-by=$KEYRING] "
echo "deb-src ${SIGNED}$MIRROR $SUITE main" >"$APTDIR/sources.list"
APT_OPTS=(
	-o "Dir::Etc::SourceList=$APTDIR/sources.list"
	-o "Dir::Etc::SourceParts=$APTDIR/parts"
	-o "Dir::State::Lists=$APTDIR/lists"
	-o "Dir::Cache=$APTDIR/cache"
)
mkdir -p "$APTDIR/cache/archives/partial"
chmod -R 755 "$APTDIR/cache"
run "apt-get update (deb-src $MIRROR $SUITE)" apt-get "${APT_OPTS[@]}" -q update
# _apt must be able to write the download directory.
chmod 777 "$WORK/src"
# apt-get source downloads and unpacks into the current directory.
cd "$WORK/src"
run "apt-get source epics-base" apt-get "${APT_OPTS[@]}" -q source epics-base
cd /

SRC=$(find "$WORK/src" -mindepth 1 -maxdepth 1 -type d -name 'epics-base-*' | head -n1)
[ -n "$SRC" ] || die "apt-get source produced no epics-base-* directory; log: $LOG"
got=${SRC##*/epics-base-}
[ "$got" = "$EPICS_VERSION" ] ||
	die "Debian $SUITE has epics-base $got, expected $EPICS_VERSION; log: $LOG"

# --- build ----------------------------------------------------------------
ARCH=$(perl "$SRC/src/tools/EpicsHostArch.pl") || die "cannot determine EPICS host arch"
[ -n "$ARCH" ] || die "cannot determine EPICS host arch"

# LINKER_USE_RPATH=ORIGIN: binaries find libCom/libca/libdbCore through a
# $ORIGIN-relative RPATH, so the tree keeps working after it is renamed from
# the temp dir into the cache (plain YES would bake in the temp path).
# softIoc likewise locates dbd/softIoc.dbd relative to its own executable.
# EPICS calls "python" for makeRPath.py; Debian only has python3.
MAKE_ARGS=(-j2 -s LINKER_USE_RPATH=ORIGIN COMMANDLINE_LIBRARY=EPICS
	PYTHON=/usr/bin/python3)
start=$(date +%s)
# Only these directories, in dependency order: no tests, no perl CA
# bindings (Cap5, needs libperl headers), no templates, no pvAccess & co.
for d in configure src/tools modules/libcom/src \
	modules/ca/src/client modules/ca/src/tools \
	modules/database/src/tools modules/database/src/ioc \
	modules/database/src/std; do
	run "make $d" make -C "$SRC/$d" "${MAKE_ARGS[@]}"
done
log "build took $(($(date +%s) - start)) s"

for t in softIoc caget caput camonitor cainfo caRepeater casw; do
	[ -x "$SRC/bin/$ARCH/$t" ] || die "build produced no $t; log: $LOG"
done
# Prove the tools start without LD_LIBRARY_PATH (RPATH works).
run "caget -h check" env -u LD_LIBRARY_PATH "$SRC/bin/$ARCH/caget" -h

# --- assemble and publish -------------------------------------------------
STAGE=$WORK/stage
mkdir "$STAGE"
for d in bin lib include dbd db configure startup; do
	if [ -e "$SRC/$d" ]; then
		cp -a "$SRC/$d" "$STAGE/"
	fi
done
cp -a "$SRC/LICENSE" "$STAGE/" 2>/dev/null || true
cp "$LOG" "$STAGE/build.log"
echo "$ARCH" >"$STAGE/$STAMP_NAME"
chmod 755 "$STAGE"
# Atomic rename: the cache appears complete or not at all.
mv -T "$STAGE" "$CACHE" || die "cannot move build into $CACHE"
echo "$CACHE/bin/$ARCH"
