#!/bin/bash
# Packaging: `make install` (DESTDIR, PREFIX) puts the binary, the man page,
# the bash completion, the systemd unit and the library (libcatrace.so,
# catrace.h, catrace.pc, the Python module) where they belong, and
# `make uninstall` takes them away; the man page renders without warnings;
# every option of `catrace --help` is in the man page and in the
# completion (so they cannot drift apart), and the completion completes;
# systemd-analyze accepts the unit.
set -u
cd "$(dirname "$0")/.."
OUTPUT=${OUTPUT:-.output}
CATRACE=${CATRACE:-$OUTPUT/catrace}
MAN=doc/catrace.8
COMP=scripts/catrace.bash-completion
pass=0 fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ok() { echo "PASS: $1"; pass=$((pass + 1)); }
bad() { echo "FAIL: $1: $2"; fail=$((fail + 1)); }
SANOPT=()
[ "$OUTPUT" = .output-san ] && SANOPT=(SAN=1)

# install into DEST with extra make variables; lists what was installed.
do_install() {
	local dest=$1
	shift
	make --no-print-directory -s "${SANOPT[@]}" install DESTDIR="$dest" "$@" >"$tmp/make.out" 2>&1 ||
		{ bad "make install $*" "$(tail -3 "$tmp/make.out")"; return 1; }
	(cd "$dest" && find . -type f -printf '%m %p\n' | sort)
}

# What PREFIX $1 gets (python's directory $2): the program's four files,
# then the library's (its links are not files: checked below).
SO_FILE=$(cd "$OUTPUT" && ls libcatrace.so.*.*.*)
PYVER=$(/usr/bin/python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
want_files() {
	printf '%s\n' "644 .$1/lib/systemd/system/catrace-metrics@.service" \
		"644 .$1/share/bash-completion/completions/catrace" \
		"644 .$1/share/man/man8/catrace.8" "755 .$1/sbin/catrace" \
		"755 .$1/lib/$SO_FILE" "644 .$1/include/catrace.h" "644 .$1/lib/pkgconfig/catrace.pc" \
		"644 .$2/catrace/__init__.py" "644 .$2/catrace/_where.py" | sort
}

# The library as a user finds it in staging dir $1 (PREFIX $2, python's
# directory $3): the soname links, a program built with pkg-config's
# flags decodes a capture as catrace does, and the Python module imports
# (a DESTDIR install is not where ld.so looks: LD_LIBRARY_PATH says).
check_library() {
	local d=$1 lib=$1$2/lib cap=tests/captures/s03_caput.pcap n_c n_cli n_py
	if [ "$(readlink "$lib/libcatrace.so")" = libcatrace.so.0 ] &&
		[ "$(readlink "$lib/libcatrace.so.0")" = "$SO_FILE" ]; then
		ok "library links libcatrace.so -> .so.0 -> $SO_FILE"
	else
		bad "library links" "$(ls -l "$lib" | grep libcatrace)"
	fi
	grep -qx "libdir=$2/lib" "$lib/pkgconfig/catrace.pc" && ok "catrace.pc names the installed libdir" ||
		bad "catrace.pc libdir" "$(grep libdir= "$lib/pkgconfig/catrace.pc")"
	cat >"$tmp/use.c" <<-'EOC'
	#include <catrace.h>
	#include <stdio.h>
	int main(int argc, char **argv)
	{
		char err[CATRACE_ERRBUF_SIZE];
		const struct catrace_msg *m;
		catrace_t *h = catrace_open_offline(argc > 1 ? argv[1] : "-", err);
		int n = 0;

		if (!h) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		while (catrace_next(h, &m) == 1)
			n++;
		catrace_free(h);
		printf("%d\n", n);
		return 0;
	}
	EOC
	# --define-prefix off: the .pc file names the final paths; the staged
	# copy is found through the sysroot.
	pc() { PKG_CONFIG_SYSROOT_DIR="$d" PKG_CONFIG_PATH="$lib/pkgconfig" \
		pkg-config --dont-define-prefix "$@" catrace; }
	if ! cc $(pc --cflags) "${SANFLAGS[@]}" "$tmp/use.c" $(pc --libs) -o "$tmp/use" \
		2>"$tmp/cc.err"; then
		bad "a program built with pkg-config --cflags --libs catrace" "$(head -3 "$tmp/cc.err")"
		return
	fi
	n_c=$(LD_LIBRARY_PATH="$lib" "$tmp/use" "$cap")
	n_cli=$("$CATRACE" -q -r "$cap" --json | wc -l)
	[ -n "$n_c" ] && [ "$n_c" = "$n_cli" ] &&
		ok "a program built with pkg-config decodes $n_c messages, as catrace does" ||
		bad "a program built with pkg-config" "$n_c messages, catrace $n_cli"
	n_py=$(LD_LIBRARY_PATH="$lib" PYTHONPATH="$d$3" LD_PRELOAD="${PY_PRELOAD:-}" \
		ASAN_OPTIONS=detect_leaks=0 /usr/bin/python3 -c \
		'import sys, catrace; print(sum(1 for _ in catrace.read(sys.argv[1])))' "$cap" 2>&1)
	[ "$n_py" = "$n_cli" ] && ok "the installed Python module reads $n_py messages" ||
		bad "the installed Python module" "$n_py"
}
SANFLAGS=()
PY_PRELOAD=""
if [ "$OUTPUT" = .output-san ]; then
	SANFLAGS=(-fsanitize=address,undefined)
	PY_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)"
fi

# 1. DESTDIR with the default PREFIX.
want=$(want_files /usr/local "/usr/local/lib/python$PYVER/dist-packages")
if got=$(do_install "$tmp/d1"); then
	[ "$got" = "$want" ] && ok "make install DESTDIR: the program's four files and the library's five, modes 755/644" ||
		bad "make install DESTDIR" "installed:"$'\n'"$got"
	if [ -x "$tmp/d1/usr/local/sbin/catrace" ] &&
		[ "$("$tmp/d1/usr/local/sbin/catrace" --version)" = "$("$CATRACE" --version)" ]; then
		ok "installed binary is this build"
	else
		bad "installed binary is this build" "$("$tmp/d1/usr/local/sbin/catrace" --version 2>&1)"
	fi
	grep -qx 'ExecStart=/usr/local/sbin/catrace -i %i -q --no-print --metrics 127.0.0.1:9464' \
		"$tmp/d1/usr/local/lib/systemd/system/catrace-metrics@.service" &&
		ok "unit runs the installed binary" ||
		bad "unit runs the installed binary" "$(grep ExecStart "$tmp/d1/usr/local/lib/systemd/system/catrace-metrics@.service")"
	check_library "$tmp/d1" /usr/local "/usr/local/lib/python$PYVER/dist-packages"
	make --no-print-directory -s "${SANOPT[@]}" uninstall DESTDIR="$tmp/d1" >/dev/null 2>&1
	left=$(find "$tmp/d1" ! -type d)
	[ -z "$left" ] && ok "make uninstall removes them" || bad "make uninstall" "left: $left"
fi

# 2. PREFIX=/usr: paths and the unit's ExecStart follow it.
if got=$(do_install "$tmp/d2" PREFIX=/usr); then
	if [ "$got" = "$(want_files /usr /usr/lib/python3/dist-packages)" ] &&
		grep -q '^ExecStart=/usr/sbin/catrace ' "$tmp/d2/usr/lib/systemd/system/catrace-metrics@.service"; then
		ok "PREFIX=/usr"
	else
		bad "PREFIX=/usr" "$got $(grep ExecStart "$tmp/d2/usr/lib/systemd/system/catrace-metrics@.service")"
	fi
fi

# 3. The man page renders, without a single groff warning.
if command -v man >/dev/null && command -v groff >/dev/null; then
	MANWIDTH=80 man --warnings -l "$MAN" >"$tmp/man.txt" 2>"$tmp/man.err"
	if [ -s "$tmp/man.err" ]; then
		bad "man -l renders without warnings" "$(head -3 "$tmp/man.err")"
	elif ! grep -qE 'catrace +- +trace EPICS Channel Access' "$tmp/man.txt"; then
		bad "man -l renders" "no NAME line in $(head -5 "$tmp/man.txt")"
	else
		ok "man -l renders without warnings ($(wc -l <"$tmp/man.txt") lines)"
	fi
else
	echo "SKIP: man page rendering: man or groff not installed (scripts/install-deps.sh)"
fi

# 4. No drift: the options of --help, in the man page and the completion.
"$CATRACE" --help >"$tmp/usage"
grep -oE -- '(^|[ ,;(])--[a-z][a-z-]*' "$tmp/usage" | sed 's/^[ ,;(]//' | sort -u >"$tmp/long"
grep -oE -- '(^|[ ,;])-[A-Za-z]( |,|$)' "$tmp/usage" | tr -d ' ,;' | sort -u >"$tmp/short"
# roff writes a dash as \-: the man page's text with plain dashes.
sed 's/\\-/-/g' "$MAN" >"$tmp/man.plain"
missing_man="" missing_comp=""
while read -r o; do
	grep -qE -- "(^|[^a-z-])$o([^a-z-]|$)" "$tmp/man.plain" || missing_man="$missing_man $o"
	grep -qE -- "(^|[^a-z-])$o([^a-z-]|$)" "$COMP" || missing_comp="$missing_comp $o"
done <"$tmp/long"
while read -r o; do
	grep -qE -- "^\.B[IR]? $o( |$)|^\.BR $o |^\.BI \"?$o" "$tmp/man.plain" || missing_man="$missing_man $o"
	grep -qE -- "(^|[^a-z-])$o([^A-Za-z-]|$)" "$COMP" || missing_comp="$missing_comp $o"
done <"$tmp/short"
n_long=$(wc -l <"$tmp/long") n_short=$(wc -l <"$tmp/short")
[ "$n_long" -ge 15 ] || bad "usage parsed" "only $n_long long options found in --help"
[ -z "$missing_man" ] && ok "man page has all $n_long long and $n_short short options" ||
	bad "man page has every option" "missing:$missing_man"
[ -z "$missing_comp" ] && ok "completion has all $n_long long and $n_short short options" ||
	bad "completion has every option" "missing:$missing_comp"
# ... and nothing the program does not have (OPTIONS to the end of TOP;
# `catrace stats` has its own usage).
"$CATRACE" stats --help >>"$tmp/usage"
grep -oE -- '(^|[ ,;(\[])--[a-z][a-z-]*' "$tmp/usage" | sed 's/^[^-]//' | sort -u >"$tmp/all"
sed -n '/^\.SH OPTIONS/,/^\.SH OUTPUT/p' "$tmp/man.plain" |
	grep -oE -- '(^|[^a-z-])--[a-z][a-z-]*' | sed 's/^[^-]//' | sort -u >"$tmp/man.long"
extra=$(comm -23 "$tmp/man.long" "$tmp/all" | tr '\n' ' ')
[ -z "$extra" ] && ok "man page documents no option catrace lacks" ||
	bad "man page documents no option catrace lacks" "$extra"
extra=""
for o in $(sed -n '/long_opts=/,/"$/p' "$COMP" | grep -oE -- '--[a-z][a-z-]*'); do
	grep -qx -- "$o" "$tmp/all" || extra="$extra $o"
done
[ -z "$extra" ] && ok "completion offers no option catrace lacks" ||
	bad "completion offers no option catrace lacks" "$extra"

# 5. The completion completes (with the bash-completion package's helpers).
if [ -r /usr/share/bash-completion/bash_completion ]; then
	complete_words() {  # complete_words WORD...: COMPREPLY for the last word
		bash -c '
			. /usr/share/bash-completion/bash_completion
			. "$0"
			COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
			COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
			_catrace catrace "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
			printf "%s\n" "${COMPREPLY[@]}" | sort' "$COMP" "$@" 2>&1
	}
	check_completion() {  # NAME EXPECTED WORD...
		local name=$1 want=$2 got
		shift 2
		got=$(complete_words "$@" | tr '\n' ' ')
		[ "$got" = "$want" ] && ok "completion: $name" || bad "completion: $name" "got '$got', wanted '$want'"
	}
	check_completion "long option" "--writes " catrace --wri
	check_completion "the --no- options" "--no-channels-file --no-detect --no-print --no-proc --no-xdp " catrace --no-
	check_completion "--xdp-mode" "generic " catrace --xdp-mode g
	check_completion "--cmd list" "Read,Write Read,WriteNotify " catrace --cmd Read,Wri
	check_completion "-i interfaces" "lo " catrace -i l
	check_completion "subcommands" "stats " catrace st
	check_completion "--sort" "searches " catrace top --sort se
else
	echo "SKIP: completion behaviour: bash-completion not installed (scripts/install-deps.sh)"
fi

# 6. systemd accepts the unit (installed under a prefix where ExecStart
# and the man page exist): any word from systemd-analyze is a failure.
if command -v systemd-analyze >/dev/null; then
	if do_install "" PREFIX="$tmp/p" >/dev/null; then
		MANPATH=$tmp/p/share/man systemd-analyze verify \
			"$tmp/p/lib/systemd/system/catrace-metrics@.service" >"$tmp/sa.out" 2>&1
		rc=$?
		if [ $rc -eq 0 ] && [ ! -s "$tmp/sa.out" ]; then
			ok "systemd-analyze verify catrace-metrics@.service"
		else
			bad "systemd-analyze verify" "exit $rc: $(head -5 "$tmp/sa.out")"
		fi
	fi
else
	echo "SKIP: systemd unit check: systemd-analyze not installed"
fi

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
