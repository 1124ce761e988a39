#!/bin/sh
# Regenerates the *.tsv fixtures from the public captures in ../shared/captures (run from
# this directory, CAPS pointing at the captures). One line per Kerberos PDU on port 88:
# frame, hex of the PDU (UDP payload, or the whole TCP record with its 4-byte mark as tshark
# reassembled it), then tshark 4.0's own values for that frame.
CAPS=${CAPS:-../../../../shared/captures}
FIELDS="-e frame.number -e udp.payload -e tcp.reassembled.data -e tcp.payload -e kerberos.msg_type -e kerberos.error_code -e kerberos.realm -e kerberos.crealm -e kerberos.SNameString -e kerberos.CNameString -e kerberos.ENCTYPE -e kerberos.padata_type -e kerberos.e_text -e kerberos.stime -e kerberos.susec -e kerberos.ctime -e kerberos.cusec"
for f in zeek__krb_kinit__krb_udp_and_tcp_mit_errors.pcap ndpi__kerberos-login__krb_udp_tgs_windows.pcap \
	ndpi__kerberos-error__vlan_udp_krb_err_response_too_big.pcap zeek__ldap_aduser1__krb_tcp_ldap_gss_spnego_ad.pcap \
	otrf__empire_dcom_shellwindows_ws5__dcom_getclassobject_krb_cldap.pcap otrf__covenant_dcsync__epm_drsuapi_two_towers_krb_cldap.pcap; do
	out=$(echo "$f" | sed 's/__.*//; s/$/__/')$(echo "$f" | sed 's/^[^_]*__//; s/__.*//').tsv
	echo "# tshark -n -r $f -Y 'kerberos && (tcp.port == 88 || udp.port == 88)' -T fields -E occurrence=a -E aggregator=';' $FIELDS" > "$out"
	tshark -n -r "$CAPS/$f" -Y 'kerberos && (tcp.port == 88 || udp.port == 88)' -T fields -E occurrence=a -E aggregator=';' $FIELDS 2>/dev/null >> "$out"
done
