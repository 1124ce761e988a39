#!/usr/bin/python3
"""CLDAP "netlogon ping" (DC locator, MS-ADTS 6.3.3) over udp/389, as Windows clients send it.

usage: cldap_ping.py DC_IP DNS_DOMAIN   -> prints one JSON line, exit 0 when the DC answered
"""
import json
import socket
import sys


def tlv(tag, body):
    n = len(body)
    if n < 0x80:
        length = bytes([n])
    elif n < 0x100:
        length = bytes([0x81, n])
    else:
        length = bytes([0x82, n >> 8, n & 0xFF])
    return bytes([tag]) + length + body


def octets(s):
    return tlv(0x04, s if isinstance(s, bytes) else s.encode())


def equality(attr, value):
    return tlv(0xA3, octets(attr) + octets(value))  # equalityMatch [3]


def netlogon_ping(msgid, domain):
    flt = tlv(0xA0, equality("DnsDomain", domain) + equality("NtVer", b"\x06\x00\x00\x00"))  # and [0]
    search = tlv(0x63, octets("")                  # baseObject: rootDSE
                 + tlv(0x0A, b"\x00")              # scope baseObject
                 + tlv(0x0A, b"\x00")              # derefAliases never
                 + tlv(0x02, b"\x00")              # sizeLimit
                 + tlv(0x02, b"\x00")              # timeLimit
                 + tlv(0x01, b"\x00")              # typesOnly FALSE
                 + flt
                 + tlv(0x30, octets("Netlogon")))  # attributes
    return tlv(0x30, tlv(0x02, bytes([msgid])) + search)


def main():
    dc, domain = sys.argv[1], sys.argv[2]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2.0)
    result = {"step": "cldap-ping", "server": dc, "answered": False}
    for attempt in range(2):
        s.sendto(netlogon_ping(attempt + 1, domain), (dc, 389))
        try:
            data, _ = s.recvfrom(65535)
        except socket.timeout:
            continue
        except ConnectionRefusedError:
            result["error"] = "icmp port unreachable"
            break
        result.update(answered=True, reply_bytes=len(data),
                      search_res_entry=b"\x64" in data[:16])
        break
    result["client_port"] = s.getsockname()[1]
    print(json.dumps(result))
    sys.exit(0 if result["answered"] else 1)


if __name__ == "__main__":
    main()
