#!/usr/bin/env python3
"""Regenerates the SMB fixtures in this directory from ../../../../shared/captures with tshark.

For each fixture NAME it writes NAME.hex (tcp.payload of one frame: exactly one whole NBSS
frame, header included; checked here) and NAME.tshark (two "#" lines with the exact payload and
field commands, then "field<TAB>values" lines, values joined by '|'), and prints the
table of README.md. Run from decoders/smb/testdata: python3 extract.py
"""
import subprocess, sys

CAP = "../../../../shared/captures/"
PSEXEC = "suricata-verify__smb2-07_psexec__epm_svcctl_dynport_syn_unanswered.pcap"
SHARPSC = "otrf__covenant_sharpsc_create__epm_svcctl_dynport_syn_unanswered.pcap"
PSLOGGEDON = "pcap-attack__PsLoggedOn__tls443_sni_smb_winreg_lsarpc.pcapng"
BUG5162 = "suricata-verify__bug-5162__epm_netlogon_drsuapi_multitower.pcap"
MAPI = "zeek__dce-rpc_mapi__epm_tcp_and_ncacn_http_old_windows.pcap"
DCOM = "otrf__covenant_dcom_iertutil_ws6__epm_netlogon_dcom_getclassobject_resolveoxid2.pcap"
FIXTURES = [
    # name, capture, frame
    ("smb2_psexec_create_svcctl", PSEXEC, 150),
    ("smb2_psexec_create_resp_svcctl", PSEXEC, 151),
    ("smb2_psexec_write_bind_svcctl", PSEXEC, 154),
    ("smb2_psexec_read_bind_ack", PSEXEC, 157),
    ("smb2_psexec_ioctl_request", PSEXEC, 158),
    ("smb2_psexec_ioctl_response", PSEXEC, 159),
    ("smb2_psexec_query_info_error", PSEXEC, 196),
    ("smb2_sharpsc_create_svcctl", SHARPSC, 112),
    ("smb2_sharpsc_write_bind_svcctl", SHARPSC, 119),
    ("smb2_sharpsc_read_bind_ack", SHARPSC, 122),
    ("smb2_sharpsc_ioctl_request", SHARPSC, 123),
    ("smb2_sharpsc_ioctl_response", SHARPSC, 124),
    ("smb2_psloggedon_create_winreg", PSLOGGEDON, 50),
    ("smb2_psloggedon_write_bind_winreg", PSLOGGEDON, 57),
    ("smb2_psloggedon_read_bind_ack_winreg", PSLOGGEDON, 60),
    ("smb2_psloggedon_write_auth3_winreg", PSLOGGEDON, 61),
    ("smb2_psloggedon_create_lsarpc", PSLOGGEDON, 73),
    ("smb2_psloggedon_create_resp_lsarpc", PSLOGGEDON, 74),
    ("smb2_psloggedon_write_bind_lsarpc", PSLOGGEDON, 77),
    ("smb2_psloggedon_read_bind_ack_lsarpc", PSLOGGEDON, 80),
    ("smb2_psloggedon_ioctl_response_lsarpc", PSLOGGEDON, 84),
    ("smb2_bug5162_create_svcctl", BUG5162, 2931),
    ("smb2_bug5162_write_bind_svcctl", BUG5162, 2933),
    ("smb2_bug5162_read_bind_ack", BUG5162, 2936),
    ("smb2_bug5162_write_request", BUG5162, 2937),
    ("smb2_bug5162_read_response", BUG5162, 2940),
    ("smb2_bug5162_read_pending", BUG5162, 2949),
    ("smb2_dcom_compound_request", DCOM, 23),
    ("smb2_dcom_compound_response", DCOM, 24),
    ("smb1_mapi_trans_request", MAPI, 420),
    ("smb1_mapi_trans_response", MAPI, 421),
    ("smb1_mapi_ntcreate_lsarpc", MAPI, 422),
    ("smb1_mapi_ntcreate_resp_lsarpc", MAPI, 423),
    ("smb1_mapi_trans_bind_lsarpc_424", MAPI, 424),
    ("smb1_mapi_trans_bind_ack_425", MAPI, 425),
    ("smb1_mapi_trans_bind_lsarpc_438", MAPI, 438),
    ("smb1_mapi_trans_bind_lsarpc_455", MAPI, 455),
    ("smb1_mapi_trans_bind_lsarpc_474", MAPI, 474),
    ("smb1_mapi_trans2_error", MAPI, 350),
    ("smb1_mapi_read_andx_request", MAPI, 514),
]
FIELDS = [
    "frame.number", "tcp.len", "nbss.type", "nbss.length",
    "smb2.cmd", "smb2.flags.response", "smb2.nt_status", "smb2.msg_id", "smb2.fid",
    "smb2.filename", "smb2.ioctl.function", "smb2.write_length", "smb2.read_length",
    "smb.cmd", "smb.flags.response", "smb.nt_status", "smb.mid", "smb.fid", "smb.file",
    "smb.data_len_low",
    "dcerpc.pkt_type", "dcerpc.cn_frag_len", "dcerpc.cn_call_id", "dcerpc.cn_bind_to_uuid",
    "dcerpc.cn_sec_addr",
]


def run(args):
    # some captures end mid-packet: tshark then exits 2 after printing every frame
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode not in (0, 2) or not r.stdout.strip():
        sys.exit("%s: rc %d: %s" % (" ".join(args), r.returncode, r.stderr))
    return r.stdout


def main():
    print("| fixture | capture | frame |")
    print("|---|---|---|")
    for name, cap, frame in FIXTURES:
        filt = "frame.number==%d" % frame
        cmd = ["tshark", "-n", "-r", CAP + cap, "-Y", filt, "-T", "fields", "-e", "tcp.payload"]
        payload = run(cmd).strip()
        b = bytes.fromhex(payload)
        if len(b) < 4 or b[0] != 0 or int.from_bytes(b[1:4], "big") + 4 != len(b):
            sys.exit("%s: frame %d is not one whole NBSS frame" % (name, frame))
        with open(name + ".hex", "w") as f:
            f.write(payload + "\n")
        fcmd = ["tshark", "-n", "-r", CAP + cap, "-Y", filt, "-T", "fields",
                "-E", "occurrence=a", "-E", "aggregator=|"]
        for fl in FIELDS:
            fcmd += ["-e", fl]
        vals = run(fcmd).rstrip("\n").split("\t")
        with open(name + ".tshark", "w") as f:
            f.write("# frame %d; payload: %s\n" % (frame, " ".join(q(a) for a in cmd)))
            f.write("# command: %s\n" % " ".join(q(a) for a in fcmd))
            for fl, v in zip(FIELDS, vals):
                if v:
                    f.write("%s\t%s\n" % (fl, v))
        print("| %s | %s | %d |" % (name, cap, frame))


def q(a):
    return "'%s'" % a if any(c in a for c in " =|&!()") else a


main()
