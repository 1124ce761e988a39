#!/usr/bin/env bash
# adcsflow lab: a Samba AD DC, an HTTPS stand-in for CES, a client and a firewalling router in
# network namespaces; real clients (MIT Kerberos, OpenLDAP, impacket, curl) run once per firewall
# scenario while tcpdump records on both sides of the router, and the freshly built
# `adcsflow capture` records on the client beside tcpdump. Writes
# testdata/captures/lab-<scenario>.{pcapng,server.pcapng,truth.json,tshark.json}, then checks
# them: the lab tests of analyzer/ and cmd/adcsflow (go test -run TestLabScenarios) on the new
# captures and on the live adcsflow captures, and the live report against the tcpdump analysis.
#
# usage (as root on Debian 12):  testdata/lab/run.sh [SCENARIO...]     (default: all scenarios)
# env: LAB_KEEP=1 keeps the work directory (/tmp/adcslab.*) for inspection.
#      LAB_SKIP_APT=1 skips the apt-get step (packages already installed).
#      LAB_OUT=DIR writes the captures there instead of testdata/captures.
#      LAB_SKIP_TESTS=1 skips the checks at the end.  GO=path: the go command (default go).
set -Eeuo pipefail

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$LAB_DIR/../.." && pwd)
CAPTURES=${LAB_OUT:-$LAB_DIR/../captures}
mkdir -p "$CAPTURES" && CAPTURES=$(cd "$CAPTURES" && pwd)
GO=${GO:-go}
DERIVE_TRUTH=${DERIVE_TRUTH:-$LAB_DIR/../../../shared/captures/derive_truth.py}
[ -f "$DERIVE_TRUTH" ] || DERIVE_TRUTH=/work/shared/captures/derive_truth.py
PY=/usr/bin/python3

# --- lab constants --------------------------------------------------------------------------
NS_PREFIX=adcslab
NS_CLIENT=$NS_PREFIX-client NS_ROUTER=$NS_PREFIX-router NS_DC=$NS_PREFIX-dc NS_CA=$NS_PREFIX-ca
CLIENT_NET=10.77.1.0/24 SERVER_NET=10.77.2.0/24 LAB_NET=10.77.0.0/16
CLIENT_IP=10.77.1.10 ROUTER_CLIENT_IP=10.77.1.1
ROUTER_SERVER_IP=10.77.2.1 DC_IP=10.77.2.10 CA_IP=10.77.2.20
REALM=LAB.ADCSFLOW.TEST DOMAIN=lab.adcsflow.test NETBIOS=LAB
DC_HOST=dc1 CA_HOST=ca1 CLIENT_HOST=client1
DC_FQDN=$DC_HOST.$DOMAIN CA_FQDN=$CA_HOST.$DOMAIN CES_FQDN=ces.$DOMAIN
BASE_DN=DC=lab,DC=adcsflow,DC=test
ADMIN_PASS='Adm1n!Lab-Passw0rd'
USER=alice USER_PASS='Lab-Alice-1' USER_PASS2='Lab-Alice-2'
GROUPS_FOR_BIG_PAC=120           # alice's group count: makes tickets > 1 MTU (IP fragments)
RPC_RANGE_LO=49152 RPC_RANGE_HI=49167   # Samba "rpc server dynamic port range"
CES_PATH=/LAB-CA_CES_Kerberos/service.svc

SCENARIOS_ALL=(all-open ldaps-dropped dynrpc-dropped kpasswd-reset krb-udp-dropped kpasswd-udp-icmp
               ldaps-and-dynrpc-dropped)

WORK="" PIDS=() NETNS_ETC_MADE=() LIVE_FAILED=()
declare -A RPC_PORTS=()

# fd 3 = the script's own stderr: a trap can fire inside a function whose stderr is redirected to a
# log file, and cleanup's messages must still reach the terminal
exec 3>&2
log() { printf '[lab %s] %s\n' "$(date +%H:%M:%S)" "$*" >&3; }
die() { log "ERROR: $*"; exit 1; }
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
# in_host NS HOSTNAME CMD...: also in a UTS namespace of its own, so the host's name never leaks in
in_host() {
    local ns=$1 name=$2; shift 2
    ip netns exec "$ns" unshare --uts sh -c 'hostname "$0" && exec "$@"' "$name" "$@"
}

# --- step 0: prerequisites --------------------------------------------------------------------
require_root() {
    [ "$(id -u)" = 0 ] || die "run as root (network namespaces, nftables, Samba)"
}

install_packages() {
    [ "${LAB_SKIP_APT:-0}" = 1 ] && return 0
    local pkgs=(samba samba-ad-dc samba-ad-provision samba-dsdb-modules samba-vfs-modules winbind
                krb5-user ldap-utils libsasl2-modules-gssapi-mit smbclient python3-impacket
                tcpdump tshark nftables iproute2 iputils-ping ethtool curl openssl procps)
    local missing=()
    for p in "${pkgs[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} = 0 ] && { log "packages: all present"; return 0; }
    log "packages: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # policy-rc.d keeps the package scripts from starting smbd/nmbd/samba-ad-dc on the host
    local prc=/usr/sbin/policy-rc.d made_prc=0
    if [ ! -e $prc ]; then printf '#!/bin/sh\nexit 101\n' > $prc; chmod +x $prc; made_prc=1; fi
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    [ $made_prc = 1 ] && rm -f $prc
    return 0
}

# the adcsflow under test, built from this checkout (capture needs cgo and libpcap-dev)
require_go() {
    command -v "$GO" >/dev/null || die "no go command ('$GO'; under sudo: sudo env PATH=\"\$PATH\" ... or GO=/path/to/go)"
}

build_adcsflow() {
    (cd "$REPO_ROOT" && "$GO" build -o "$WORK/adcsflow" ./cmd/adcsflow) >"$WORK/logs/go-build.log" 2>&1 \
        || { cat "$WORK/logs/go-build.log" >&3; die "go build ./cmd/adcsflow failed"; }
    log "adcsflow: built $WORK/adcsflow from $REPO_ROOT ($(cd "$REPO_ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?'))"
}

make_workdir() {
    WORK=$(mktemp -d /tmp/adcslab.XXXXXX)
    mkdir -p "$WORK"/{dc,ca,client,logs,run}
    log "work directory: $WORK"
}

# --- cleanup: every process by PID, then namespaces ----------------------------------------
stop_pid() {
    local pid=$1 sig=${2:-TERM} i
    kill -0 "$pid" 2>/dev/null || return 0
    kill -"$sig" "$pid" 2>/dev/null || true
    for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
}

kill_ns_pids() {   # processes still inside one of OUR namespaces (e.g. samba's children)
    local ns=$1 pid
    ip netns list 2>/dev/null | grep -qw "^$ns" || return 0
    for pid in $(ip netns pids "$ns" 2>/dev/null); do stop_pid "$pid"; done
}

delete_namespaces() {
    local ns
    for ns in "$NS_CLIENT" "$NS_ROUTER" "$NS_DC" "$NS_CA"; do
        kill_ns_pids "$ns"
        ip netns list 2>/dev/null | grep -qw "^$ns" && ip netns del "$ns"
        rm -rf "/etc/netns/$ns"
    done
    rmdir /etc/netns 2>/dev/null || true
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM ERR
    set +e
    log "cleanup (exit code $rc)"
    local i
    for ((i=${#PIDS[@]}-1; i>=0; i--)); do stop_pid "${PIDS[$i]}"; done
    delete_namespaces
    if [ -n "$WORK" ] && [ -d "$WORK" ]; then
        if [ "${LAB_KEEP:-0}" = 1 ] || [ $rc != 0 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
    fi
    exit $rc
}

# start CMD... in namespace NS in the background; remember its PID. The command line is in_host's,
# spelled out: `in_host ... &` would fork a bash subshell to run the function, and $! would be that
# subshell, not the process (a TERM to it left tcpdump and samba running). A simple command in the
# background is exec'd in the forked child, and ip netns exec, unshare and sh's exec keep that PID.
start_bg() {   # start_bg NS HOSTNAME LOGFILE CMD...; sets BG_PID
    local ns=$1 name=$2 logf=$3; shift 3
    ip netns exec "$ns" unshare --uts sh -c 'hostname "$0" && exec "$@"' "$name" "$@" >"$logf" 2>&1 &
    BG_PID=$!
    PIDS+=("$BG_PID")
}

start_bg_out() {   # start_bg_out NS HOSTNAME STDOUT STDERR CMD...: like start_bg, stdout kept apart
    local ns=$1 name=$2 outf=$3 errf=$4; shift 4
    ip netns exec "$ns" unshare --uts sh -c 'hostname "$0" && exec "$@"' "$name" "$@" >"$outf" 2>"$errf" &
    BG_PID=$!
    PIDS+=("$BG_PID")
}

# --- step 1: network --------------------------------------------------------------------------
create_namespaces() {
    delete_namespaces   # leftovers of an interrupted earlier run (our names only)
    local ns
    for ns in "$NS_CLIENT" "$NS_ROUTER" "$NS_DC" "$NS_CA"; do
        ip netns add "$ns"
        in_ns "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
        in_ns "$ns" ip link set lo up
    done
    ip link add eth0 netns "$NS_CLIENT" type veth peer name r-client netns "$NS_ROUTER"
    ip link add eth0 netns "$NS_DC" type veth peer name r-dc netns "$NS_ROUTER"
    ip link add eth0 netns "$NS_CA" type veth peer name r-ca netns "$NS_ROUTER"
    in_ns "$NS_ROUTER" ip link add br-srv type bridge
    in_ns "$NS_ROUTER" ip link set r-dc master br-srv
    in_ns "$NS_ROUTER" ip link set r-ca master br-srv
}

# offloads off: the captures then show wire-sized segments and real IP fragments, not GSO blobs
no_offload() { in_ns "$1" ethtool -K "$2" tx off rx off tso off gso off gro off >/dev/null 2>&1 || true; }

configure_network() {
    in_ns "$NS_CLIENT" ip addr add $CLIENT_IP/24 dev eth0
    in_ns "$NS_DC" ip addr add $DC_IP/24 dev eth0
    in_ns "$NS_CA" ip addr add $CA_IP/24 dev eth0
    in_ns "$NS_ROUTER" ip addr add $ROUTER_CLIENT_IP/24 dev r-client
    in_ns "$NS_ROUTER" ip addr add $ROUTER_SERVER_IP/24 dev br-srv
    local pair
    for pair in "$NS_CLIENT eth0" "$NS_DC eth0" "$NS_CA eth0" "$NS_ROUTER r-client" \
                "$NS_ROUTER r-dc" "$NS_ROUTER r-ca" "$NS_ROUTER br-srv"; do
        set -- $pair; no_offload "$1" "$2"; in_ns "$1" ip link set "$2" up
    done
    in_ns "$NS_CLIENT" ip route add default via $ROUTER_CLIENT_IP
    in_ns "$NS_DC" ip route add default via $ROUTER_SERVER_IP
    in_ns "$NS_CA" ip route add default via $ROUTER_SERVER_IP
    in_ns "$NS_ROUTER" sysctl -qw net.ipv4.ip_forward=1
    # names: `ip netns exec` bind-mounts /etc/netns/<ns>/* over /etc/* for the commands it runs
    local ns
    for ns in "$NS_CLIENT" "$NS_DC" "$NS_CA" "$NS_ROUTER"; do
        mkdir -p "/etc/netns/$ns"
        cat >"/etc/netns/$ns/hosts" <<EOF
127.0.0.1 localhost
$DC_IP $DC_FQDN $DC_HOST
$CA_IP $CA_FQDN $CA_HOST $CES_FQDN
$CLIENT_IP $CLIENT_HOST.$DOMAIN $CLIENT_HOST
EOF
        printf 'search %s\nnameserver %s\n' "$DOMAIN" "$DC_IP" >"/etc/netns/$ns/resolv.conf"
    done
    firewall_apply all-open
    in_ns "$NS_CLIENT" ping -c1 -W2 $DC_IP >/dev/null || die "client cannot reach the DC through the router"
    log "network: client $CLIENT_IP -> router $ROUTER_CLIENT_IP|$ROUTER_SERVER_IP -> dc $DC_IP, ca $CA_IP"
}

# --- step 2: lab CA and the HTTPS (CES stand-in) server --------------------------------------------
make_lab_ca() {
    local d=$WORK/ca
    openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/DC=test/DC=adcsflow/DC=lab/CN=LAB-CA" \
        -keyout "$d/ca.key" -out "$d/ca.pem" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=$CES_FQDN" -keyout "$d/ces.key" -out "$d/ces.csr" 2>/dev/null
    printf 'subjectAltName=DNS:%s,DNS:%s\nextendedKeyUsage=serverAuth\n' "$CES_FQDN" "$CA_FQDN" >"$d/ext.cnf"
    openssl x509 -req -in "$d/ces.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial -days 30 \
        -extfile "$d/ext.cnf" -out "$d/ces.pem" 2>/dev/null
}

start_ces() {
    start_bg "$NS_CA" $CA_FQDN "$WORK/logs/https.log" $PY "$LAB_DIR/https_server.py" $CA_IP 443 \
        "$WORK/ca/ces.pem" "$WORK/ca/ces.key"
    wait_port "$NS_CA" tcp 443
}

# --- step 3: Samba AD DC -------------------------------------------------------------------------
provision_dc() {
    local d=$WORK/dc t0=$SECONDS
    mkdir -p "$d/run" "$d/logs" "$d/etc"
    # -s to an empty file: provision writes a fresh one there and ignores the host's /etc/samba/smb.conf
    : >"$d/etc/smb.conf"
    in_host "$NS_DC" $DC_FQDN samba-tool domain provision -s "$d/etc/smb.conf" \
        --realm $REALM --domain $NETBIOS --server-role dc --dns-backend SAMBA_INTERNAL \
        --adminpass "$ADMIN_PASS" --targetdir "$d" --host-ip $DC_IP --host-name $DC_HOST \
        --option="pid directory=$d/run" --option="ncalrpc dir=$d/run/ncalrpc" \
        --option="winbindd socket directory=$d/run/winbindd" \
        >"$WORK/logs/provision.log" 2>&1 || { tail -20 "$WORK/logs/provision.log" >&2; die "provision failed"; }
    PROVISION_SECONDS=$((SECONDS - t0))
    log "samba: provisioned $REALM in ${PROVISION_SECONDS}s"
}

write_dc_config() {
    local d=$WORK/dc
    cat >"$d/etc/smb.conf" <<EOF
# adcsflow lab DC (generated by testdata/lab/run.sh)
[global]
	netbios name = ${DC_HOST^^}
	realm = $REALM
	workgroup = $NETBIOS
	server role = active directory domain controller
	dns forwarder = $DC_IP
	interfaces = lo eth0
	private dir = $d/private
	lock directory = $d
	state directory = $d/state
	cache directory = $d/cache
	binddns dir = $d/bind-dns
	pid directory = $d/run
	ncalrpc dir = $d/run/ncalrpc
	winbindd socket directory = $d/run/winbindd
	log file = $d/logs/log.%m
	logging = file
	rpc server dynamic port range = $RPC_RANGE_LO-$RPC_RANGE_HI
	ldap server require strong auth = no
	server services = -dnsupdate
	kdc default domain supported enctypes = aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96
	disable netbios = yes
	smb ports = 445

[sysvol]
	path = $d/state/sysvol
	read only = No

[netlogon]
	path = $d/state/sysvol/$DOMAIN/scripts
	read only = No
EOF
}

start_dc() {
    local d=$WORK/dc
    start_bg "$NS_DC" $DC_FQDN "$WORK/logs/samba.log" env KRB5_CONFIG="$d/private/krb5.conf" \
        samba -F --debug-stdout -M single -s "$d/etc/smb.conf"
    SAMBA_PID=$BG_PID
    local p
    for p in "tcp 88" "udp 88" "tcp 464" "udp 464" "tcp 389" "udp 389" "tcp 636" "tcp 3268" "tcp 135"; do
        wait_port "$NS_DC" $p
    done
    log "samba: running (pid $SAMBA_PID)"
}

wait_port() {   # NS tcp|udp PORT: wait until something listens
    local ns=$1 proto=$2 port=$3 i flag=-ltn
    [ "$proto" = udp ] && flag=-lun
    for i in $(seq 1 120); do
        in_ns "$ns" ss -H $flag "sport = :$port" | grep -q . && return 0
        sleep 0.5
    done
    die "nothing listens on $proto/$port in $ns"
}

populate_dc() {
    in_host "$NS_DC" $DC_FQDN $PY "$LAB_DIR/dc_setup.py" "$WORK/dc/etc/smb.conf" $USER "$USER_PASS" \
        $GROUPS_FOR_BIG_PAC >>"$WORK/logs/dc_setup.log" 2>&1 || { cat "$WORK/logs/dc_setup.log" >&2; die "dc setup failed"; }
    # the DC's own SPNs (ldap/dc1..., HOST/...): normally added by the dnsupdate task, disabled here
    in_host "$NS_DC" $DC_FQDN samba_spnupdate -s "$WORK/dc/etc/smb.conf" >>"$WORK/logs/dc_setup.log" 2>&1 || true
}

reset_user_password() {
    in_host "$NS_DC" $DC_FQDN samba-tool user setpassword $USER --newpassword="$USER_PASS" -s "$WORK/dc/etc/smb.conf" \
        >>"$WORK/logs/dc_setup.log" 2>&1
}

# which dynamic ports Samba's endpoint mapper hands out (asked from inside the dc namespace, not captured)
discover_rpc_ports() {
    local line
    while read -r line; do
        local name port
        name=$(sed -n 's/.*"interface": "\([A-Z]*\)".*/\1/p' <<<"$line")
        port=$(sed -n 's/.*"port": \([0-9]*\).*/\1/p' <<<"$line")
        [ -n "$name" ] && [ -n "$port" ] && RPC_PORTS[$name]=$port
    done < <(in_host "$NS_DC" $DC_FQDN $PY "$LAB_DIR/rpc_epm.py" 127.0.0.1 x x x --map-only)
    [ -n "${RPC_PORTS[SAMR]:-}" ] || die "endpoint mapper gave no SAMR port"
    log "epm: SAMR -> tcp/${RPC_PORTS[SAMR]}, NETLOGON -> tcp/${RPC_PORTS[NETLOGON]:-?} (range $RPC_RANGE_LO-$RPC_RANGE_HI)"
}

# --- step 4: client configuration -----------------------------------------------------------------
write_client_config() {
    local c=$WORK/client limit
    for limit in udp:32700 tcp:1; do
        # udp: UDP first even for big messages (so they are IP-fragmented); tcp: always TCP
        cat >"$c/krb5-${limit%%:*}.conf" <<EOF
[libdefaults]
	default_realm = $REALM
	dns_lookup_kdc = false
	dns_lookup_realm = false
	rdns = false
	dns_canonicalize_hostname = false
	udp_preference_limit = ${limit#*:}
[realms]
	$REALM = {
		kdc = $DC_FQDN
		admin_server = $DC_FQDN
		kpasswd_server = $DC_FQDN
	}
[domain_realm]
	.$DOMAIN = $REALM
	$DOMAIN = $REALM
EOF
    done
    printf 'TLS_REQCERT never\n' >"$c/ldap.conf"
}

# --- step 5: the firewall ---------------------------------------------------------------------------
# A scenario is a list of "transport:ports:action", action = drop | reset | icmp. make_truth.py reads
# the same list, so the truth files and the ruleset cannot disagree.
scenario_spec() {
    local rpc=${RPC_PORTS[SAMR]:-0}
    [ -n "${RPC_PORTS[NETLOGON]:-}" ] && [ "${RPC_PORTS[NETLOGON]}" != "$rpc" ] && rpc="$rpc,${RPC_PORTS[NETLOGON]}"
    case $1 in
        all-open)                 echo "" ;;
        ldaps-dropped)            echo "tcp:636:drop" ;;
        dynrpc-dropped)           echo "tcp:$RPC_RANGE_LO-$RPC_RANGE_HI:drop" ;;
        kpasswd-reset)            echo "tcp:464:reset" ;;
        krb-udp-dropped)          echo "udp:88:drop" ;;
        kpasswd-udp-icmp)         echo "udp:464:icmp" ;;
        ldaps-and-dynrpc-dropped) echo "tcp:636:drop tcp:$rpc:drop" ;;
        *) die "unknown scenario $1" ;;
    esac
}

firewall_apply() {
    local scenario=$1 rules="" r proto ports action verdict
    for r in $(scenario_spec "$scenario"); do
        IFS=: read -r proto ports action <<<"$r"
        case $action in
            drop)  verdict=drop ;;
            reset) verdict="reject with tcp reset" ;;
            icmp)  verdict="reject with icmp type port-unreachable" ;;
        esac
        rules+="		ip saddr $CLIENT_NET ip daddr $SERVER_NET $proto dport { $ports } $verdict"$'\n'
    done
    cat >"$WORK/run/fw-$scenario.nft" <<EOF
flush ruleset
table ip adcslab_fw {
	chain forward {
		type filter hook forward priority filter; policy accept;
		ip daddr != $LAB_NET drop
		ct state established,related accept
$rules	}
}
EOF
    in_ns "$NS_ROUTER" nft -f "$WORK/run/fw-$scenario.nft"
}

# --- step 6: captures ---------------------------------------------------------------------------------
# Beside the client-side tcpdump, `adcsflow capture` (default AD CS filter) on the same interface:
# $WORK/<s>.adcsflow.pcapng and its JSON report $WORK/<s>.adcsflow.json. --duration is only a
# safety net; it is stopped with SIGINT like Ctrl-C (Go's signal.Notify re-enables the SIGINT
# that bash ignores in background jobs).
capture_start() {
    local s=$1
    start_bg "$NS_CLIENT" $CLIENT_HOST "$WORK/logs/tcpdump-client-$s.log" \
        tcpdump -i eth0 -U -s 0 -w "$WORK/run/$s.client.pcap" "net $LAB_NET"
    CAP_CLIENT_PID=$BG_PID
    start_bg "$NS_ROUTER" router "$WORK/logs/tcpdump-server-$s.log" \
        tcpdump -i br-srv -U -s 0 -w "$WORK/run/$s.server.pcap" "net $LAB_NET"
    CAP_SERVER_PID=$BG_PID
    rm -f "$WORK/$s.adcsflow.pcapng"
    start_bg_out "$NS_CLIENT" $CLIENT_HOST "$WORK/$s.adcsflow.json" "$WORK/logs/adcsflow-capture-$s.log" \
        "$WORK/adcsflow" capture -i eth0 --duration 10m --write "$WORK/$s.adcsflow.pcapng" --format json
    CAP_LIVE_PID=$BG_PID
    local i
    for i in $(seq 1 100); do
        grep -q listening "$WORK/logs/tcpdump-client-$s.log" && grep -q listening "$WORK/logs/tcpdump-server-$s.log" \
            && grep -q '^capturing on' "$WORK/logs/adcsflow-capture-$s.log" && break
        kill -0 "$CAP_LIVE_PID" 2>/dev/null || { cat "$WORK/logs/adcsflow-capture-$s.log" >&3; die "adcsflow capture exited at start"; }
        sleep 0.1
    done
    grep -q '^capturing on' "$WORK/logs/adcsflow-capture-$s.log" || die "adcsflow capture did not start in 10 s"
    sleep 0.5
}

# after its SIGINT: wait for that PID to write its report and exit (60 s, then TERM/KILL: a failure)
stop_live_capture() {
    local s=$1 pid=$CAP_LIVE_PID rc=0 i
    for i in $(seq 1 600); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
        stop_pid "$pid"
        LIVE_FAILED+=("$s: adcsflow capture did not exit within 60 s of SIGINT")
    fi
    wait "$pid" 2>/dev/null || rc=$?
    if [ $rc != 0 ]; then
        LIVE_FAILED+=("$s: adcsflow capture exited with $rc (log $WORK/logs/adcsflow-capture-$s.log)")
    fi
    log "  adcsflow capture: rc=$rc, $(tail -1 "$WORK/logs/adcsflow-capture-$s.log")"
}

capture_stop() {
    local s=$1
    sleep 1.5   # late retransmissions / FINs
    kill -INT "$CAP_LIVE_PID" 2>/dev/null || true
    stop_pid "$CAP_CLIENT_PID"   # TERM: background jobs of a script ignore SIGINT
    stop_pid "$CAP_SERVER_PID"
    stop_live_capture "$s"
    local comment="adcsflow lab scenario $s; firewall: $(scenario_spec "$s" | sed 's/^$/none/')"
    editcap -F pcapng --capture-comment "$comment (client side, $CLIENT_IP eth0)" \
        "$WORK/run/$s.client.pcap" "$CAPTURES/lab-$s.pcapng"
    editcap -F pcapng --capture-comment "$comment (server side, router br-srv)" \
        "$WORK/run/$s.server.pcap" "$CAPTURES/lab-$s.server.pcapng"
}

# --- step 7: the clients -------------------------------------------------------------------------------
# step NAME CMD...: run in the client namespace, record the exit code in steps.jsonl
step() {
    local name=$1 rc=0 t0; shift
    t0=$(date +%s.%N)
    in_host "$NS_CLIENT" $CLIENT_HOST.$DOMAIN env LDAPCONF="$WORK/client/ldap.conf" LDAPRC=/dev/null HOME="$WORK/client" \
        KRB5CCNAME="FILE:$WORK/client/ccache" "$@" >>"$STEP_LOG.out" 2>&1 </dev/null || rc=$?
    printf '{"step": "%s", "rc": %d, "start": %s, "end": %s}\n' "$name" $rc "$t0" "$(date +%s.%N)" >>"$STEP_LOG"
    log "  $name: rc=$rc"
}

kinit_step() {   # kinit_step NAME udp|tcp
    local name=$1 conf=$WORK/client/krb5-$2.conf
    printf '== %s\n' "$name" >>"$STEP_LOG.out"
    step "$name" sh -c "printf '%s\n' '$USER_PASS' | KRB5_CONFIG=$conf kinit $USER@$REALM && KRB5_CONFIG=$conf klist"
}

# kpasswd: old -> new password, then the DC puts the old one back (not captured: inside the dc namespace)
kpasswd_mit_step() {   # MIT kpasswd: TCP first, UDP only if TCP cannot reach the server
    local conf=$WORK/client/krb5-udp.conf
    step kpasswd-mit sh -c "printf '%s\n%s\n%s\n' '$USER_PASS' '$USER_PASS2' '$USER_PASS2' | KRB5_CONFIG=$conf kpasswd $USER@$REALM"
    reset_user_password
}

kpasswd_udp_step() {   # Windows-like: UDP first, TCP on failure (ticket from MIT kinit -S kadmin/changepw)
    local conf=$WORK/client/krb5-udp.conf cc=$WORK/client/ccache-changepw
    rm -f "$cc"
    step kinit-changepw sh -c "printf '%s\n' '$USER_PASS' | KRB5_CONFIG=$conf KRB5CCNAME=FILE:$cc kinit -S kadmin/changepw $USER@$REALM"
    step kpasswd-udp-first $PY "$LAB_DIR/kpasswd_udp.py" "$cc" $DC_IP $CLIENT_IP "$USER_PASS2"
    reset_user_password
}

ldap_step() {   # ldap_step NAME URI [ldapsearch options...]
    local name=$1 uri=$2; shift 2
    step "$name" env KRB5_CONFIG="$WORK/client/krb5-udp.conf" ldapsearch -LLL -o nettimeout=4 -H "$uri" "$@" \
        -b "CN=Public Key Services,CN=Services,CN=Configuration,$BASE_DN" -s one '(objectClass=*)' cn
}

run_clients() {
    local s=$1
    STEP_LOG=$WORK/run/$s.steps.jsonl RPC_LOG=$WORK/run/$s.rpc.jsonl
    : >"$STEP_LOG"; : >"$RPC_LOG"; : >"$STEP_LOG.out"
    rm -f "$WORK/client/ccache"
    step cldap-ping $PY "$LAB_DIR/cldap_ping.py" $DC_IP $DOMAIN
    kinit_step kinit-udp udp
    kinit_step kinit-tcp tcp
    ldap_step ldap-simple-389 "ldap://$DC_FQDN" -x -D "$USER@$REALM" -w "$USER_PASS"
    ldap_step ldap-gssapi-389 "ldap://$DC_FQDN" -Y GSSAPI -Q
    ldap_step ldaps-simple-636 "ldaps://$DC_FQDN" -x -D "$USER@$REALM" -w "$USER_PASS"
    ldap_step ldap-gc-3268 "ldap://$DC_FQDN:3268" -x -D "$USER@$REALM" -w "$USER_PASS"
    in_host "$NS_CLIENT" $CLIENT_HOST.$DOMAIN $PY "$LAB_DIR/rpc_epm.py" $DC_IP $USER "$USER_PASS" $NETBIOS >"$RPC_LOG" 2>>"$STEP_LOG.out" \
        && rc=0 || rc=$?
    printf '{"step": "epm-rpc", "rc": %d}\n' $rc >>"$STEP_LOG"; log "  epm-rpc: rc=$rc"
    step https-443 curl -sS --max-time 10 --connect-timeout 4 --cacert "$WORK/ca/ca.pem" \
        -d '<enroll/>' "https://$CES_FQDN$CES_PATH"
    kpasswd_mit_step
    kpasswd_udp_step
}

# --- step 8: truth files -------------------------------------------------------------------------------
write_truth() {
    local s=$1
    $PY "$DERIVE_TRUTH" "$CAPTURES/lab-$s.pcapng" >"$CAPTURES/lab-$s.tshark.json"
    $PY "$LAB_DIR/make_truth.py" --scenario "$s" --spec "$(scenario_spec "$s")" \
        --nft "$WORK/run/fw-$s.nft" --steps "$STEP_LOG" --rpc "$RPC_LOG" \
        --tshark "$CAPTURES/lab-$s.tshark.json" --server-tshark <($PY "$DERIVE_TRUTH" "$CAPTURES/lab-$s.server.pcapng") \
        --client $CLIENT_IP --dc $DC_IP --ca $CA_IP --router $ROUTER_CLIENT_IP \
        --rpc-range $RPC_RANGE_LO-$RPC_RANGE_HI --provision-seconds "${PROVISION_SECONDS:-0}" \
        >"$CAPTURES/lab-$s.truth.json"
}

run_scenario() {
    local s=$1 t0=$SECONDS
    log "scenario $s: firewall '$(scenario_spec "$s")'"
    firewall_apply "$s"
    capture_start "$s"
    run_clients "$s"
    capture_stop "$s"
    firewall_apply all-open
    write_truth "$s"
    log "scenario $s: done in $((SECONDS - t0))s, $(du -k "$CAPTURES/lab-$s.pcapng" | cut -f1) KB"
}

# --- step 9: checks ---------------------------------------------------------------------------------------
# The live report against the analysis of the tcpdump capture of the same scenario: the same flows
# (5-tuple, service, outcome, RPC interface), the same endpoint-mapper hand-outs, the same diff.
compare_live() {
    local s=$1
    "$WORK/adcsflow" analyze --format json "$CAPTURES/lab-$s.pcapng" >"$WORK/run/$s.tcpdump.json" 2>"$WORK/logs/analyze-$s.log" || true
    $PY - "$WORK/$s.adcsflow.json" "$WORK/run/$s.tcpdump.json" <<'PYEOF'
import json, sys
def load(p):
    with open(p) as f:
        return json.load(f)
def flows(r):
    return sorted("%s %s:%s -> %s:%s %s %s %s" % (f["transport"], f["client"], f["client_port"], f["server"],
                  f["server_port"], f.get("service", ""), f["outcome"], f.get("rpc_interface", "")) for f in r.get("flows") or [])
def epm(r):
    return sorted("%s:%s %s via %s used=%s" % (a.get("server"), a.get("port"), a.get("interface", ""), a.get("via", ""),
                  a.get("used")) for a in r.get("rpc_assignments") or [])
def diff(r):
    return sorted("%s: %s, %d blocked" % (d["rule"], d["status"], len(d.get("blocked") or [])) for d in r.get("diff") or [])
live, ref = load(sys.argv[1]), load(sys.argv[2])
bad = 0
for name, fn in (("flows", flows), ("rpc hand-outs", epm), ("diff", diff)):
    a, b = fn(live), fn(ref)
    if a != b:
        bad += 1
        print("%s differ: live capture only: %s; tcpdump capture only: %s" % (name, sorted(set(a) - set(b)), sorted(set(b) - set(a))))
if not live.get("flows"):
    bad += 1
    print("the live capture has no flows")
sys.exit(1 if bad else 0)
PYEOF
}

run_checks() {
    [ "${LAB_SKIP_TESTS:-0}" = 1 ] && { log "checks skipped (LAB_SKIP_TESTS=1)"; return 0; }
    local s failed=() live=$WORK/live
    mkdir -p "$live"
    for s in "$@"; do
        if compare_live "$s" >"$WORK/logs/compare-$s.log" 2>&1; then
            log "live vs tcpdump, $s: same flows, outcomes, hand-outs and diff"
        else
            failed+=("live vs tcpdump, $s: $(head -c 600 "$WORK/logs/compare-$s.log")")
        fi
        # the live capture beside the scenario's truth, for the same Go assertions
        ln -sf "$WORK/$s.adcsflow.pcapng" "$live/lab-$s.pcapng"
        ln -sf "$CAPTURES/lab-$s.truth.json" "$live/lab-$s.truth.json"
    done
    local dir what logf
    for dir in "$CAPTURES" "$live"; do
        what="tcpdump captures ($dir)" logf=$WORK/logs/go-test-captures.log
        [ "$dir" = "$live" ] && what="live adcsflow captures ($dir)" logf=$WORK/logs/go-test-live.log
        if (cd "$REPO_ROOT" && ADCSFLOW_LAB_DIR=$dir "$GO" test -count=1 -run 'TestLabScenarios' ./analyzer/ ./cmd/adcsflow/) \
            >"$logf" 2>&1; then
            log "go test -run TestLabScenarios on the $what: ok"
        else
            cat "$logf" >&3
            failed+=("go test -run TestLabScenarios on the $what (log $logf)")
        fi
    done
    failed+=(${LIVE_FAILED[@]+"${LIVE_FAILED[@]}"})
    [ ${#failed[@]} = 0 ] && { log "checks: all passed"; return 0; }
    for s in "${failed[@]}"; do log "FAILED: $s"; done
    die "${#failed[@]} check(s) failed"
}

hold_for_debugging() {   # LAB_HOLD=1: keep the lab up (max 20 min) until $WORK/release exists
    [ "${LAB_HOLD:-0}" = 1 ] || return 0
    log "holding the lab up: touch $WORK/release to tear it down"
    local i
    for i in $(seq 1 1200); do [ -e "$WORK/release" ] && return 0; sleep 1; done
}

main() {
    local scenarios=("$@") t_start=$SECONDS
    [ ${#scenarios[@]} = 0 ] && scenarios=("${SCENARIOS_ALL[@]}")
    require_root
    require_go
    install_packages
    trap cleanup EXIT
    trap 'exit 130' INT TERM
    make_workdir
    build_adcsflow
    create_namespaces
    configure_network
    make_lab_ca
    start_ces
    provision_dc
    write_dc_config
    start_dc
    populate_dc
    discover_rpc_ports
    write_client_config
    local s
    for s in "${scenarios[@]}"; do run_scenario "$s"; done
    log "scenarios done in $((SECONDS - t_start))s (provisioning ${PROVISION_SECONDS}s)"
    hold_for_debugging
    run_checks "${scenarios[@]}"
    log "all done in $((SECONDS - t_start))s"
}

main "$@"
