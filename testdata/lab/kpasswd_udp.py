#!/usr/bin/python3
"""kpasswd (RFC 3244, version 1 "change password") that tries UDP first and TCP on failure, as
Windows clients do. MIT's kpasswd goes TCP first and uses UDP only when TCP cannot reach the server,
so without this client a capture never shows a kpasswd request over UDP while tcp/464 works.

The initial ticket for kadmin/changepw comes from MIT (`kinit -S kadmin/changepw`, an AS exchange
as the protocol requires); this script only builds AP-REQ + KRB-PRIV(new password) with impacket's
ASN.1 types and crypto, sends it to udp/464 (falls back to tcp/464 on a timeout or an ICMP
unreachable) and reads the result code from the reply.

usage: kpasswd_udp.py CCACHE DC_IP CLIENT_IP NEW_PASSWORD  -> JSON lines; exit 0 on result code 0
"""
import datetime
import json
import os
import socket
import struct
import sys

from pyasn1.codec.der import decoder, encoder
from impacket.krb5 import constants
from impacket.krb5.asn1 import (AP_REP, AP_REQ, KRB_ERROR, KRB_PRIV, TGS_REP, Authenticator,
                                EncAPRepPart, EncKrbPrivPart, seq_set)
from impacket.krb5.ccache import CCache
from impacket.krb5.crypto import Key, _enctype_table
from impacket.krb5.types import KerberosTime, Principal, Ticket

RESULTS = {0: "success", 1: "malformed", 2: "hard error", 3: "auth error", 4: "soft error",
           5: "access denied", 6: "bad version", 7: "initial flag needed"}


def out(**kw):
    print(json.dumps(kw), flush=True)


def load_ticket(path):
    cc = CCache.loadFile(path)
    for cred in cc.credentials:
        if b"kadmin/changepw" in cred["server"].prettyPrint():
            tgs = cred.toTGS()
            rep = decoder.decode(tgs["KDC_REP"], asn1Spec=TGS_REP())[0]
            ticket = Ticket()
            ticket.from_asn1(rep["ticket"])
            client = cred["client"].prettyPrint().decode()
            return ticket, tgs["cipher"], tgs["sessionKey"], client
    raise SystemExit("no kadmin/changepw ticket in %s" % path)


def build_request(ticket, cipher, session_key, client, client_ip, new_password):
    name, realm = client.split("@", 1)
    now = datetime.datetime.utcnow()
    seq = struct.unpack(">I", os.urandom(4))[0] & 0x3FFFFFFF
    subkey = Key(cipher.enctype, os.urandom(len(session_key.contents)))

    auth = Authenticator()
    auth["authenticator-vno"] = 5
    auth["crealm"] = realm
    seq_set(auth, "cname", Principal(name, type=constants.PrincipalNameType.NT_PRINCIPAL.value).components_to_asn1)
    auth["cusec"] = now.microsecond
    auth["ctime"] = KerberosTime.to_asn1(now)
    auth["subkey"]["keytype"] = subkey.enctype
    auth["subkey"]["keyvalue"] = subkey.contents
    auth["seq-number"] = seq

    ap = AP_REQ()
    ap["pvno"] = 5
    ap["msg-type"] = int(constants.ApplicationTagNumbers.AP_REQ.value)
    ap["ap-options"] = constants.encodeFlags([constants.APOptions.mutual_required.value])
    seq_set(ap, "ticket", ticket.to_asn1)
    ap["authenticator"]["etype"] = cipher.enctype
    ap["authenticator"]["cipher"] = cipher.encrypt(session_key, 11, encoder.encode(auth), None)

    part = EncKrbPrivPart()
    part["user-data"] = new_password.encode()
    part["timestamp"] = KerberosTime.to_asn1(now)
    part["cusec"] = now.microsecond
    part["seq-number"] = seq
    part["s-address"]["addr-type"] = 2
    part["s-address"]["address"] = socket.inet_aton(client_ip)
    priv = KRB_PRIV()
    priv["pvno"] = 5
    priv["msg-type"] = int(constants.ApplicationTagNumbers.KRB_PRIV.value)
    priv["enc-part"]["etype"] = subkey.enctype
    priv["enc-part"]["cipher"] = cipher.encrypt(subkey, 13, encoder.encode(part), None)

    ap_b, priv_b = encoder.encode(ap), encoder.encode(priv)
    msg = struct.pack(">HHH", 6 + len(ap_b) + len(priv_b), 1, len(ap_b)) + ap_b + priv_b
    return msg, subkey


def parse_reply(data, cipher, session_key, subkey):
    if data[:1] == b"\x7e":
        err = decoder.decode(data, asn1Spec=KRB_ERROR())[0]
        return None, "KRB-ERROR %d" % int(err["error-code"])
    length, version, ap_len = struct.unpack(">HHH", data[:6])
    body = data[6:length]
    keys = [subkey, session_key]
    if ap_len:
        aprep = decoder.decode(body[:ap_len], asn1Spec=AP_REP())[0]
        enc = cipher.decrypt(session_key, 12, bytes(aprep["enc-part"]["cipher"]))
        part = decoder.decode(enc, asn1Spec=EncAPRepPart())[0]
        if part["subkey"].hasValue():
            keys.insert(0, Key(int(part["subkey"]["keytype"]), bytes(part["subkey"]["keyvalue"])))
    rest = body[ap_len:]
    if rest[:1] == b"\x7e":
        err = decoder.decode(rest, asn1Spec=KRB_ERROR())[0]
        ed = bytes(err["e-data"]) if err["e-data"].hasValue() else b""
        code = struct.unpack(">H", ed[:2])[0] if len(ed) >= 2 else None
        return code, "KRB-ERROR %d" % int(err["error-code"])
    priv = decoder.decode(rest, asn1Spec=KRB_PRIV())[0]
    for k in keys:
        try:
            plain = _enctype_table[k.enctype].decrypt(k, 13, bytes(priv["enc-part"]["cipher"]))
        except Exception:
            continue
        ud = bytes(decoder.decode(plain, asn1Spec=EncKrbPrivPart())[0]["user-data"])
        return struct.unpack(">H", ud[:2])[0], ud[2:].decode("utf-8", "replace")
    return None, "KRB-PRIV not decryptable"


class Failed(Exception):
    def __init__(self, port, err):
        Exception.__init__(self, "%s: %s" % (type(err).__name__, err))
        self.port = port


def exchange(transport, dc, msg, timeout):
    try:
        return _exchange(transport, dc, msg, timeout)
    except Failed:
        raise
    except OSError as e:
        raise Failed(None, e)


def _exchange(transport, dc, msg, timeout):
    if transport == "udp":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(timeout)
        s.connect((dc, 464))   # connected: an ICMP port unreachable comes back as ECONNREFUSED
        s.send(msg)
        port = s.getsockname()[1]
        try:
            return port, s.recv(65535)
        except OSError as e:
            raise Failed(port, e)
        finally:
            s.close()
    s = socket.create_connection((dc, 464), timeout=timeout)
    port = s.getsockname()[1]
    try:
        s.sendall(struct.pack(">I", len(msg)) + msg)
        buf = b""
        while len(buf) < 4 or len(buf) < 4 + struct.unpack(">I", buf[:4])[0]:
            chunk = s.recv(65535)
            if not chunk:
                break
            buf += chunk
        return port, buf[4:]
    finally:
        s.close()


def main():
    ccache, dc, client_ip, new_password = sys.argv[1:5]
    ticket, cipher, session_key, client = load_ticket(ccache)
    for transport in ("udp", "tcp"):
        msg, subkey = build_request(ticket, cipher, session_key, client, client_ip, new_password)
        try:
            port, data = exchange(transport, dc, msg, 3.0)
        except Failed as e:
            out(step="kpasswd", transport=transport, client_port=e.port, request_bytes=len(msg),
                answered=False, error=str(e))
            continue
        code, text = parse_reply(data, cipher, session_key, subkey)
        out(step="kpasswd", transport=transport, client_port=port, request_bytes=len(msg), answered=True,
            result_code=code, result=RESULTS.get(code, text), text=text)
        sys.exit(0 if code == 0 else 1)
    sys.exit(1)


if __name__ == "__main__":
    main()
