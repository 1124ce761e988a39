#!/usr/bin/env bash
# Makes testdata/captures/twopoint-{client,server}.pcapng: one client, a router with a
# firewall, one server with its own firewall, captured at the client and at the server, so
# that every place a packet can die appears once. Needs root, iproute2, nftables, tcpdump,
# python3. Everything lives in three network namespaces this script creates (10.99.0.0/16,
# no route out) and is removed at the end; every process is stopped by its PID.
#
#   router (forward): drops tcp/636 from the client         -> lost_at "path"
#                     drops udp/389 from the client         -> lost_at "path" (UDP)
#                     drops the server's answers from 3268  -> lost_at "return-path"
#   server (input):   drops tcp/88                          -> lost_at "server" (silence)
#                     drops udp/88                          -> lost_at "server" (UDP)
#                     nothing listens on tcp/464            -> lost_at "server" (reset)
#   works:            tcp/135, tcp/443, udp/53 (a one-byte echo)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${OUT:-$here/../captures}
work=$(mktemp -d /tmp/adcsflow-twopoint.XXXXXX)
pids=()
C=tpcli$$ R=tprtr$$ S=tpsrv$$

cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	for n in $C $R $S; do ip netns del "$n" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT

for n in $C $R $S; do ip netns add "$n"; ip -n "$n" link set lo up; done
ip link add tpc0 netns "$C" type veth peer name tpr0 netns "$R"
ip link add tps0 netns "$S" type veth peer name tpr1 netns "$R"
ip -n "$C" addr add 10.99.1.10/24 dev tpc0
ip -n "$R" addr add 10.99.1.1/24 dev tpr0
ip -n "$R" addr add 10.99.2.1/24 dev tpr1
ip -n "$S" addr add 10.99.2.10/24 dev tps0
for l in "$C tpc0" "$R tpr0" "$R tpr1" "$S tps0"; do set -- $l; ip -n "$1" link set "$2" up; done
ip -n "$C" route add default via 10.99.1.1
ip -n "$S" route add default via 10.99.2.1
ip netns exec "$R" sysctl -qw net.ipv4.ip_forward=1
for l in "$C tpc0" "$S tps0"; do set -- $l
	ip netns exec "$1" ethtool -K "$2" tso off gso off gro off 2>/dev/null || true
done

ip netns exec "$R" nft -f - <<'EOF'
table ip tp_router {
	chain forward {
		type filter hook forward priority filter; policy accept;
		ip daddr != 10.99.0.0/16 drop
		ip saddr 10.99.2.10 tcp sport 3268 drop
		ct state established,related accept
		ip saddr 10.99.1.0/24 tcp dport 636 drop
		ip saddr 10.99.1.0/24 udp dport 389 drop
	}
}
EOF
ip netns exec "$S" nft -f - <<'EOF'
table ip tp_server {
	chain input {
		type filter hook input priority filter; policy accept;
		tcp dport 88 drop
		udp dport 88 drop
	}
}
EOF

# Server: TCP listeners that send one line and close; a UDP echo on 53 (and 88, 389,
# behind the firewalls).
cat >"$work/server.py" <<'EOF'
import socket, threading, sys
def tcp(port):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("10.99.2.10", port)); s.listen(8)
    while True:
        c, _ = s.accept(); c.sendall(b"hello\n"); c.close()
def udp(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("10.99.2.10", port))
    while True:
        d, a = s.recvfrom(2048); s.sendto(d[:1], a)
for p in (135, 443, 636, 88, 3268):
    threading.Thread(target=tcp, args=(p,), daemon=True).start()
for p in (53, 88, 389):
    threading.Thread(target=udp, args=(p,), daemon=True).start()
print("ready", flush=True)
threading.Event().wait()
EOF
cat >"$work/client.py" <<'EOF'
import socket, time
def tcp(port):
    s = socket.socket(); s.settimeout(3.5)
    try:
        s.connect(("10.99.2.10", port)); s.recv(16); r = "ok"
    except Exception as e:
        r = type(e).__name__
    s.close(); print("tcp", port, r, flush=True)
def udp(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(1)
    r = "timeout"
    for _ in range(2):
        s.sendto(b"adcsflow-twopoint", ("10.99.2.10", port))
        try:
            s.recv(16); r = "ok"; break
        except Exception as e:
            r = type(e).__name__
    s.close(); print("udp", port, r, flush=True)
for p in (135, 443): tcp(p)
udp(53)
for p in (636, 88, 464, 3268): tcp(p)
for p in (389, 88): udp(p)
tcp(443)
EOF

ip netns exec "$S" python3 "$work/server.py" >"$work/server.log" 2>&1 & pids+=($!)
ip netns exec "$C" tcpdump -i tpc0 -U -s0 -w "$work/client.pcap" 'net 10.99.0.0/16' 2>"$work/tcpdump-c.log" & pids+=($!)
ip netns exec "$S" tcpdump -i tps0 -U -s0 -w "$work/server.pcap" 'net 10.99.0.0/16' 2>"$work/tcpdump-s.log" & pids+=($!)
for _ in $(seq 50); do grep -q ready "$work/server.log" 2>/dev/null && grep -q listening "$work/tcpdump-c.log" && grep -q listening "$work/tcpdump-s.log" && break; sleep 0.1; done
ip netns exec "$C" python3 "$work/client.py" | tee "$work/client.log"
sleep 1
kill "${pids[1]}" "${pids[2]}"; wait "${pids[1]}" "${pids[2]}" 2>/dev/null || true
mkdir -p "$out"
editcap -F pcapng --capture-comment "adcsflow twopoint: client side (10.99.1.10, before the router's firewall); see testdata/twopoint/run.sh" "$work/client.pcap" "$out/twopoint-client.pcapng"
editcap -F pcapng --capture-comment "adcsflow twopoint: server side (10.99.2.10 eth, before the server's own firewall); see testdata/twopoint/run.sh" "$work/server.pcap" "$out/twopoint-server.pcapng"
ls -l "$out"/twopoint-*.pcapng
