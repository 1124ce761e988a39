#!/bin/sh
# How tshark/openldap_*.tsv were made (run once, as root, on 2026-11-24; OpenLDAP 2.5 from
# Debian 12 slapd/ldap-utils, tshark 4.x). Everything runs inside a network namespace this
# script creates and deletes; slapd and tcpdump are stopped by PID. The pcap itself is not
# kept in the project, only the tshark TSV lines.
set -e
D=${1:-/tmp/adcsflow-openldap}; NS=adcsflow-ldapfx
mkdir -p $D/db && cd $D
openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 30 -subj /CN=dc01.corp.example
cat > slapd.conf <<CONF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile $D/slapd.pid
TLSCertificateFile $D/cert.pem
TLSCertificateKeyFile $D/key.pem
database mdb
suffix "dc=corp,dc=example"
rootdn "cn=admin,dc=corp,dc=example"
rootpw $(slappasswd -s secret)
directory $D/db
CONF
P='cn=Public Key Services,cn=Services,cn=Configuration,dc=corp,dc=example'
{ printf 'dn: dc=corp,dc=example\nobjectClass: dcObject\nobjectClass: organization\no: corp\ndc: corp\n\n'
  for dn in cn=Configuration,dc=corp,dc=example cn=Services,cn=Configuration,dc=corp,dc=example "$P" \
            "cn=Enrollment Services,$P" "cn=corp-CA01-CA,cn=Enrollment Services,$P"; do
    printf 'dn: %s\nobjectClass: applicationProcess\ncn: %s\n\n' "$dn" "$(echo "$dn" | sed 's/^cn=\([^,]*\),.*/\1/')"
  done; } > data.ldif
slapadd -f slapd.conf -l data.ldif
ip netns add $NS; ip netns exec $NS ip link set lo up
ip netns exec $NS tcpdump -i lo -U -s 0 -w $D/openldap.pcap tcp port 389 & TD=$!
sleep 1; ip netns exec $NS slapd -f $D/slapd.conf -h ldap://127.0.0.1:389/; sleep 1
X="ip netns exec $NS ldapsearch -x -H ldap://127.0.0.1"
$X -D cn=admin,dc=corp,dc=example -w secret -b "cn=Enrollment Services,$P" -s one '(objectClass=applicationProcess)' cn || true   # stream 0
$X -D cn=admin,dc=corp,dc=example -w wrong -b "cn=Enrollment Services,$P" || true                                                 # stream 1: 49
$X -b "cn=Certificate Templates,$P" '(|(cn=User*)(cn=*Machine))' || true                                                           # stream 2: 32
LDAPTLS_REQCERT=never $X -ZZ -D cn=admin,dc=corp,dc=example -w secret -b dc=corp,dc=example -s base || true                       # stream 3
sleep 1; kill $(cat $D/slapd.pid); sleep 1; kill $TD; ip netns del $NS
F='-e frame.number -e tcp.srcport -e udp.srcport -e tcp.payload -e udp.payload -e ldap.messageID -e ldap.protocolOp -e ldap.resultCode -e ldap.mechanism -e ldap.baseObject -e ldap.sasl_buffer_length -e ldap.version -e ldap.name -e ldap.scope -e ldap.objectName -e ldap.object -e ldap.requestName -e ldap.LDAPURL -e ldap.AttributeDescription -e ldap.errorMessage'
cd - >/dev/null
for s in 0 1 2; do
	tshark -n -r $D/openldap.pcap -o tcp.desegment_tcp_streams:TRUE -Y "tcp.stream==$s && tcp.len>0" -T fields -E occurrence=a -E aggregator='|' $F > tshark/openldap_stream$s.tsv
done
tshark -n -r $D/openldap.pcap -o tcp.desegment_tcp_streams:TRUE -Y 'tcp.stream==3 && ldap' -T fields -E occurrence=a -E aggregator='|' $F > tshark/openldap_stream3_starttls.tsv
