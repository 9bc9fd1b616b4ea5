"""N identical requests over one keep-alive connection, each written in one
send as wrk does. Usage: send.py PORT N PATH [header:value]... < body"""
import socket, sys
port, n, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
headers = [h.split(":", 1) for h in sys.argv[4:]]
body = sys.stdin.buffer.read().rstrip(b"\n")
head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {len(body)}\r\n"
head += "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
req = head.encode() + body
s = socket.create_connection(("127.0.0.1", port))
buf = b""; statuses = {}
for _ in range(n):
    s.sendall(req)
    while b"\r\n\r\n" not in buf:
        buf += s.recv(65536)
    h, _, buf = buf.partition(b"\r\n\r\n")
    lines = h.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = next(int(l.split(b":")[1]) for l in lines if l.lower().startswith(b"content-length"))
    while len(buf) < length:
        buf += s.recv(65536)
    buf = buf[length:]
    statuses[status] = statuses.get(status, 0) + 1
print(" ".join(f"{k}x{v}" for k, v in sorted(statuses.items())))
