#!/bin/sh
# Regenerates the stub fixtures and tshark's view of them from the real captures.
# Usage: sh extract.sh [CAPTURE_DIR]   (default ../../../../shared/captures)
# Each fixture is one DCE/RPC PDU (first+last fragment, auth_length 0, no object UUID), so the
# stub is the TCP payload minus the 24-byte request/response header (48 hex characters).
set -e
C=${1:-../../../../shared/captures}
COV=$C/otrf__covenant_dcom_iertutil_ws6__epm_netlogon_dcom_getclassobject_resolveoxid2.pcap
EMP=$C/otrf__empire_dcom_shellwindows_ws5__dcom_getclassobject_krb_cldap.pcap
ZEK=$C/zeek__dce-rpc_kerberos135_auth__dcom_remotecreateinstance_no_followup.pcapng
TS="-o dcerpc.desegment_dcerpc:TRUE -o dcerpc.reassemble_dcerpc:TRUE"
F="-T fields -E occurrence=a -E aggregator=| -e frame.number -e dcerpc.pkt_type -e dcerpc.opnum -e dcerpc.cn_frag_len -e dcerpc.cn_auth_len -e dcerpc.cn_flags -e dcom.dualstringarray.tower_id -e dcom.dualstringarray.network_addr -e isystemactivator.properties.instninfo.clsid -e isystemactivator.properties.instninfo.iid -e isystemactivator.properties.iid -e isystemactivator.properties.retval -e isystemactivator.properties.scmresp.authhint -e dcom.version_major -e dcom.version_minor -e dcom.hresult -e oxid.opnum"
one() { # capture frame name
	tshark -n -r "$1" $TS -Y "frame.number == $2" -T fields -e tcp.payload | cut -c49- > "$3.hex"
	tshark -n -r "$1" $TS -Y "frame.number == $2" $F > "$3.tshark"
}
one "$COV" 140 covenant_f140_getclassobject_req
one "$COV" 160 covenant_f160_getclassobject_resp
one "$COV" 211 covenant_f211_resolveoxid2_req
one "$COV" 216 covenant_f216_resolveoxid2_resp
one "$EMP" 151 empire_f151_getclassobject_req
one "$EMP" 153 empire_f153_getclassobject_resp
one "$EMP" 225 empire_f225_resolveoxid2_req
one "$EMP" 226 empire_f226_resolveoxid2_resp
one "$ZEK" 10 zeek_f10_createinstance_req
one "$ZEK" 11 zeek_f11_createinstance_resp
