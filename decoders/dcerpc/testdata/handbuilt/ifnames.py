#!/usr/bin/env python3
# tshark -n -r icertpassage.pcap -Y frame.number==10 -T pdml | python3 ifnames.py > icertpassage.ifnames.tsv
# One line per bind context of frame 10: UUID <TAB> the name in tshark's showname ("" if tshark has none).
import re, sys, xml.etree.ElementTree as ET
print("# tshark -n -r icertpassage.pcap -Y frame.number==10 -T pdml | python3 ifnames.py")
for f in ET.parse(sys.stdin).iter("field"):
    if f.get("name") == "dcerpc.cn_bind_to_uuid":
        m = re.match(r"Interface: (.*) UUID: ", f.get("showname"))
        print("%s\t%s" % (f.get("show"), m.group(1) if m else ""))
