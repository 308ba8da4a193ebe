#!/usr/bin/env python3
"""What a WebSocket agent costs the daemon in memory, next to a TCP one.

Starts a private redis-server and a switchboard daemon on free loopback
ports, logs N agents in over one transport (each with a Hello and its
token, then idle), reads the daemon's resident memory (VmRSS) before and
after, and prints the difference per session. Run once per transport:

    bench/ws-memory.py build/switchboard tcp 2000
    bench/ws-memory.py build/switchboard websocket 2000

Bounded: N connections on loopback, a few seconds, then everything is
stopped. Needs redis-server on PATH."""
import hashlib, hmac, os, resource, shutil, signal, socket, subprocess, sys, tempfile, time

SECRET = "ws-memory-agent-secret-0123456789"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def token(agent, expiry):
    mac = hmac.new(SECRET.encode(), f"agent:{agent}:{expiry}".encode(), hashlib.sha256)
    return f"v1.{expiry}.{mac.hexdigest()}"


def varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def field(num, data):
    return varint(num << 3 | 2) + varint(len(data)) + data


def hello(agent, tok):
    # Hello{role=AGENT(2), client_id, token, protocol_version=1} in Envelope{seq=1}
    body = b"\x08\x02" + field(2, agent.encode()) + field(3, tok.encode()) + b"\x20\x01"
    return b"\x08\x01" + field(10, body)


def ws_message(payload):
    n = len(payload)
    head = bytes([0x82]) + (bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + n.to_bytes(2, "big"))
    mask = os.urandom(4)
    return head + mask + bytes(c ^ mask[i % 4] for i, c in enumerate(payload))


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def main():
    daemon, transport, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    assert transport in ("tcp", "websocket")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, n + 256)), hard))
    tmp = tempfile.mkdtemp(prefix="sb-wsmem-")
    rport, gport, aport = free_port(), free_port(), free_port()
    redis = subprocess.Popen(["redis-server", "--port", str(rport), "--save", "", "--appendonly", "no",
                              "--dir", tmp], stdout=subprocess.DEVNULL)
    agents = "".join(f"  - id: m{i}\n" for i in range(n))
    cfg = os.path.join(tmp, "switchboard.yaml")
    with open(cfg, "w") as f:
        f.write(f"""listen:
  gateway: "127.0.0.1:{gport}"
  agent: "127.0.0.1:{aport}"
redis:
  address: "127.0.0.1:{rport}"
admin:
  listen: ""
limits:
  max_unauthenticated: {n + 100}
  max_unauthenticated_per_address: {n + 100}
  max_connections_per_address: {n + 100}
sessions:
  heartbeat_ms: 300000
auth:
  agent_secret: "{SECRET}"
gateways:
  - id: gw1
    secret: "ws-memory-gateway-secret-0123456789"
agents:
{agents}""")
    log = open(os.path.join(tmp, "switchboard.log"), "w")
    d = subprocess.Popen([daemon, "-c", cfg, "--log-level", "warn"], stdout=log, stderr=log)
    socks = []
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", aport)).close()
                break
            except OSError:
                time.sleep(0.05)
        time.sleep(0.5)
        before = rss_kib(d.pid)
        exp = int(time.time()) + 3600
        for i in range(n):
            s = socket.create_connection(("127.0.0.1", aport))
            msg = hello(f"m{i}", token(f"m{i}", exp))
            if transport == "websocket":
                s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                          b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
                got = b""
                while b"\r\n\r\n" not in got:
                    got += s.recv(4096)
                assert got.startswith(b"HTTP/1.1 101"), got
                s.sendall(ws_message(msg))
            else:
                s.sendall(len(msg).to_bytes(4, "big") + msg)
            socks.append(s)
        # Every session answers Welcome and its StateChanged: wait for both.
        for s in socks:
            s.settimeout(5)
            got = s.recv(4096)
            assert got, "closed before Welcome"
        time.sleep(1.0)
        after = rss_kib(d.pid)
        log.flush()
        with open(os.path.join(tmp, "switchboard.log")) as f:
            text = f.read()
        assert "refused" not in text and "closed" not in text, text[-2000:]
        print(f"{transport}: {n} idle agent sessions: RSS {before} KiB -> {after} KiB, "
              f"{(after - before) * 1024 / n / 1024:.1f} KiB per session")
    finally:
        for s in socks:
            s.close()
        d.send_signal(signal.SIGTERM)
        d.wait(10)
        redis.terminate()
        redis.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
