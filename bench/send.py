"""Sends N identical requests over one keep-alive connection, for
bench/instructions.sh. Usage: send.py PORT N PATH [header:value]... < body"""
import http.client
import sys

port, n, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
headers = dict(h.split(":", 1) for h in sys.argv[4:])
body = sys.stdin.buffer.read()
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
statuses = {}
for _ in range(n):
    conn.request("POST", path, body, headers)
    response = conn.getresponse()
    response.read()
    statuses[response.status] = statuses.get(response.status, 0) + 1
print(" ".join(f"{k}x{v}" for k, v in sorted(statuses.items())))
