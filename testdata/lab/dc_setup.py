#!/usr/bin/python3
"""Populate the lab's Samba AD database (runs in the dc namespace, on the local sam.ldb).

- password policy relaxed so the lab can change the test user's password in every scenario
- user alice with a known password
- GROUPS groups with alice as member: the groups make alice's PAC, and so every ticket she gets,
  large enough that UDP Kerberos / kpasswd messages are IP-fragmented (as in real domains with
  big group memberships)
usage: dc_setup.py SMB_CONF USER PASSWORD GROUPS
"""
import sys

from samba import param
from samba.auth import system_session
from samba.samdb import SamDB
import ldb


def main():
    conf, user, password, ngroups = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    lp = param.LoadParm()
    lp.load(conf)
    samdb = SamDB(url=lp.private_path("sam.ldb"), session_info=system_session(), lp=lp)
    base = samdb.domain_dn()

    # password policy: no complexity, no minimum age, no history (the lab changes passwords often)
    m = ldb.Message()
    m.dn = ldb.Dn(samdb, base)
    m["pwdProperties"] = ldb.MessageElement("0", ldb.FLAG_MOD_REPLACE, "pwdProperties")
    m["minPwdAge"] = ldb.MessageElement("0", ldb.FLAG_MOD_REPLACE, "minPwdAge")
    m["pwdHistoryLength"] = ldb.MessageElement("0", ldb.FLAG_MOD_REPLACE, "pwdHistoryLength")
    samdb.modify(m)

    found = samdb.search(base=base, expression="(sAMAccountName=%s)" % user, attrs=["dn"])
    if not found:
        samdb.newuser(user, password, surname="Lab", givenname=user.capitalize())
    else:
        samdb.setpassword("(sAMAccountName=%s)" % user, password, username=user)

    names = ["lab-pki-group-%03d" % i for i in range(ngroups)]
    for name in names:
        if not samdb.search(base=base, expression="(sAMAccountName=%s)" % name, attrs=["dn"]):
            samdb.newgroup(name)
    # one modify per group adds alice as a member
    udn = samdb.search(base=base, expression="(sAMAccountName=%s)" % user, attrs=["dn"])[0].dn
    for name in names:
        gdn = samdb.search(base=base, expression="(sAMAccountName=%s)" % name, attrs=["member"])[0]
        if str(udn) in [str(v) for v in gdn.get("member", [])]:
            continue
        m = ldb.Message()
        m.dn = gdn.dn
        m["member"] = ldb.MessageElement(str(udn), ldb.FLAG_MOD_ADD, "member")
        samdb.modify(m)
    print("dc_setup: user %s in %d groups" % (user, ngroups))


if __name__ == "__main__":
    main()
