#!/usr/bin/env python3
"""Issue 14's import check: the row "GDELT import" in BENCHMARKS.md comes from this script.

  python3 benches/gdelt.py [--rows 200000] [--dir DIR]

Writes a GDELT 2.0 event export of ROWS rows as GDELT publishes it (61 tab-separated columns,
no header, zipped, one day), with what a real day has besides states: region codes, rows with
one country on both sides, several rows coding one article. Then, each on a fresh SQLite file:

1. `briefing import --format gdelt FILE.zip` (BRIEFING_BIN, default target/release/briefing)
   under `/usr/bin/time -v`: seconds and peak resident memory (VmHWM).
2. The items that import stored, read back with ListAgendaItems from a server on that file,
   are streamed through ImportAgendaItems to a server on a fresh file (Python grpcio stubs
   generated from proto/ at run time; the messages are built before the clock starts).

It prints the rows each path stored per second and their ratio (target: the GDELT import at
least 0.5 of ImportAgendaItems' rate), and checks that both databases hold the same ids.
"""

import argparse
import importlib
import io
import os
import random
import re
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STATES = [
    ("USA", "UNITED STATES"), ("CHN", "CHINA"), ("RUS", "RUSSIA"), ("UKR", "UKRAINE"),
    ("KOR", "SOUTH KOREA"), ("PRK", "NORTH KOREA"), ("JPN", "JAPAN"), ("IND", "INDIA"),
    ("PAK", "PAKISTAN"), ("ISR", "ISRAEL"), ("IRN", "IRAN"), ("TUR", "TURKEY"),
    ("DEU", "GERMANY"), ("FRA", "FRANCE"), ("GBR", "UNITED KINGDOM"), ("BRA", "BRAZIL"),
    ("SAU", "SAUDI ARABIA"), ("EGY", "EGYPT"), ("NGA", "NIGERIA"), ("ZAF", "SOUTH AFRICA"),
]
REGIONS = [("AFR", "AFRICA"), ("EUR", "EUROPE"), ("MEA", "MIDDLE EAST")]
TYPES = ["GOV", "MIL", "BUS", "MED", "", "CVL", "OPP"]
# Root codes and base codes across the four quad classes, as GDELT's days mix them.
CODES = [
    ("010", "01", 1), ("020", "02", 1), ("036", "03", 1), ("042", "04", 1), ("043", "04", 1),
    ("046", "04", 1), ("051", "05", 1), ("057", "05", 1), ("061", "06", 2), ("070", "07", 2),
    ("111", "11", 3), ("112", "11", 3), ("120", "12", 3), ("130", "13", 3), ("138", "13", 3),
    ("141", "14", 3), ("163", "16", 4), ("173", "17", 4), ("190", "19", 4), ("193", "19", 4),
]


def location(name, country):
    return ["4", name, country[:2], country[:2] + "01", "", "10.5", "20.25", "-123456"]


def write_export(path, rows, seed=14):
    """Rows as GDELT writes them: every column, empty fields left empty, no quoting."""
    rng = random.Random(seed)
    out = io.StringIO()
    story = 0
    for number in range(rows):
        # One article in three is coded as two or three events (same URL, same pair, type).
        if number % 3 != 0:
            story += 1
        actor = rng.choice(STATES)
        recipient = rng.choice(STATES)
        draw = rng.random()
        if draw < 0.04:
            recipient = rng.choice(REGIONS)  # a region is not a country: skipped
        elif draw < 0.07:
            recipient = actor  # one country on both sides: skipped
        code, root, quad = CODES[story % len(CODES)]
        sources = 1 + int(rng.expovariate(0.6))
        articles = sources + int(rng.expovariate(0.2))
        type1, type2 = rng.choice(TYPES), rng.choice(TYPES)
        columns = [
            str(1_200_000_000 + number), "20250106", "202501", "2025", "2025.0164",
            actor[0] + type1, actor[1], actor[0], "", "", "", "", type1, "", "",
            recipient[0] + type2, recipient[1], recipient[0], "", "", "", "", type2, "", "",
            "1" if number % 2 == 0 else "0", code, code, root, str(quad),
            f"{rng.uniform(-10, 10):.1f}", str(articles * 2), str(sources), str(articles),
            f"{rng.uniform(-8, 4):.8f}",
            "1", actor[1].title(), actor[0][:2], actor[0][:2], "", "1.5", "2.5", actor[0][:2],
            *location(f"{recipient[1].title()} capital", recipient[0]),
            *location(f"{recipient[1].title()} capital", recipient[0]),
            "20250106143000", f"https://news{story % 97}.example/2025/01/06/story-{story}",
        ]
        assert len(columns) == 61
        out.write("\t".join(columns) + "\n")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(Path(path).stem, out.getvalue())


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve(binary, database, port):
    server = subprocess.Popen(
        [binary, "serve", "--listen", f"127.0.0.1:{port}", "--database", database,
         "--http-listen", "", "--schedule=false", "--request-timeout-seconds", "3600"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return server
        time.sleep(0.1)
    server.kill()
    sys.exit("the server did not start")


def stubs(directory):
    from grpc_tools import protoc

    well_known = Path(protoc.__file__).resolve().parent / "_proto"
    protos = ["briefing/v1/common.proto", "briefing/v1/agenda.proto"]
    directory.mkdir(parents=True, exist_ok=True)
    status = protoc.main(["grpc_tools.protoc", f"-I{ROOT / 'proto'}", f"-I{well_known}",
                          f"--python_out={directory}", f"--grpc_python_out={directory}", *protos])
    if status != 0:
        sys.exit("protoc failed")
    sys.path.insert(0, str(directory))
    return (importlib.import_module("briefing.v1.agenda_pb2"),
            importlib.import_module("briefing.v1.agenda_pb2_grpc"))


def stored_ids(database):
    with sqlite3.connect(database) as connection:
        return {row[0] for row in connection.execute("SELECT id FROM agenda_items")}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--dir", default=None, help="where the data and the databases go")
    args = parser.parse_args()
    binary = os.environ.get("BRIEFING_BIN", str(ROOT / "target/release/briefing"))
    import grpc

    with tempfile.TemporaryDirectory(dir=args.dir, prefix="briefing-gdelt-") as directory:
        directory = Path(directory)
        export = directory / "20250106143000.export.CSV.zip"
        write_export(export, args.rows)
        gdelt_db = directory / "gdelt.db"
        started = time.monotonic()
        run = subprocess.run(
            ["/usr/bin/time", "-v", binary, "import", "--format", "gdelt", str(export),
             "--database", f"sqlite://{gdelt_db}"],
            capture_output=True, text=True,
        )
        gdelt_seconds = time.monotonic() - started
        if run.returncode != 0:
            sys.exit(f"gdelt import failed:\n{run.stdout}\n{run.stderr}")
        peak_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", run.stderr)[1])
        summary = [line for line in (run.stdout + run.stderr).splitlines() if "rows" in line]
        gdelt_ids = stored_ids(gdelt_db)

        pb, rpc = stubs(directory / "stubs")
        port = free_port()
        server = serve(binary, f"sqlite://{gdelt_db}", port)
        items = []
        try:
            with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
                client = rpc.AgendaServiceStub(channel)
                token = ""
                while True:
                    page = client.ListAgendaItems(
                        pb.ListAgendaItemsRequest(page_size=1000, page_token=token))
                    items.extend(page.agenda_items)
                    token = page.next_page_token
                    if not token:
                        break
        finally:
            server.terminate()
            server.wait()
        requests = []
        for item in items:
            item_id = item.name.split("/", 1)[1]
            item.name = ""
            requests.append(pb.ImportAgendaItemsRequest(agenda_item=item, agenda_item_id=item_id))

        grpc_db = directory / "grpc.db"
        port = free_port()
        server = serve(binary, f"sqlite://{grpc_db}", port)
        try:
            with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
                client = rpc.AgendaServiceStub(channel)
                started = time.monotonic()
                response = client.ImportAgendaItems(iter(requests), timeout=3600)
                grpc_seconds = time.monotonic() - started
        finally:
            server.terminate()
            server.wait()
        if response.rejected_count:
            sys.exit(f"ImportAgendaItems rejected {response.rejected_count}: {response.errors[:3]}")
        grpc_ids = stored_ids(grpc_db)
        if grpc_ids != gdelt_ids:
            sys.exit(f"the databases differ: {len(gdelt_ids)} ids by GDELT import, {len(grpc_ids)} by gRPC")

    stored = len(gdelt_ids)
    gdelt_rate = stored / gdelt_seconds
    grpc_rate = response.imported_count / grpc_seconds
    print(f"rows in the export: {args.rows:,}")
    for line in summary:
        print(f"import summary: {line.strip()}")
    print(f"items stored: {stored:,} (the same ids through both paths)")
    print(f"briefing import --format gdelt: {gdelt_seconds:.1f} s, {gdelt_rate:,.0f} items/s, "
          f"peak RSS {peak_kb / 1024:.0f} MB")
    print(f"ImportAgendaItems (same items): {grpc_seconds:.1f} s, {grpc_rate:,.0f} items/s")
    print(f"ratio: {gdelt_rate / grpc_rate:.2f} (target at least 0.5)")


if __name__ == "__main__":
    main()
