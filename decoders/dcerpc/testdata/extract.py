#!/usr/bin/env python3
"""Regenerates the PDU fixtures in testdata/pdu from ../shared/captures with tshark alone.

For each fixture NAME it writes pdu/NAME.hex (the PDU bytes tshark shows as dcerpc_raw,
reassembled across TCP segments) and pdu/NAME.tshark (tshark's field values for that frame,
one "field<TAB>values" line, values joined by '|'), and prints the README lines with the
exact commands. Run from decoders/dcerpc/testdata: python3 extract.py > README.pdu.md
"""
import json, os, subprocess, sys

CAP = "../../../../shared/captures/"
FIXTURES = [
    # name, capture, frame, index of the PDU within the frame
    ("epm_bind_3ctx", "otrf__covenant_dcsync__epm_drsuapi_two_towers_krb_cldap.pcap", 255, 0),
    ("epm_bind_ack_3res", "otrf__covenant_dcsync__epm_drsuapi_two_towers_krb_cldap.pcap", 256, 0),
    ("epm_map_req_drsuapi", "otrf__covenant_dcsync__epm_drsuapi_two_towers_krb_cldap.pcap", 257, 0),
    ("epm_map_resp_drsuapi_2towers", "otrf__covenant_dcsync__epm_drsuapi_two_towers_krb_cldap.pcap", 258, 0),
    ("drsuapi_bind_spnego_privacy", "otrf__covenant_dcsync__epm_drsuapi_two_towers_krb_cldap.pcap", 275, 0),
    ("drsuapi_bind_ack_spnego", "otrf__covenant_dcsync__epm_drsuapi_two_towers_krb_cldap.pcap", 279, 0),
    ("drsuapi_alter_context_spnego", "otrf__covenant_dcsync__epm_drsuapi_two_towers_krb_cldap.pcap", 280, 0),
    ("drsuapi_alter_context_resp_spnego", "otrf__covenant_dcsync__epm_drsuapi_two_towers_krb_cldap.pcap", 281, 0),
    ("drsuapi_request_privacy", "otrf__covenant_dcsync__epm_drsuapi_two_towers_krb_cldap.pcap", 282, 0),
    ("drsuapi_response_privacy", "otrf__covenant_dcsync__epm_drsuapi_two_towers_krb_cldap.pcap", 283, 0),
    ("isysact_bind_ntlm_connect", "otrf__covenant_dcom_iertutil_ws6__epm_netlogon_dcom_getclassobject_resolveoxid2.pcap", 137, 0),
    ("isysact_bind_ack_ntlm", "otrf__covenant_dcom_iertutil_ws6__epm_netlogon_dcom_getclassobject_resolveoxid2.pcap", 138, 0),
    ("isysact_auth3_ntlm", "otrf__covenant_dcom_iertutil_ws6__epm_netlogon_dcom_getclassobject_resolveoxid2.pcap", 139, 0),
    ("isysact_request_getclassobject", "otrf__covenant_dcom_iertutil_ws6__epm_netlogon_dcom_getclassobject_resolveoxid2.pcap", 140, 0),
    ("netlogon_bind_privacy", "otrf__covenant_dcom_iertutil_ws6__epm_netlogon_dcom_getclassobject_resolveoxid2.pcap", 152, 0),
    ("netlogon_bind_ack_privacy", "otrf__covenant_dcom_iertutil_ws6__epm_netlogon_dcom_getclassobject_resolveoxid2.pcap", 153, 0),
    ("remunk2_bind_spnego", "otrf__covenant_dcom_iertutil_ws6__epm_netlogon_dcom_getclassobject_resolveoxid2.pcap", 164, 0),
    ("iunknown_alter_context_noauth", "otrf__covenant_dcom_iertutil_ws6__epm_netlogon_dcom_getclassobject_resolveoxid2.pcap", 174, 0),
    ("iunknown_alter_context_resp_noauth", "otrf__covenant_dcom_iertutil_ws6__epm_netlogon_dcom_getclassobject_resolveoxid2.pcap", 175, 0),
    ("oxid_request_resolveoxid2", "otrf__covenant_dcom_iertutil_ws6__epm_netlogon_dcom_getclassobject_resolveoxid2.pcap", 211, 0),
    ("oxid_response_resolveoxid2", "otrf__covenant_dcom_iertutil_ws6__epm_netlogon_dcom_getclassobject_resolveoxid2.pcap", 216, 0),
    ("remunk2_request_object_integrity", "otrf__covenant_dcom_iertutil_ws6__epm_netlogon_dcom_getclassobject_resolveoxid2.pcap", 231, 0),
    ("remunk2_response_integrity", "otrf__covenant_dcom_iertutil_ws6__epm_netlogon_dcom_getclassobject_resolveoxid2.pcap", 232, 0),
    ("epm_map_req_netlogon", "suricata-verify__bug-5162__epm_netlogon_drsuapi_multitower.pcap", 6, 0),
    ("epm_map_resp_netlogon_2towers", "suricata-verify__bug-5162__epm_netlogon_drsuapi_multitower.pcap", 7, 0),
    ("epm_map_resp_drsuapi_1tower", "suricata-verify__bug-5162__epm_netlogon_drsuapi_multitower.pcap", 2898, 0),
    ("drsuapi_bind_ntlm_privacy", "suricata-verify__bug-5162__epm_netlogon_drsuapi_multitower.pcap", 2902, 0),
    ("drsuapi_bind_ack_ntlm", "suricata-verify__bug-5162__epm_netlogon_drsuapi_multitower.pcap", 2903, 0),
    ("drsuapi_auth3_ntlm", "suricata-verify__bug-5162__epm_netlogon_drsuapi_multitower.pcap", 2904, 0),
    ("svcctl_bind_ack_pipe_smb", "suricata-verify__bug-5162__epm_netlogon_drsuapi_multitower.pcap", 2936, 0),
    ("epm_map_req_svcctl", "suricata-verify__smb2-07_psexec__epm_svcctl_dynport_syn_unanswered.pcap", 55, 0),
    ("epm_map_resp_svcctl_1tower", "suricata-verify__smb2-07_psexec__epm_svcctl_dynport_syn_unanswered.pcap", 56, 0),
    ("epm_bind_1ctx", "zeek__dce-rpc_mapi__epm_tcp_and_ncacn_http_old_windows.pcap", 397, 0),
    ("epm_bind_ack_1res", "zeek__dce-rpc_mapi__epm_tcp_and_ncacn_http_old_windows.pcap", 398, 0),
    ("epm_map_req_nspi", "zeek__dce-rpc_mapi__epm_tcp_and_ncacn_http_old_windows.pcap", 399, 0),
    ("epm_map_resp_nspi", "zeek__dce-rpc_mapi__epm_tcp_and_ncacn_http_old_windows.pcap", 400, 0),
    ("epm_lookup_req_mapi", "zeek__dce-rpc_mapi__epm_tcp_and_ncacn_http_old_windows.pcap", 501, 0),
    ("epm_lookup_resp_http", "zeek__dce-rpc_mapi__epm_tcp_and_ncacn_http_old_windows.pcap", 505, 0),
    ("lsarpc_bind_smb_flags0", "zeek__dce-rpc_mapi__epm_tcp_and_ncacn_http_old_windows.pcap", 424, 0),
    ("lsarpc_bind_ack_pipe_lsass", "zeek__dce-rpc_mapi__epm_tcp_and_ncacn_http_old_windows.pcap", 425, 0),
    ("emsmdb_response_first_frag", "zeek__dce-rpc_mapi__epm_tcp_and_ncacn_http_old_windows.pcap", 645, 0),
    ("isysact_bind_spnego_kerberos", "zeek__dce-rpc_kerberos135_auth__dcom_remotecreateinstance_no_followup.pcapng", 5, 0),
    ("isysact_request_createinstance", "zeek__dce-rpc_kerberos135_auth__dcom_remotecreateinstance_no_followup.pcapng", 10, 0),
    ("isysact_response_createinstance", "zeek__dce-rpc_kerberos135_auth__dcom_remotecreateinstance_no_followup.pcapng", 11, 0),
    ("epm_lookup_req_rpcdump", "pcap-attack__impacket_rpcdump__epm_lookup_bulk_towers.pcapng", 3, 0),
]
# rpcdump's ept_lookup reply: every fragment, in order (frames 4..11).
RPCDUMP = "pcap-attack__impacket_rpcdump__epm_lookup_bulk_towers.pcapng"

FIELDS = ["dcerpc.ver", "dcerpc.ver_minor", "dcerpc.pkt_type", "dcerpc.cn_flags", "dcerpc.drep",
          "dcerpc.cn_frag_len", "dcerpc.cn_auth_len", "dcerpc.cn_call_id", "dcerpc.cn_max_xmit",
          "dcerpc.cn_max_recv", "dcerpc.cn_assoc_group", "dcerpc.cn_num_ctx_items", "dcerpc.cn_ctx_id",
          "dcerpc.cn_num_trans_items", "dcerpc.cn_bind_to_uuid", "dcerpc.cn_bind_if_ver",
          "dcerpc.cn_bind_if_ver_minor", "dcerpc.cn_bind_trans_id", "dcerpc.cn_bind_trans_ver",
          "dcerpc.cn_sec_addr", "dcerpc.cn_num_results", "dcerpc.cn_ack_result", "dcerpc.cn_ack_reason",
          "dcerpc.cn_ack_trans_id", "dcerpc.cn_ack_trans_ver", "dcerpc.cn_alloc_hint", "dcerpc.cn_cancel_count",
          "dcerpc.opnum", "dcerpc.obj_id", "dcerpc.cn_status", "dcerpc.auth_type", "dcerpc.auth_level",
          "dcerpc.auth_pad_len", "dcerpc.auth_ctx_id", "dcerpc.encrypted_stub_data"]
EPM_FIELDS = ["epm.hnd", "epm.num_towers", "epm.max_towers", "epm.tower.num_floors", "epm.uuid",
              "epm.uuid_version", "epm.proto.tcp_port", "epm.proto.udp_port", "epm.proto.http_port",
              "epm.proto.ip", "epm.proto.named_pipe", "epm.proto.netbios_name", "epm.rc", "epm.object",
              "epm.inq_type", "epm.if_id", "epm.ver_maj", "epm.ver_min", "epm.ver_opt", "epm.max_ents",
              "epm.num_ents", "epm.annotation"]

def sh(cmd):
    return " ".join(("'%s'" % c) if any(x in c for x in " |=&") else c for c in cmd)

def raw_pdus(cap, frame):
    cmd = ["tshark", "-n", "-r", CAP + cap, "-Y", "frame.number==%d" % frame, "-T", "json", "--no-duplicate-keys", "-x"]
    out = json.loads(subprocess.run(cmd, capture_output=True, text=True).stdout)
    layers = out[0]["_source"]["layers"]
    raw = layers["dcerpc_raw"]
    if isinstance(raw[0], str):
        raw = [raw]
    return cmd, [r[0] for r in raw]

def fields(cap, frame, names):
    cmd = ["tshark", "-n", "-r", CAP + cap, "-Y", "frame.number==%d" % frame, "-T", "fields",
           "-E", "occurrence=a", "-E", "aggregator=|"]
    for f in names:
        cmd += ["-e", f]
    vals = subprocess.run(cmd, capture_output=True, text=True).stdout.rstrip("\n").split("\t")
    return cmd, dict(zip(names, vals))

def write(name, cap, frame, idx, hexs):
    with open("pdu/%s.hex" % name, "w") as f:
        f.write(hexs + "\n")
    fc, fv = fields(cap, frame, FIELDS + EPM_FIELDS)
    with open("pdu/%s.tshark" % name, "w") as f:
        f.write("# frame %d, PDU %d of the frame; command: %s\n" % (frame, idx, sh(fc)))
        for k in FIELDS + EPM_FIELDS:
            if fv.get(k):
                f.write("%s\t%s\n" % (k, fv[k]))
    return fc

def towers(name, cap, frame):
    """EPM towers of a response frame from tshark's PDML, floors kept grouped per tower:
    one JSON object per tower, in order. Written to pdu/NAME.towers.json."""
    import xml.etree.ElementTree as ET
    cmd = ["tshark", "-n", "-r", CAP + cap, "-Y", "frame.number==%d" % frame, "-T", "pdml"]
    xml = subprocess.run(cmd, capture_output=True, text=True).stdout
    res = []
    for proto in ET.fromstring(xml).iter("proto"):
        if proto.get("name") != "epm":
            continue
        cur = None
        for fld in proto.iter("field"):
            n = fld.get("name")
            if n == "epm.tower.num_floors":
                cur = {"floors": int(fld.get("show")), "uuids": []}
                res.append(cur)
            elif cur is None:
                continue
            elif n == "epm.uuid":
                cur["uuids"].append(fld.get("show"))
            elif n == "epm.ver_min":
                cur.setdefault("ver_min", []).append(int(fld.get("show")))
            elif n in ("epm.proto.tcp_port", "epm.proto.udp_port", "epm.proto.http_port"):
                cur[n.split(".")[-1]] = int(fld.get("show"))
            elif n in ("epm.proto.ip", "epm.proto.named_pipe", "epm.proto.netbios_name"):
                cur[n.split(".")[-1]] = fld.get("show")
            elif n == "epm.tower.proto_id":
                cur.setdefault("proto_ids", []).append(int(fld.get("show"), 0))
    with open("pdu/%s.towers.json" % name, "w") as f:
        json.dump({"command": sh(cmd), "towers": res}, f, indent=0)
        f.write("\n")
    return len(res)

def main():
    os.makedirs("pdu", exist_ok=True)
    print("Each pdu/NAME.hex holds one PDU: the hex string dcerpc_raw[INDEX] of")
    print("`tshark -n -r ../../../../shared/captures/CAPTURE -Y 'frame.number==FRAME' -T json --no-duplicate-keys -x`")
    print("(tshark 4.0.17, default TCP/DCE-RPC reassembly). pdu/NAME.tshark holds tshark's field values")
    print("for that frame; its first line is the exact command. pdu/NAME.towers.json (EPM responses) holds")
    print("the towers from `tshark ... -T pdml`, its command inside. All produced by `python3 extract.py`.")
    print()
    print("Also here: negatives.txt (non-DCE/RPC payloads for LooksLike, each with its tshark command),")
    print("handbuilt/ (a hand-built ICertPassage pcap and tshark's view of it, see handbuilt/README.md),")
    print("fuzz/ (crashers, if a fuzz target ever finds one).")
    print()
    print("| fixture | capture | frame | index |")
    print("|---|---|---|---|")
    for name, cap, frame, idx in FIXTURES:
        rc, pdus = raw_pdus(cap, frame)
        write(name, cap, frame, idx, pdus[idx])
        if name.startswith("epm_") and "_resp" in name:
            towers(name, cap, frame)
        print("| %s | %s | %d | %d |" % (name, cap, frame, idx))
    n = 0
    for frame in range(4, 12):
        if frame == 7:
            continue  # a TCP segment of frame 8's PDU
        rc, pdus = raw_pdus(RPCDUMP, frame)
        for i, h in enumerate(pdus):
            name = "epm_lookup_resp_rpcdump_frag%02d" % n
            write(name, RPCDUMP, frame, i, h)
            print("| %s | %s | %d | %d |" % (name, RPCDUMP, frame, i))
            n += 1
    towers("epm_lookup_resp_rpcdump", RPCDUMP, 11)
    print("| epm_lookup_resp_rpcdump.towers.json | %s | 11 | reassembled |" % RPCDUMP)

main()
