"""Duo's official Python client creating users one by one in a sequential loop
(the baseline of `cargo xtask bench --only official`).

Usage: official_loop.py HOST PORT IKEY SKEY FIRST COUNT
Prints the seconds the loop took.
"""
import sys
import time

import duo_client

host, port, ikey, skey = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
first, count = int(sys.argv[5]), int(sys.argv[6])
# ca_certs="HTTP" switches the transport to plain HTTP; signing is unchanged.
a = duo_client.Admin(ikey, skey, host, port=port, ca_certs="HTTP")
t0 = time.monotonic()
for i in range(first, first + count):
    name = f"user{i:06}"
    a.add_user(name, realname=f"Given {name}", email=f"{name}@example.com", status="active")
print(f"{time.monotonic() - t0:.3f}")
