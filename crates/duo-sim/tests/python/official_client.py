"""Drive a standalone duo-sim with Duo's official Python client (duo_client 5.7.0, default settings).

Usage: official_client.py HOST PORT IKEY SKEY SEEDED_USERS
Exits non-zero (AssertionError or RuntimeError) when the simulator answers differently from Duo.
"""
import hashlib
import sys

import duo_client

host, port, ikey, skey, seeded = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])


def admin(**kw):
    # ca_certs="HTTP" only switches the transport to plain HTTP; signing is unchanged (v5 default).
    return duo_client.Admin(ikey, skey, host, port=port, ca_certs="HTTP", **kw)


a = admin()
checks = 0


def check(cond, what):
    global checks
    assert cond, what
    checks += 1


# Seeded users, listed with the client's own paging (100 per page) and with the 300 maximum.
users = a.get_users()
check(len(users) == seeded, f"get_users returned {len(users)}, expected {seeded}")
check(len(a.get_users(limit=300, offset=0)) == min(300, seeded), "one page of 300")
check(len({u["user_id"] for u in users}) == seeded, "unique ids across pages")

# Users with unicode and reserved characters.
weird = "zoë+test/ü&x=y%20 ~*@example.com"
u = a.add_user(weird, realname="Zoë Müller 李", email="zoe@example.com", notes="a+b c&d=e",
               aliases="alias1=zm&alias2=z.m%40example.com")
uid = u["user_id"]
check(u["username"] == weird and u["realname"] == "Zoë Müller 李", f"created {u}")
check(u["aliases"].get("alias2") == "z.m@example.com", f"aliases {u['aliases']}")
check(a.get_user_by_id(uid)["username"] == weird, "get by id")
check([x["user_id"] for x in a.get_users_by_name(weird)] == [uid], "get by name")
check([x["user_id"] for x in a.get_users_by_name("ZM")] == [uid], "get by alias, any case")
check([x["user_id"] for x in a.get_users_by_names([weird, "nobody"])] == [uid], "username_list")
check(any(x["user_id"] == uid for x in a.get_user_by_email("zoe@example.com")), "by email")
u = a.update_user(uid, username="zoe", realname="Zoë", status="bypass", alias1="", alias3="zz")
check((u["username"], u["status"], u["alias1"], u["alias3"]) == ("zoe", "bypass", None, "zz"), f"updated {u}")
try:
    a.add_user("ZOE")
    check(False, "duplicate username accepted")
except RuntimeError as e:
    check("400" in str(e) and "Duplicate" in str(e), str(e))
try:
    a.update_user(uid, status="locked out")
    check(False, "locked out is not settable")
except RuntimeError as e:
    check("Invalid request parameters" in str(e), str(e))

# Groups (v1 and v2), memberships, members with paging.
g = a.create_group("Ops & Sales / ß", desc="d", status="active", push_enabled=True)
gid = g["group_id"]
check(a.modify_group(gid, name="Ops ß")["name"] == "Ops ß", "rename")
a.add_user_group(uid, gid)
check([x["group_id"] for x in a.get_user_groups(uid)] == [gid], "user groups")
check(a.get_group(gid, api_version=2)["name"] == "Ops ß", "v2 get")
check([m["user_id"] for m in a.get_group_users(gid)] == [uid], "v2 members")
check(any(x["group_id"] == gid for x in a.get_groups()), "list groups")
for u2 in users[:150]:
    a.add_user_group(u2["user_id"], gid)
check(len(a.get_group_users(gid)) == 151, "members paged")
a.delete_user_group(uid, gid)
a.delete_user_group(uid, gid)
check(a.get_user_groups(uid) == [], "membership removed")

# Phones: US default, association, lookups.
p = a.add_phone(number="734-555-1212", name="desk", type="landline", platform="unknown")
pid = p["phone_id"]
check(p["number"] == "+17345551212", f"number {p['number']}")
check([x["phone_id"] for x in a.get_phones_by_number("+17345551212")] == [pid], "by number")
a.add_user_phone(uid, pid)
check([x["phone_id"] for x in a.get_user_phones(uid)] == [pid], "user phones")
check(a.update_phone(pid, name="office")["name"] == "office", "update phone")
check(any(x["phone_id"] == pid for x in a.get_phones()), "list phones")
a.delete_user_phone(uid, pid)
check(a.get_user_phones(uid) == [], "disassociated")
a.delete_phone(pid)

# Administrators.
ad = a.add_admin("Ada Admin", "ada@example.com", None, None, role="User Manager")
check(ad["role"] == "User Manager", f"admin {ad}")
owner = a.add_admin("Olga Owner", "olga@example.com", "+15555550100", None)
check(owner["role"] == "Owner", "Owner by default")
check(a.update_admin(ad["admin_id"], name="Ada B.")["name"] == "Ada B.", "update admin")
check(a.get_admin(ad["admin_id"])["email"] == "ada@example.com", "get admin")
check(len(a.get_admins()) == 2, "list admins")
a.delete_admin(ad["admin_id"])
summary = a.get_info_summary()
check(summary["admin_count"] == 1 and summary["user_count"] == seeded + 1, f"summary {summary}")

# Older signing settings of the same client are accepted too.
v2 = admin(sig_version=2)
check(v2.add_user("v2 user ü+/")["username"] == "v2 user ü+/", "v2 sha512 form POST")
check(len(v2.get_users_by_name("v2 user ü+/")) == 1, "v2 sha512 GET")
sha1 = admin(sig_version=2, digestmod=hashlib.sha1)
check(sha1.get_user_by_id(uid)["username"] == "zoe", "v2 sha1 GET")

# Enrollment email: the client's enroll_user answers the enroll code; email is required.
code = a.enroll_user("zoe", "zoe@example.com", valid_secs=3600)
check(isinstance(code, str) and code, f"enroll code {code!r}")
try:
    a.enroll_user("zoe", "")
    check(False, "enroll without email accepted")
except RuntimeError as e:
    check("400" in str(e), str(e))

# Delete is permanent; a second delete does nothing.
a.delete_user(uid)
a.delete_user(uid)
try:
    a.get_user_by_id(uid)
    check(False, "deleted user still there")
except RuntimeError as e:
    check("404" in str(e), str(e))

# A wrong secret key is refused with 40103.
bad = duo_client.Admin(ikey, "x" * 40, host, port=port, ca_certs="HTTP")
try:
    bad.get_users(limit=1)
    check(False, "wrong skey accepted")
except RuntimeError as e:
    check("401" in str(e) and "Invalid signature" in str(e), str(e))

print(f"OK {checks} checks")
