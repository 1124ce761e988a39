#!/usr/bin/python3
"""Endpoint-mapper lookup, then bind and one call on the dynamic port it handed out (impacket).

For each interface: ept_map (EPM opnum 3) on tcp/135 asking for an ncacn_ip_tcp tower, then a TCP
connection to the returned port, a bind to the interface and one call:
  SAMR     12345778-1234-abcd-ef00-0123456789ac v1.0  NTLM, privacy; SamrConnect (opnum 0),
                                                      SamrEnumerateDomainsInSamServer (opnum 6)
  NETLOGON 12345678-1234-abcd-ef00-01234567cffb v1.0  no auth; DsrGetDcNameEx2 (opnum 34)
(Samba answers LSARPC over ncacn_ip_tcp with access denied for most calls, hence SAMR.)
Samba's towers carry 0.0.0.0 as the address ("the address you asked"): the script then connects to
the address it asked. Prints one JSON line per mapping and per call; exit 0 only if all worked.

usage: rpc_epm.py SERVER USER PASSWORD DOMAIN [--map-only] [--timeout S]
"""
import json
import socket
import struct
import sys

from impacket.dcerpc.v5 import epm, nrpc, samr, transport
from impacket.dcerpc.v5.rpcrt import RPC_C_AUTHN_LEVEL_PKT_PRIVACY
from impacket.uuid import uuidtup_to_bin

INTERFACES = [
    ("SAMR", ("12345778-1234-ABCD-EF00-0123456789AC", "1.0")),
    ("NETLOGON", ("12345678-1234-ABCD-EF00-01234567CFFB", "1.0")),
]
NDR = uuidtup_to_bin(("8a885d04-1ceb-11c9-9fe8-08002b104860", "2.0"))


def out(**kw):
    print(json.dumps(kw), flush=True)


def ept_map(dce, iface):
    """ept_map for an ncacn_ip_tcp tower; returns (port, ip-from-floor-5)."""
    uuid = uuidtup_to_bin(iface)
    tower = epm.EPMTower()
    interface = epm.EPMRPCInterface()
    interface["InterfaceUUID"] = uuid[:16]
    interface["MajorVersion"] = struct.unpack("<H", uuid[16:18])[0]
    interface["MinorVersion"] = struct.unpack("<H", uuid[18:])[0]
    rep = epm.EPMRPCDataRepresentation()
    rep["DataRepUuid"] = NDR[:16]
    rep["MajorVersion"] = struct.unpack("<H", NDR[16:18])[0]
    rep["MinorVersion"] = struct.unpack("<H", NDR[18:])[0]
    prot = epm.EPMProtocolIdentifier()
    prot["ProtIdentifier"] = epm.FLOOR_RPCV5_IDENTIFIER
    port = epm.EPMPortAddr()
    port["IpPort"] = 0
    host = epm.EPMHostAddr()
    host["Ip4addr"] = socket.inet_aton("0.0.0.0")
    tower["NumberOfFloors"] = 5
    tower["Floors"] = interface.getData() + rep.getData() + prot.getData() + port.getData() + host.getData()
    req = epm.ept_map()
    req["max_towers"] = 1
    req["map_tower"]["tower_length"] = len(tower)
    req["map_tower"]["tower_octet_string"] = tower.getData()
    req.fields["obj"].fields["ReferentID"] = 1
    req.fields["map_tower"].fields["ReferentID"] = 2
    resp = dce.request(req)
    if resp["num_towers"] < 1:
        return None, None
    t = epm.EPMTower(b"".join(resp["ITowers"][0]["Data"]["tower_octet_string"]))
    p = epm.EPMPortAddr(t["Floors"][3].getData())["IpPort"]
    ip = socket.inet_ntoa(epm.EPMHostAddr(t["Floors"][4].getData())["Ip4addr"])
    return p, ip


def call(server, name, iface, port, user, password, domain, timeout):
    rt = transport.DCERPCTransportFactory("ncacn_ip_tcp:%s[%d]" % (server, port))
    rt.set_connect_timeout(timeout)
    if name == "SAMR":
        rt.set_credentials(user, password, domain)
    dce = rt.get_dce_rpc()
    try:
        dce.connect()
    except Exception as e:  # dropped / rejected by the firewall
        out(step="rpc-call", interface=name, server=server, port=port, connected=False, error=str(e)[:200])
        return False
    try:
        local_port = rt.get_socket().getsockname()[1]
        if name == "SAMR":
            dce.set_auth_level(RPC_C_AUTHN_LEVEL_PKT_PRIVACY)
            dce.bind(samr.MSRPC_UUID_SAMR)
            r = samr.hSamrConnect(dce)
            r = samr.hSamrEnumerateDomainsInSamServer(dce, r["ServerHandle"])
            ok, op = r["ErrorCode"] == 0, "SamrConnect (opnum 0), SamrEnumerateDomainsInSamServer (opnum 6)"
        else:
            dce.bind(nrpc.MSRPC_UUID_NRPC)
            r = nrpc.hDsrGetDcNameEx2(dce, nrpc.NULL, nrpc.NULL, 0, domain + "\x00", nrpc.NULL, nrpc.NULL, 0)
            ok, op = r["ErrorCode"] == 0, "DsrGetDcNameEx2 (opnum 34)"
        out(step="rpc-call", interface=name, server=server, port=port, client_port=local_port,
            connected=True, bound=True, operation=op, ok=ok)
        return ok
    except Exception as e:
        out(step="rpc-call", interface=name, server=server, port=port, connected=True, ok=False,
            error=str(e)[:200])
        return False
    finally:
        dce.disconnect()


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    server, user, password, domain = args[:4]
    map_only = "--map-only" in sys.argv
    timeout = 4
    if "--timeout" in sys.argv:
        timeout = int(sys.argv[sys.argv.index("--timeout") + 1])
    rt = transport.DCERPCTransportFactory("ncacn_ip_tcp:%s[135]" % server)
    rt.set_connect_timeout(timeout)
    dce = rt.get_dce_rpc()
    try:
        dce.connect()
    except Exception as e:
        out(step="epm", server=server, connected=False, error=str(e)[:200])
        sys.exit(1)
    dce.bind(epm.MSRPC_UUID_PORTMAP)
    mapped = []
    for name, iface in INTERFACES:
        port, ip = ept_map(dce, iface)
        out(step="epm-map", interface=name, interface_uuid=iface[0].lower(), server=server,
            port=port, tower_ip=ip, epm_client_port=rt.get_socket().getsockname()[1])
        if port:
            mapped.append((name, iface, port))
    dce.disconnect()
    if map_only:
        sys.exit(0 if len(mapped) == len(INTERFACES) else 1)
    ok = len(mapped) == len(INTERFACES)
    for name, iface, port in mapped:
        ok = call(server, name, iface, port, user, password, domain, timeout) and ok
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
