#!/usr/bin/env python3
"""A minimal WebSocket client for tests (RFC 6455, standard library only): connects to a ws://
URL, prints every text message on its own line (flushed at once, after the wall-clock time it
arrived in ms since the Unix epoch and a tab), and exits 0 when the server closes the
connection, 1 on error or after TIMEOUT seconds (default 120).

usage: ws_tail.py ws://HOST:PORT/PATH?QUERY [TIMEOUT]
"""
import base64
import os
import socket
import struct
import sys
import time
import urllib.parse


def main() -> int:
    url = urllib.parse.urlsplit(sys.argv[1])
    deadline = time.monotonic() + (float(sys.argv[2]) if len(sys.argv) > 2 else 120.0)
    sock = socket.create_connection((url.hostname, url.port or 80), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    path = url.path + ("?" + url.query if url.query else "")
    sock.sendall((f"GET {path} HTTP/1.1\r\nHost: {url.netloc}\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                  "Sec-WebSocket-Version: 13\r\n\r\n").encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(4096)
        if not chunk:
            print("closed during the handshake", file=sys.stderr)
            return 1
        buf += chunk
    head, buf = buf.split(b"\r\n\r\n", 1)
    status = head.split(b"\r\n", 1)[0]
    if b" 101 " not in status:
        print(head.decode(errors="replace"), file=sys.stderr)
        return 1

    def need(n: int) -> bytes:
        nonlocal buf
        while len(buf) < n:
            sock.settimeout(max(0.1, deadline - time.monotonic()))
            chunk = sock.recv(65536)
            if not chunk:
                raise EOFError
            buf += chunk
        out, buf = buf[:n], buf[n:]
        return out

    message = b""
    try:
        while time.monotonic() < deadline:
            b0, b1 = need(2)
            opcode, length = b0 & 0x0F, b1 & 0x7F
            if length == 126:
                (length,) = struct.unpack("!H", need(2))
            elif length == 127:
                (length,) = struct.unpack("!Q", need(8))
            payload = need(length)  # server frames are not masked
            if opcode == 8:  # close
                return 0
            if opcode == 9:  # ping: answer with a (masked, as from a client) pong
                mask = os.urandom(4)
                body = bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
                sock.sendall(bytes([0x8A, 0x80 | len(payload)]) + mask + body)
                continue
            if opcode in (1, 0):
                message += payload
                if b0 & 0x80:
                    ms = int(time.time() * 1000)
                    print(f"{ms}\t{message.decode()}", flush=True)
                    message = b""
    except (EOFError, socket.timeout, OSError) as e:
        print(f"connection ended: {e!r}", file=sys.stderr)
        return 1
    print("timed out", file=sys.stderr)
    return 1


sys.exit(main())
