#!/usr/bin/env python3
"""Issue 13's import check: the row "streaming import" in BENCHMARKS.md comes from this script.

  python3 benches/import.py [--records 1000000] [--dir DIR]

Writes RECORDS gzipped NDJSON agenda items (varied titles, dates, countries and event types),
then pipes the file into `briefing import -` (BRIEFING_BIN, default target/release/briefing)
on a fresh SQLite file under `/usr/bin/time -v`, and prints the records, the seconds, the
records per second and the peak resident memory (VmHWM, the kernel's high-water mark). It
checks the exit status and that the database holds every record.
"""

import argparse
import gzip
import json
import os
import re
import sqlite3
import subprocess
import tempfile
import time

COUNTRIES = ["USA", "KOR", "JPN", "CHN", "RUS", "PRK", "FRA", "DEU", "GBR", "IND"]
EVENT_TYPES = ["CONSULT", "COOPERATE", "AID", "ACCUSE", "THREATEN", "PROTEST"]


def write_records(path, count):
    with gzip.open(path, "wt", compresslevel=6) as out:
        for number in range(count):
            actor = COUNTRIES[number % len(COUNTRIES)]
            recipient = COUNTRIES[(number * 7 + 3) % len(COUNTRIES)]
            if recipient == actor:
                recipient = COUNTRIES[(COUNTRIES.index(actor) + 1) % len(COUNTRIES)]
            record = {
                "id": f"bench-{number}",
                "agenda_item": {
                    "title": f"Meeting {number} between {actor} and {recipient}",
                    "summary": "Talks on trade, security and the regional balance",
                    "date": f"20{10 + number % 15:02d}-{1 + number % 12:02d}-{1 + number % 28:02d}",
                    "actors": [actor + "GOV"],
                    "recipients": [recipient + "GOV"],
                    "event_type": EVENT_TYPES[number % len(EVENT_TYPES)],
                    "contexts": ["diplomatic"],
                },
            }
            out.write(json.dumps(record) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--dir", default=None, help="where the data and the database go")
    args = parser.parse_args()
    binary = os.environ.get("BRIEFING_BIN", "target/release/briefing")
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="briefing-import-") as directory:
        data = os.path.join(directory, "records.ndjson.gz")
        write_records(data, args.records)
        database = os.path.join(directory, "briefing.db")
        started = time.monotonic()
        with open(data, "rb") as stdin:
            run = subprocess.run(
                ["/usr/bin/time", "-v", binary, "import", "-", "--database", f"sqlite://{database}"],
                stdin=stdin,
                capture_output=True,
                text=True,
            )
        seconds = time.monotonic() - started
        if run.returncode != 0:
            raise SystemExit(f"briefing import failed ({run.returncode}):\n{run.stdout}{run.stderr}")
        peak_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", run.stderr).group(1))
        stored = sqlite3.connect(database).execute("SELECT COUNT(*) FROM agenda_items").fetchone()[0]
        if stored != args.records:
            raise SystemExit(f"the database holds {stored} agenda items, not {args.records}")
        print(run.stdout.strip())
        print(f"gzip file: {os.path.getsize(data) / 1e6:.1f} MB")
        print(
            f"records: {args.records}, seconds: {seconds:.1f}, records/s: {args.records / seconds:.0f}, "
            f"peak RSS: {peak_kb / 1024:.0f} MB"
        )


if __name__ == "__main__":
    main()
