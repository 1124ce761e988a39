#!/bin/bash
# Measures how fast `adcsflow capture` keeps up: replays a capture with tcpreplay on a veth
# pair between two private network namespaces while adcsflow captures on the other end,
# then compares what tcpreplay sent with what adcsflow analysed and what libpcap counted
# as dropped. Root only; needs tcpreplay (apt-get install tcpreplay).
#
#   testdata/livetest/perf.sh CAPTURE [RATE...]     RATE: packets/s, or "top" (--topspeed)
#   ADCSFLOW=bin/adcsflow  WRITE=1 (also --write a pcapng)  LOOPS=N (tcpreplay --loop)
#   PIN=1: adcsflow and tcpreplay share CPU 0
#   STALL=1: adcsflow is stopped (SIGSTOP) for 1 s during the replay, so that the kernel
#   buffer overflows: sent = analysed + kernel drops checks the drop count
set -euo pipefail
cap=${1:?usage: perf.sh CAPTURE [RATE...]}
shift
rates=("${@:-top}")
bin=$(realpath "${ADCSFLOW:-bin/adcsflow}")
loops=${LOOPS:-1}
tag=$$
A=afperf-a$tag B=afperf-b$tag
work=$(mktemp -d)
cpid=
cleanup() {
	[ -n "$cpid" ] && kill "$cpid" 2>/dev/null || true
	ip netns del "$A" 2>/dev/null || true
	ip netns del "$B" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
ip netns add "$A"
ip netns add "$B"
ip link add "va$tag" netns "$A" mtu 65000 type veth peer name "vb$tag" netns "$B" mtu 65000
ip -n "$A" link set "va$tag" up
ip -n "$B" link set "vb$tag" up

printf '%-8s %10s %12s %10s %10s %8s %10s\n' rate sent "sent pps" analysed "kernel" "if-drop" "sent-anal"
for rate in "${rates[@]}"; do
	args=(capture -i "vb$tag" --format json)
	[ -n "${WRITE:-}" ] && args+=(--write "$work/out.pcapng" --force)
	pin=(); [ -n "${PIN:-}" ] && pin=(taskset -c 0)
	ip netns exec "$B" "${pin[@]}" "$bin" "${args[@]}" >"$work/rep.json" 2>"$work/err.txt" &
	cpid=$!
	for _ in $(seq 100); do grep -q '^capturing on' "$work/err.txt" 2>/dev/null && break; sleep 0.1; done
	if [ "$rate" = top ]; then speed=(--topspeed); else speed=(--pps="$rate"); fi
	if [ -n "${STALL:-}" ]; then (sleep 0.5; kill -STOP "$cpid"; sleep 1; kill -CONT "$cpid") & fi
	ip netns exec "$A" "${pin[@]}" tcpreplay -i "va$tag" --preload-pcap "${speed[@]}" --loop="$loops" "$cap" >"$work/replay.txt" 2>&1
	sleep 2
	kill -TERM "$cpid"
	wait "$cpid" || true
	cpid=
	sent=$(sed -n 's/.*Actual: \([0-9]*\) packets.*/\1/p' "$work/replay.txt")
	pps=$(sed -n 's/.*Rated: .*, \([0-9.]*\) pps.*/\1/p' "$work/replay.txt")
	read -r analysed kernel ifdrop received < <(python3 -c '
import json,sys
r=json.load(open(sys.argv[1])); c=r["captures"][0]; d=c.get("dropped") or {}
print(c["packets"], d.get("kernel",0), d.get("interface",0), d.get("received",0))' "$work/rep.json")
	printf '%-8s %10s %12s %10s %10s %8s %10s\n' "$rate" "$sent" "$pps" "$analysed" "$kernel" "$ifdrop" $((sent - analysed))
done
