#!/usr/bin/python3
"""Write lab-<scenario>.truth.json: what the lab's firewall did and which flows that must produce.

Expected outcomes come from the firewall spec alone (the same "transport:ports:action" list run.sh
turned into nftables rules); the concrete flows (client ports) are taken from the tshark-derived
JSON of the same capture and each is checked against the firewall's verdict ("agrees"). Report
vocabulary as in shared/docs/json-report.md (transport, client, client_port, server, server_port,
service, outcome, rpc_interface).
"""
import argparse
import json
import os
import subprocess
import sys

DESCRIPTIONS = {
    "all-open": "No rule blocks anything: every flow of the enrollment-related clients works.",
    "ldaps-dropped": "tcp/636 (LDAPS) to the servers is silently dropped: ldapsearch over ldaps:// "
                     "sees SYN retransmissions and gives up; everything else works.",
    "dynrpc-dropped": "The whole dynamic RPC range Samba is pinned to is dropped: the endpoint mapper on "
                      "tcp/135 answers with the ports, but the connections to them get no answer.",
    "kpasswd-reset": "tcp/464 is rejected with a TCP reset: MIT kpasswd (TCP first) gets RST and falls "
                     "back to UDP 464 (a fragmented request), which works.",
    "krb-udp-dropped": "udp/88 is dropped: MIT kinit's UDP AS-REQs go unanswered and it falls back to "
                       "TCP 88, which works (so does every later step).",
    "kpasswd-udp-icmp": "udp/464 is rejected with ICMP port unreachable: the UDP-first kpasswd client's "
                        "fragmented request is reassembled by the stateful firewall, answered with ICMP "
                        "type 3 code 3, and the client falls back to TCP 464.",
    "ldaps-and-dynrpc-dropped": "tcp/636 and the dynamic RPC ports the endpoint mapper hands out are "
                                "dropped; everything else (Kerberos, kpasswd, LDAP 389, GC, EPM 135, "
                                "HTTPS) works.",
}

ACTION_OUTCOME = {"drop": ("no-answer", "unanswered"), "reset": ("reset", None),
                  "icmp": ("icmp-unreachable", "icmp-unreachable")}
ACTION_TEXT = {"drop": "dropped silently", "reset": "rejected with a TCP reset",
               "icmp": "rejected with ICMP destination unreachable, port unreachable (type 3 code 3)"}
SERVICES = {("udp", 389): "cldap", ("tcp", 389): "ldap", ("udp", 88): "kerberos", ("tcp", 88): "kerberos",
            ("udp", 464): "kpasswd", ("tcp", 464): "kpasswd", ("tcp", 636): "ldaps", ("tcp", 3268): "ldap-gc",
            ("tcp", 135): "epm", ("tcp", 443): "https", ("udp", 53): "dns", ("tcp", 53): "dns"}


def parse_spec(spec):
    rules = []
    for tok in spec.split():
        transport, ports, action = tok.split(":")
        ranges = []
        for p in ports.split(","):
            lo, _, hi = p.partition("-")
            ranges.append((int(lo), int(hi or lo)))
        rules.append({"transport": transport, "ports": ports, "ranges": ranges, "action": action})
    return rules


def verdict(rules, transport, port):
    for r in rules:
        if r["transport"] == transport and any(lo <= port <= hi for lo, hi in r["ranges"]):
            return r["action"]
    return None


def expected_outcome(rules, transport, port):
    action = verdict(rules, transport, port)
    if action is None:
        return "established" if transport == "tcp" else "answered"
    tcp_o, udp_o = ACTION_OUTCOME[action]
    return tcp_o if transport == "tcp" else udp_o


def read_jsonl(path):
    rows = []
    if path and os.path.exists(path):
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line.startswith("{"):
                    try:
                        rows.append(json.loads(line))
                    except ValueError:
                        pass
    return rows


def fragmented_datagrams(capture):
    """IP datagrams that arrived in fragments (tshark reassembly), with their UDP ports."""
    cmd = ["tshark", "-n", "-r", capture, "-Y", "ip.fragment.count", "-T", "fields", "-E", "occurrence=f",
           "-e", "frame.number", "-e", "ip.src", "-e", "ip.dst", "-e", "udp.srcport", "-e", "udp.dstport",
           "-e", "ip.fragment.count", "-e", "ip.len", "-e", "udp.length"]
    res = []
    for line in subprocess.run(cmd, capture_output=True, text=True).stdout.splitlines():
        f = line.split("\t")
        if len(f) < 8 or not f[3]:
            continue
        res.append({"frame": int(f[0]), "src": f[1], "dst": f[2], "src_port": int(f[3]), "dst_port": int(f[4]),
                    "fragments": int(f[5]), "udp_length": int(f[7] or 0)})
    return res


def main():
    ap = argparse.ArgumentParser()
    for a in ("scenario", "spec", "nft", "steps", "rpc", "tshark", "server-tshark", "client", "dc", "ca",
              "router", "rpc-range", "provision-seconds"):
        ap.add_argument("--" + a, default="")
    a = ap.parse_args()
    rules = parse_spec(a.spec)
    steps = read_jsonl(a.steps)
    details = read_jsonl(a.steps + ".out")
    rpc = read_jsonl(a.rpc)
    tshark = json.load(open(a.tshark))
    server_tshark = json.load(open(a.server_tshark)) if a.server_tshark else {"flows": []}
    s = a.scenario

    rpc_ports = {}
    for r in rpc:
        if r.get("step") == "epm-map" and r.get("port"):
            rpc_ports[r["port"]] = r["interface"]

    def service(transport, port):
        if transport == "tcp" and port in rpc_ports:
            return "msrpc"
        return SERVICES.get((transport, port), "unknown")

    def host_of(port, transport):
        return a.ca if (transport, port) == ("tcp", 443) else a.dc

    # the flow groups every run of the client steps produces, with the firewall's verdict
    plan = [
        ("udp", 389, "cldap-ping (DC locator netlogon ping)"),
        ("udp", 88, "kinit over UDP, the GSSAPI TGS-REQ for ldap/dc1, kinit -S kadmin/changepw: AS-REQ "
                    "answered by KRB-ERROR 25 then 52 (KRB_ERR_RESPONSE_TOO_BIG), TGS-REQ IP-fragmented"),
        ("tcp", 88, "kinit with udp_preference_limit=1, and every retry after KRB-ERROR 52 over UDP"),
        ("tcp", 389, "ldapsearch simple bind, and ldapsearch -Y GSSAPI (SASL-protected after the bind)"),
        ("tcp", 636, "ldapsearch over ldaps:// (TLS, simple bind)"),
        ("tcp", 3268, "ldapsearch on the Global Catalog port (simple bind)"),
        ("tcp", 135, "impacket ept_map (EPM opnum 3) for SAMR and NETLOGON"),
    ]
    for port, name in sorted(rpc_ports.items(), key=lambda kv: kv[1], reverse=True):
        plan.append(("tcp", port, "dynamic port handed out by the endpoint mapper for %s: bind + call" % name))
    plan += [
        ("tcp", 443, "curl to the CES stand-in (TLS, SNI ces.lab.adcsflow.test, POST %s)"
                     % "/LAB-CA_CES_Kerberos/service.svc"),
        ("tcp", 464, "MIT kpasswd (TCP first); the UDP-first client falls back here when UDP fails"),
        ("udp", 464, "the UDP-first kpasswd client (IP-fragmented request); MIT kpasswd falls back here "
                     "when TCP cannot reach the server"),
    ]
    expected = []
    for transport, port, why in plan:
        action = verdict(rules, transport, port)
        g = {"transport": transport, "client": a.client, "server": host_of(port, transport),
             "server_port": port, "service": service(transport, port),
             "outcome": expected_outcome(rules, transport, port),
             "firewall": ACTION_TEXT[action] if action else "allowed",
             "seen_on_server_side": action is None, "made_by": why}
        if g["service"] == "msrpc":
            g["rpc_interface"] = rpc_ports[port]
        expected.append(g)

    # the concrete flows of this capture (client ports from tshark), checked against the firewall
    flows, mismatches = [], []
    for f in tshark["flows"]:
        want = expected_outcome(rules, f["transport"], f["server_port"])
        row = {"transport": f["transport"], "client": f["client"], "client_port": f["client_port"],
               "server": f["server"], "server_port": f["server_port"],
               "service": service(f["transport"], f["server_port"]), "outcome": want,
               "tshark_outcome": f["outcome"], "agrees": want == f["outcome"], "packets": f["packets"],
               "first_frame": f["first_frame"]}
        if row["service"] == "msrpc":
            row["rpc_interface"] = rpc_ports[f["server_port"]]
        flows.append(row)
        if not row["agrees"]:
            mismatches.append("client side: %s %s:%d -> %s:%d expected %s, tshark says %s" % (
                f["transport"], f["client"], f["client_port"], f["server"], f["server_port"], want, f["outcome"]))
    seen = {(f["transport"], f["server"], f["server_port"]) for f in tshark["flows"]}
    for g in expected:
        if (g["transport"], g["server"], g["server_port"]) not in seen:
            # a UDP/TCP fallback that was not needed (e.g. kpasswd udp/464 when TCP worked) is no error
            g["observed"] = False
        else:
            g["observed"] = True
    for g in expected:
        if g["transport"] == "udp" and g["server_port"] == 464 or g["transport"] == "tcp" and g["server_port"] == 464:
            continue
        if not g["observed"]:
            mismatches.append("expected flow group not in the capture: %s/%d" % (g["transport"], g["server_port"]))

    # server side (router's bridge, after the firewall): blocked flows never get there
    server_seen = {}
    for f in server_tshark["flows"]:
        server_seen.setdefault((f["transport"], f["server"], f["server_port"]), set()).add(f["outcome"])
    server_side = []
    for g in expected:
        got = sorted(server_seen.get((g["transport"], g["server"], g["server_port"]), []))
        server_side.append({"transport": g["transport"], "server": g["server"], "server_port": g["server_port"],
                            "expected_present": g["seen_on_server_side"] and g["observed"],
                            "tshark_outcomes": got})
        if g["observed"] and bool(got) != g["seen_on_server_side"]:
            mismatches.append("server side: %s/%d present=%s, expected %s" % (
                g["transport"], g["server_port"], bool(got), g["seen_on_server_side"]))

    assignments = []
    for r in rpc:
        if r.get("step") != "epm-map" or not r.get("port"):
            continue
        used = [f for f in flows if f["transport"] == "tcp" and f["server"] == a.dc and f["server_port"] == r["port"]]
        assignments.append({"server": a.dc, "port": r["port"], "interface_uuid": r["interface_uuid"],
                            "interface": r["interface"], "via": "epm", "tower_address": r.get("tower_ip"),
                            "used": bool(used), "outcome": expected_outcome(rules, "tcp", r["port"])})
    t_ports = sorted({(x["port"], x["interface_uuid"]) for x in tshark.get("rpc_assignments", [])})
    l_ports = sorted({(x["port"], x["interface_uuid"]) for x in assignments})
    if t_ports != l_ports:
        mismatches.append("EPM assignments: lab %s, tshark %s" % (l_ports, t_ports))

    nft = open(a.nft).read() if a.nft and os.path.exists(a.nft) else ""
    cap = "lab-%s.pcapng" % s
    truth = {
        "version": 1,
        "scenario": s,
        "description": DESCRIPTIONS.get(s, ""),
        "generated_by": "testdata/lab/run.sh (make_truth.py); flows cross-checked with the tshark-derived "
                        "lab-%s.tshark.json" % s,
        "captures": {"client_side": cap, "server_side": "lab-%s.server.pcapng" % s,
                     "tshark": "lab-%s.tshark.json" % s,
                     "client_side_point": "client namespace eth0 (%s), before the firewall" % a.client,
                     "server_side_point": "router bridge br-srv (%s side), after the firewall" % a.dc.rsplit(".", 1)[0]},
        "hosts": [
            {"addr": a.client, "roles": ["client"], "names": ["client1.lab.adcsflow.test"]},
            {"addr": a.dc, "roles": ["dc", "kdc", "kpasswd", "ldap", "gc", "epm", "rpc"],
             "names": ["dc1.lab.adcsflow.test"], "software": "Samba AD DC (Debian 12 samba 4.17)"},
            {"addr": a.ca, "roles": ["ces"], "names": ["ces.lab.adcsflow.test", "ca1.lab.adcsflow.test"],
             "software": "python https stand-in for CES, certificate from the lab CA"},
            {"addr": a.router, "roles": ["firewall"], "names": ["router"],
             "note": "forwards %s <-> %s; source of the ICMP rejects" % (a.client.rsplit(".", 1)[0] + ".0/24",
                                                                       a.dc.rsplit(".", 1)[0] + ".0/24")},
        ],
        "firewall": {
            "where": "router namespace, nftables forward hook, stateful (ct state established,related accept)",
            "rules": [{"transport": r["transport"], "ports": r["ports"], "action": r["action"],
                       "effect": ACTION_TEXT[r["action"]],
                       "outcome": expected_outcome(rules, r["transport"], r["ranges"][0][0])} for r in rules],
            "default": "accept",
            "nft": nft,
        },
        "rpc_dynamic_range": a.rpc_range,
        "rpc_assignments": assignments,
        "expected_flows": expected,
        "flows": flows,
        "server_side": server_side,
        "ip_fragmented_datagrams": fragmented_datagrams(os.path.join(os.path.dirname(a.tshark), cap)),
        "client_steps": steps,
        "client_details": [d for d in details if d.get("step") in ("kpasswd", "cldap-ping")] +
                          [r for r in rpc if r.get("step") in ("rpc-call", "epm")],
        "provision_seconds": int(a.provision_seconds or 0),
        "checks": {"ok": not mismatches, "mismatches": mismatches},
    }
    json.dump(truth, sys.stdout, indent=1)
    sys.stdout.write("\n")
    if mismatches:
        sys.stderr.write("make_truth %s: %d mismatch(es):\n  %s\n" % (s, len(mismatches), "\n  ".join(mismatches)))


if __name__ == "__main__":
    main()
