#!/bin/bash
# Record catrace's own test captures from real peers: softIoc (RSRV) and
# the CA clients of EPICS base 7.0.3.1 (scripts/build-epics.sh), pyepics,
# and ca_probe.py for the requests libca never sends. Each scenario runs in
# fresh network namespaces (tests/netns/lib.sh: a veth pair with offloads
# off, so segments are wire-sized) and tcpdump records the client end of
# the pair, full length.
#
#   tests/captures/record.sh [-o DIR] [SCENARIO ...]     (default: all)
#
# Writes DIR/SCENARIO.pcap (DIR defaults to tests/captures). Scenarios are
# described in tests/captures/README.md. After recording, refresh the
# reference decodes (tests/captures/cashark_tsv.py) and the golden files
# (tests/golden.sh --update), and read the differences before committing.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
SCENARIOS="s01_caget_types s02_not_found s03_caput s04_camonitor s06_two_iocs
s08_pyepics_many s09_beacons_repeater s15_large_and_errors s16_server_port"

usage() {
	echo "usage: $0 [-o DIR] [SCENARIO ...]; scenarios: $(echo $SCENARIOS)" >&2
	exit 2
}

OUT=$HERE
while getopts o:h opt; do
	case $opt in
	o) OUT=$(cd "$OPTARG" && pwd) || exit 2 ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))

# One scenario per process: each gets its own namespaces and teardown.
if [ -z "${RECORD_ONE:-}" ]; then
	[ $# -gt 0 ] && SCENARIOS=$*
	rc=0
	for s in $SCENARIOS; do
		case " $(echo $SCENARIOS) " in *" $s "*) ;; *) usage ;; esac
		echo "== $s"
		RECORD_ONE=$s bash "$0" -o "$OUT" || { echo "record: $s failed" >&2; rc=1; }
	done
	exit $rc
fi
SCENARIO=$RECORD_ONE

# shellcheck source=../netns/lib.sh
. "$TOP/tests/netns/lib.sh"
ns_setup
cli_repeater_start || exit 1

DB="$TOP/tests/netns/records.db"
EXTRA_DB="$HERE/records-extra.db"
export IOC_EXTRA_ARGS="-d $EXTRA_DB -a $HERE/access.acf"
BCAST=${IOC_ADDR%.*}.255

CAP_PIDS=()
# cap_start NS IFACE FILE: tcpdump on IFACE, back once it is listening.
cap_start() {
	local ns=$1 dev=$2 file=$3 tries log
	log=$NS_TMP/tcpdump.$dev.log
	ip netns exec "$ns" tcpdump -i "$dev" -s 0 -U -n -w "$file" 2>"$log" &
	CAP_PIDS+=("$!")
	_NS_BG_PIDS+=("$!")
	for tries in $(seq 100); do
		grep -q "listening on" "$log" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "record: tcpdump on $dev did not start: $(cat "$log")" >&2
	return 1
}

# Stop every capture after the last packets are in, and check each one.
cap_stop() {
	local pid
	sleep 0.5
	for pid in "${CAP_PIDS[@]}"; do
		kill -INT "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	CAP_PIDS=()
}

# The IOC of most scenarios: records.db plus records-extra.db.
ioc_main() {
	ioc_start "$DB" "$@" || exit 1
}

# The second IOC on the same host (records-b.db): it shares UDP 5064 with
# the first and gets a random TCP port.
ioc_second() {
	IOC_READY_PV=B:ai IOC_EXTRA_ARGS="" ioc_start "$HERE/records-b.db" \
		EPICS_CA_ADDR_LIST="$BCAST" "$@" || exit 1
}

# A client that searches the subnet broadcast address, so both IOCs answer.
cli_bcast() {
	cli_run env EPICS_CA_ADDR_LIST="$BCAST" "$@"
}

s01_caget_types() {
	ioc_main
	cap_start "$NS_CLI" "$VETH_CLI" "$PCAP" || exit 1
	local pv
	for pv in T:ai T:ao T:long T:longout T:strin T:str T:bi T:bo T:mbbi T:calc \
		T:wfchar T:wfshort T:wffloat T:wflong T:wfstring; do
		cli_run caget "$pv"
	done
	cli_run caget -S T:wfchar
	cli_run caget -# 5 T:wfdouble
	cli_run caget -d DBR_TIME_DOUBLE T:ai
	cli_run caget -d DBR_CTRL_DOUBLE T:ao
	cli_run caget -d DBR_GR_ENUM T:mbbi
	cli_run caget -d DBR_CTRL_ENUM T:bi
	cli_run caget -d DBR_STS_STRING T:str
	cli_run caget -d DBR_CTRL_LONG T:long
	cli_run caget -d DBR_TIME_STRING T:strin
	cli_run caget -d DBR_GR_FLOAT T:wffloat
	cli_run caget -d DBR_TIME_SHORT T:wfshort
	cli_run caget -d DBR_CTRL_CHAR T:wfchar
	cli_run caget -d DBR_STS_LONG T:wflong
	cli_run cainfo T:ai
}

s02_not_found() {
	ioc_main
	cap_start "$NS_CLI" "$VETH_CLI" "$PCAP" || exit 1
	cli_run caget -w 2 T:ai T:str NO:SUCH:PV
	cli_run caget -w 1 ALSO:MISSING
}

s03_caput() {
	ioc_main
	cap_start "$NS_CLI" "$VETH_CLI" "$PCAP" || exit 1
	cli_run caput T:ao 1.5
	cli_run caput -c -w 2 T:ao 2.5
	cli_run caput T:bo Open
	cli_run caput T:mbbi 3
	cli_run caput T:str "new text"
	cli_run caput T:longout 77
	cli_run caput -a T:wfshort 3 1 2 3
	cli_run caput -c -a T:wffloat 4 1.5 2.5 3.5 4.5
	cli_run caput -S T:wfchar "written by caput"
}

s04_camonitor() {
	ioc_main
	cap_start "$NS_CLI" "$VETH_CLI" "$PCAP" || exit 1
	cli_run timeout -s INT 5 camonitor T:calc T:calc2 T:ai
	cli_run timeout -s INT 3 camonitor -m va -t sI T:calc T:ai
}

s06_two_iocs() {
	ioc_main
	ioc_second
	cap_start "$NS_CLI" "$VETH_CLI" "$PCAP" || exit 1
	cli_bcast caget T:ai B:ai B:str
	cli_bcast caput B:ai 1.25
	cli_bcast caput -c T:ao 3
	cli_bcast timeout -s INT 2 camonitor T:calc B:ai
}

s08_pyepics_many() {
	local db=$NS_TMP/many.db i
	for i in $(seq 0 349); do
		printf 'record(ao, "M:ao%03d") {\n    field(VAL, "%d")\n    field(PINI, "YES")\n}\n' "$i" "$i"
	done >"$db"
	IOC_EXTRA_ARGS="-d $db" ioc_main
	cap_start "$NS_CLI" "$VETH_CLI" "$PCAP" || exit 1
	cli_run env PYEPICS_LIBCA="$EPICS_BIN/../../lib/linux-x86_64/libca.so" \
		/usr/bin/python3 "$HERE/pyepics_many.py" M:ao 350
}

# Captured on the veth and on the client namespace's loopback (clients
# register with the repeater there, and it forwards the beacons), merged.
s09_beacons_repeater() {
	local lo=$NS_TMP/lo.pcap veth=$NS_TMP/veth.pcap
	cap_start "$NS_CLI" "$VETH_CLI" "$veth" || exit 1
	cap_start "$NS_CLI" lo "$lo" || exit 1
	ip netns exec "$NS_CLI" env EPICS_CA_AUTO_ADDR_LIST=NO EPICS_CA_ADDR_LIST="$IOC_ADDR" \
		"$EPICS_BIN/casw" -i 2 >"$NS_TMP/casw.txt" 2>&1 &
	_NS_BG_PIDS+=("$!")
	ioc_main
	local mon
	cli_run timeout -s INT 14 camonitor T:calc >/dev/null &
	mon=$!
	sleep 12
	kill -KILL "$IOC_PID"
	sleep 1
	ioc_main
	sleep 3
	cli_run caget T:ai T:str
	wait "$mon" 2>/dev/null
	cap_stop
	mergecap -F pcap -w "$PCAP" "$veth" "$lo"
}

s15_large_and_errors() {
	ioc_main
	# The second IOC keeps CA's default array limit, fixed: it refuses
	# what does not fit.
	# Both share UDP 5064: the clients search the broadcast address.
	ioc_second EPICS_CA_MAX_ARRAY_BYTES=16384 EPICS_CA_AUTO_ARRAY_BYTES=NO
	cap_start "$NS_CLI" "$VETH_CLI" "$PCAP" || exit 1
	# shellcheck disable=SC2046  # 20000 words by design
	cli_bcast caput -a T:wfdouble 20000 $(seq 20000) >/dev/null
	cli_bcast caget T:wfdouble >/dev/null
	cli_bcast caget -# 8189 T:wfdouble >/dev/null
	cli_bcast caget -# 8190 T:wfdouble >/dev/null
	cli_bcast caget -d DBR_TIME_DOUBLE -# 2000 T:wfdouble >/dev/null
	cli_bcast caget -d DBR_CTRL_DOUBLE -# 2000 T:wfdouble >/dev/null
	cli_bcast timeout -s INT 3 camonitor T:wfdouble >/dev/null &
	sleep 1
	# shellcheck disable=SC2046
	cli_bcast caput -a T:wfdouble 20000 $(seq 20000 -1 1) >/dev/null
	wait $!
	cli_bcast caget -w 2 B:wf >/dev/null
	cli_bcast caput T:ai notanumber
	cli_bcast caput -c T:ai notanumber
	cli_run python3 "$HERE/ca_probe.py" "$IOC_ADDR"
}

# A server and clients on a port pair that is not CA's default (5070/5071),
# as sites that run several CA networks on one host do.
s16_server_port() {
	export EPICS_CA_SERVER_PORT=5070 EPICS_CA_REPEATER_PORT=5071 IOC_PORT=5070
	ip netns exec "$NS_CLI" env EPICS_CA_REPEATER_PORT=5071 "$EPICS_BIN/caRepeater" \
		</dev/null >/dev/null 2>&1 &
	_NS_BG_PIDS+=("$!")
	ioc_main EPICS_CAS_SERVER_PORT=5070 EPICS_CAS_BEACON_PORT=5071
	cap_start "$NS_CLI" "$VETH_CLI" "$PCAP" || exit 1
	cli_run caget T:ai T:str
	cli_run caput -c T:ao 4.5
	cli_run timeout -s INT 2 camonitor T:calc
}

PCAP=$OUT/$SCENARIO.pcap
rm -f "$PCAP"
"$SCENARIO"
[ ${#CAP_PIDS[@]} -gt 0 ] && cap_stop
[ -s "$PCAP" ] || { echo "record: $SCENARIO: no capture written" >&2; exit 1; }
echo "$SCENARIO: $(capinfos -c -M "$PCAP" | awk -F: '/Number of packets/ {gsub(/ /, "", $2); print $2}') packets"
