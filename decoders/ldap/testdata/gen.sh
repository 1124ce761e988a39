#!/bin/sh
# Regenerates the fixtures in tshark/ from the shared captures (tshark 4.x).
# Usage: sh gen.sh [CAPTURE_DIR]   (default ../../../../shared/captures, i.e. /work/shared/captures)
# One line per frame: frame, tcp.srcport, udp.srcport, payload hex, then tshark's LDAP fields
# (several values in one frame are joined with '|').

C=${1:-../../../../shared/captures}
F='-e frame.number -e tcp.srcport -e udp.srcport -e tcp.payload -e udp.payload -e ldap.messageID -e ldap.protocolOp -e ldap.resultCode -e ldap.mechanism -e ldap.baseObject -e ldap.sasl_buffer_length -e ldap.version -e ldap.name -e ldap.scope -e ldap.objectName -e ldap.object -e ldap.requestName -e ldap.LDAPURL -e ldap.AttributeDescription -e ldap.errorMessage'
gen() { # capture filter out
	tshark -n -r "$C/$1" -o tcp.desegment_tcp_streams:TRUE -Y "$2" -T fields -E occurrence=a -E aggregator='|' $F > "tshark/$3.tsv" 2>/dev/null || true  # dcsync is cut short: tshark exits 2
}
gen suricata-verify__ldap-udp__cldap_ping.pcap 'cldap' cldap_ping
gen otrf__covenant_dcsync__epm_drsuapi_two_towers_krb_cldap.pcap 'cldap' cldap_dcsync
gen otrf__empire_dcom_shellwindows_ws5__dcom_getclassobject_krb_cldap.pcap 'cldap' cldap_empire
gen zeek__ldap_aduser1__krb_tcp_ldap_gss_spnego_ad.pcap 'tcp.port==389 && tcp.len>0' aduser1_gss_spnego
gen zeek__ldap_issue-32__linux_cooked_sll.pcapng 'tcp.port==389 && tcp.len>0' issue32_sll_referrals
gen zeek__ldap_modify-request__ipv6_vlan_ad_sasl_sealed.pcapng 'tcp.port==389 && tcp.len>0' modify_sasl_integrity
gen zeek__ldap_simpleauth__gc3268_vlan.pcap 'tcp.port==3268 && tcp.len>0' gc3268_simple
gen zeek__ldap_starttls__tls_on_389.pcap 'ldap' starttls

# Negatives for LooksLike: first 96 bytes of other protocols' payloads, one per line:
# name, frame, hex.
neg() { # name capture frame field
	h=$(tshark -n -r "$C/$2" -Y "frame.number==$3" -T fields -e "$4" 2>/dev/null | cut -c1-192)
	printf '%s\t%s\t%s\n' "$1" "$3" "$h"
}
{
neg kerberos_tcp_as_req zeek__ldap_aduser1__krb_tcp_ldap_gss_spnego_ad.pcap 21 tcp.payload
neg kerberos_udp_tgs_req ndpi__kerberos-login__krb_udp_tgs_windows.pcap 1 udp.payload
neg tls_client_hello zeek__ldap_starttls__tls_on_389.pcap 8 tcp.payload
neg tls_app_data zeek__ldap_starttls__tls_on_389.pcap 12 tcp.payload
neg dcerpc_bind otrf__covenant_sharpsc_create__epm_svcctl_dynport_syn_unanswered.pcap 72 tcp.payload
neg http_get otrf__covenant_sharpsc_create__epm_svcctl_dynport_syn_unanswered.pcap 1 tcp.payload
neg smb2_negotiate zeek__ldap_aduser1__krb_tcp_ldap_gss_spnego_ad.pcap 4 tcp.payload
} > tshark/negatives.tsv
