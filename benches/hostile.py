#!/usr/bin/env python3
"""Issue 12's hostile-load checks against the real binary: the numbers in BENCHMARKS.md
("Hostile load") come from this script.

  python3 benches/hostile.py connections [--idle 20000]   # idle connections, then a new client
  python3 benches/hostile.py watchers [--watchers 10000]  # idle WatchDigests streams: RSS, CPU

Each check starts `briefing serve` (BRIEFING_BIN, default target/release/briefing, else
target/debug/briefing) on a temporary SQLite file on 127.0.0.1 and reads the server's file
descriptors, resident memory and CPU time from /proc. Every connection goes to 127.0.0.1.
`watchers` needs Python's grpcio (`pip install grpcio`), as .ci/run installs it.
"""

import argparse
import asyncio
import os
import re
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TICKS = os.sysconf("SC_CLK_TCK")


def binary():
    if os.environ.get("BRIEFING_BIN"):
        return os.environ["BRIEFING_BIN"]
    for profile in ("release", "debug"):
        path = ROOT / "target" / profile / "briefing"
        if path.exists():
            return str(path)
    sys.exit("no briefing binary: run `cargo build --release` or set BRIEFING_BIN")


class Server:
    def __init__(self, directory, *flags):
        self.log = open(Path(directory) / "server.log", "w+")
        self.process = subprocess.Popen(
            [binary(), "serve", "--listen", "127.0.0.1:0", "--schedule=false",
             "--database", f"sqlite://{directory}/briefing.db", *flags],
            stdout=self.log, stderr=subprocess.STDOUT,
            env={**os.environ, "BRIEFING_LOG": "warn,briefing=info", "NO_COLOR": "1"})
        deadline = time.time() + 60
        while time.time() < deadline:
            self.log.seek(0)
            found = re.search(r"address=127\.0\.0\.1:(\d+)", self.log.read())
            if found:
                self.port = int(found.group(1))
                return
            time.sleep(0.1)
        sys.exit("the server did not start: see " + self.log.name)

    def descriptors(self):
        return len(os.listdir(f"/proc/{self.process.pid}/fd"))

    def rss_mb(self):
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024

    def cpu_seconds(self):
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS

    def limit(self):
        for line in Path(f"/proc/{self.process.pid}/limits").read_text().splitlines():
            if line.startswith("Max open files"):
                return int(line.split()[3])

    def stop(self):
        self.process.terminate()
        self.process.wait(30)


def health_check(port, timeout):
    """A new client's gRPC health check over plain HTTP/2, by hand (no grpcio needed): the
    time to its answer, or None."""
    started = time.time()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
            connection.settimeout(timeout)
            # Preface, empty SETTINGS, then HEADERS (literal, no Huffman) and an empty message.
            def literal(name, value):
                return bytes([0x00, len(name)]) + name + bytes([len(value)]) + value
            block = (b"\x83\x86"  # :method POST, :scheme http
                     + literal(b":path", b"/grpc.health.v1.Health/Check")
                     + literal(b":authority", b"127.0.0.1")
                     + literal(b"content-type", b"application/grpc")
                     + literal(b"te", b"trailers"))
            frame = lambda kind, flags, stream, payload: (
                len(payload).to_bytes(3, "big") + bytes([kind, flags]) + stream.to_bytes(4, "big") + payload)
            connection.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(4, 0, 0, b"")
                               + frame(1, 4, 1, block) + frame(0, 1, 1, b"\x00\x00\x00\x00\x00"))
            received = b""
            while b"grpc-status" not in received:
                chunk = connection.recv(65536)
                if not chunk:
                    return None
                received += chunk
            return time.time() - started
    except OSError:
        return None


async def open_idle(port, count):
    """Opens `count` connections that send nothing; returns those still open."""
    opened = []
    for start in range(0, count, 500):
        batch = await asyncio.gather(
            *[asyncio.open_connection("127.0.0.1", port) for _ in range(start, min(count, start + 500))],
            return_exceptions=True)
        opened.extend(writer for result in batch if not isinstance(result, Exception) for _, writer in [result])
    return opened


def connections(arguments):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    with tempfile.TemporaryDirectory() as directory:
        server = Server(directory)
        print(f"server: {binary()}, open-file limit {server.limit()}, "
              f"{server.descriptors()} descriptors at rest")
        # Two client processes' worth in one: this process's own limit bounds what it can open.
        idle = min(arguments.idle, hard - 200)

        async def attack():
            started = time.time()
            opened = await open_idle(server.port, idle)
            took = time.time() - started
            await asyncio.sleep(1)
            descriptors = server.descriptors()
            answered = await asyncio.get_running_loop().run_in_executor(
                None, health_check, server.port, 10)
            # Which of ours are still open, as the server left them.
            await asyncio.sleep(0.5)
            still_open = 0
            for writer in opened:
                transport = writer.transport
                if not transport.is_closing() and not writer._reader.at_eof():
                    still_open += 1
            return took, len(opened), descriptors, answered, still_open, opened

        took, opened, descriptors, answered, still_open, writers = asyncio.run(attack())
        print(f"opened {opened} of {idle} idle connections in {took:.1f} s")
        print(f"server descriptors with them open: {descriptors} (limit {server.limit()}, "
              f"max_connections 4096)")
        print("a new client's health check: "
              + (f"answered in {answered * 1000:.0f} ms" if answered else "NOT answered within 10 s"))
        print(f"idle connections the server still holds after that: {still_open} of {opened}")
        time.sleep(11)
        print(f"after the 10 s handshake timeout: {server.descriptors()} server descriptors")
        for writer in writers:
            writer.close()
        server.stop()
        return 0 if answered else 1


def watchers(arguments):
    import grpc

    with tempfile.TemporaryDirectory() as directory:
        server = Server(directory, "--max-watchers", str(arguments.watchers))
        time.sleep(1)
        rss_before = server.rss_mb()
        channels, calls = [], []
        per_channel = 100  # max_concurrent_streams
        for index in range(0, arguments.watchers, per_channel):
            channel = grpc.insecure_channel(
                f"127.0.0.1:{server.port}",
                options=[("grpc.use_local_subchannel_pool", 1), ("grpc.channel_id", index)])
            watch = channel.unary_stream(
                "/briefing.v1.DigestService/WatchDigests",
                request_serializer=lambda message: message,
                response_deserializer=lambda message: message)
            channels.append(channel)
            calls.extend(watch(b"", wait_for_ready=True) for _ in range(min(per_channel, arguments.watchers - index)))
        time.sleep(5)
        alive = sum(1 for call in calls if call.running() or not call.done())
        rss = server.rss_mb()
        cpu_before, wall_before = server.cpu_seconds(), time.time()
        time.sleep(arguments.seconds)
        cpu = (server.cpu_seconds() - cpu_before) / (time.time() - wall_before)
        print(f"server: {binary()}")
        print(f"watchers open: {alive} of {arguments.watchers} over {len(channels)} connections")
        print(f"server RSS: {rss_before:.0f} MB before, {rss:.0f} MB with them (ceiling 300 MB)")
        print(f"server CPU while they idle for {arguments.seconds} s: {cpu * 100:.1f}% of a core")
        for call in calls:
            call.cancel()
        for channel in channels:
            channel.close()
        server.stop()
        return 0 if rss < 300 and alive == arguments.watchers else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    idle = commands.add_parser("connections")
    idle.add_argument("--idle", type=int, default=20000)
    watch = commands.add_parser("watchers")
    watch.add_argument("--watchers", type=int, default=10000)
    watch.add_argument("--seconds", type=int, default=20)
    arguments = parser.parse_args()
    sys.exit({"connections": connections, "watchers": watchers}[arguments.command](arguments))


if __name__ == "__main__":
    main()
