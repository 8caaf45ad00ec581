#!/usr/bin/env python3
"""An independent client: Python grpcio stubs generated from proto/ at run time, against the
real binary serving the demo data. What a client in another language sees: names, paging,
masks, etags, the client stream and the google.rpc error details.

Usage: python3 tests/python/check_api.py   (BRIEFING_BIN=path picks the binary)
"""

import importlib
import os
import re
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

import grpc
from grpc_tools import protoc

ROOT = Path(__file__).resolve().parents[2]
PROTOS = [
    "briefing/v1/common.proto",
    "briefing/v1/trip.proto",
    "briefing/v1/official.proto",
    "briefing/v1/agenda.proto",
    "google/rpc/status.proto",
    "google/rpc/error_details.proto",
]


def generate_stubs(out_dir):
    """Compiles the protos with grpcio-tools' bundled protoc and makes them importable."""
    well_known = Path(protoc.__file__).resolve().parent / "_proto"
    arguments = [
        "grpc_tools.protoc",
        f"-I{ROOT / 'proto'}",
        f"-I{well_known}",
        f"--python_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *PROTOS,
    ]
    if protoc.main(arguments) != 0:
        raise SystemExit("protoc failed on proto/")
    sys.path.insert(0, str(out_dir))


class Server:
    """`briefing serve --demo` on a free port and a fresh database."""

    def __init__(self, directory):
        binary = os.environ.get("BRIEFING_BIN") or str(ROOT / "target" / "debug" / "briefing")
        if not os.environ.get("BRIEFING_BIN"):
            subprocess.run(["cargo", "build", "--quiet", "--bin", "briefing"], cwd=ROOT, check=True)
        self.log_path = Path(directory) / "server.log"
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [binary, "serve", "--demo", "--listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0",
             "--database", f"sqlite://{directory}/briefing.db"],
            stdout=subprocess.DEVNULL,
            stderr=self.log,
            env={**os.environ, "NO_COLOR": "1", "BRIEFING_LOG": "info"},
        )
        self.address = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and self.process.poll() is None:
            found = re.search(r"serving address=([0-9.:]+)", self.log_path.read_text())
            if found:
                self.address = found.group(1)
                break
            time.sleep(0.05)
        if self.address is None:
            self.stop()
            raise SystemExit("the server did not start:\n" + self.log_path.read_text())

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        self.log.close()


class BriefingApi(unittest.TestCase):
    server = None
    directory = None

    @classmethod
    def setUpClass(cls):
        cls.directory = tempfile.TemporaryDirectory()
        generate_stubs(Path(cls.directory.name))
        cls.pb = {
            name: importlib.import_module(f"briefing.v1.{name}_pb2")
            for name in ("trip", "official", "agenda", "common")
        }
        cls.grpc = {
            name: importlib.import_module(f"briefing.v1.{name}_pb2_grpc")
            for name in ("trip", "official", "agenda")
        }
        cls.status_pb2 = importlib.import_module("google.rpc.status_pb2")
        cls.details_pb2 = importlib.import_module("google.rpc.error_details_pb2")
        cls.server = Server(cls.directory.name)
        cls.channel = grpc.insecure_channel(cls.server.address)
        grpc.channel_ready_future(cls.channel).result(timeout=30)
        cls.trips = cls.grpc["trip"].TripServiceStub(cls.channel)
        cls.officials = cls.grpc["official"].OfficialServiceStub(cls.channel)
        cls.agenda = cls.grpc["agenda"].AgendaServiceStub(cls.channel)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        cls.server.stop()
        cls.directory.cleanup()

    def details(self, error):
        """The google.rpc.Status a failed call carries in `grpc-status-details-bin`."""
        trailers = dict(error.trailing_metadata() or ())
        status = self.status_pb2.Status()
        status.ParseFromString(trailers["grpc-status-details-bin"])
        self.assertEqual(status.code, error.code().value[0])
        found = {}
        for detail in status.details:
            for kind in ("ErrorInfo", "BadRequest", "ResourceInfo", "PreconditionFailure"):
                message = getattr(self.details_pb2, kind)()
                if detail.Is(message.DESCRIPTOR):
                    detail.Unpack(message)
                    found[kind] = message
        return found

    def test_the_demo_trip(self):
        agenda_pb2 = self.pb["agenda"]
        trip = self.trips.GetTrip(self.pb["trip"].GetTripRequest(name="trips/blinken-final-trip-2025-01"))
        self.assertEqual([leg.country for leg in trip.legs], ["KOR", "JPN", "FRA"])
        self.assertEqual(trip.state, self.pb["trip"].TRIP_STATE_COMPLETED)
        items = self.agenda.ListAgendaItems(agenda_pb2.ListAgendaItemsRequest(trip=trip.name, page_size=500))
        self.assertTrue(items.agenda_items)
        self.assertTrue(all(item.trip == trip.name for item in items.agenda_items))

    def test_paging_through_korea_sees_each_item_once(self):
        agenda_pb2 = self.pb["agenda"]
        everything = self.agenda.ListAgendaItems(agenda_pb2.ListAgendaItemsRequest(country="KOR", page_size=500))
        request = agenda_pb2.ListAgendaItemsRequest(country="KOR", page_size=2)
        seen = []
        while True:
            page = self.agenda.ListAgendaItems(request)
            self.assertLessEqual(len(page.agenda_items), 2)
            seen.extend(item.name for item in page.agenda_items)
            if not page.next_page_token:
                break
            request.page_token = page.next_page_token
        self.assertEqual(seen, [item.name for item in everything.agenda_items])
        self.assertGreater(len(seen), 2)
        for item in everything.agenda_items:
            codes = {actor[:3] for actor in list(item.actors) + list(item.recipients)}
            self.assertIn("KOR", codes, item.name)

        request.country = "JPN"
        request.page_token = self.agenda.ListAgendaItems(
            agenda_pb2.ListAgendaItemsRequest(country="KOR", page_size=1)).next_page_token
        with self.assertRaises(grpc.RpcError) as raised:
            self.agenda.ListAgendaItems(request)
        self.assertEqual(raised.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        bad = self.details(raised.exception)["BadRequest"]
        self.assertEqual([violation.field for violation in bad.field_violations], ["page_token"])

    def test_create_update_with_mask_and_etag_then_delete(self):
        official_pb2 = self.pb["official"]
        agenda_pb2 = self.pb["agenda"]
        official = self.officials.CreateOfficial(official_pb2.CreateOfficialRequest(
            official_id="python-client",
            official=official_pb2.Official(display_name="이름 名前 🙂", country="JPN"),
        ))
        self.assertEqual(official.name, "officials/python-client")
        self.assertEqual(official.display_name, "이름 名前 🙂")

        item = self.agenda.CreateAgendaItem(agenda_pb2.CreateAgendaItemRequest(
            agenda_item=agenda_pb2.AgendaItem(
                title="Python talks", date="2025-01-07", actors=["JPNGOV"], recipients=["USAGOV"],
                participants=[official.name], event_type=agenda_pb2.EVENT_TYPE_AGREE,
            ),
        ))
        self.assertTrue(item.name.startswith("agendaItems/"))
        self.assertEqual(item.intensity, 2.5)
        self.assertEqual(item.quad_class, agenda_pb2.QUAD_CLASS_VERBAL_COOPERATION)

        patch = agenda_pb2.AgendaItem(name=item.name, title="ignored", summary="Masked update", etag=item.etag)
        request = agenda_pb2.UpdateAgendaItemRequest(agenda_item=patch)
        request.update_mask.paths.append("summary")
        updated = self.agenda.UpdateAgendaItem(request)
        self.assertEqual((updated.title, updated.summary), ("Python talks", "Masked update"))
        self.assertNotEqual(updated.etag, item.etag)

        with self.assertRaises(grpc.RpcError) as raised:
            self.agenda.UpdateAgendaItem(request)
        self.assertEqual(raised.exception.code(), grpc.StatusCode.ABORTED)
        self.assertEqual(self.details(raised.exception)["ErrorInfo"].reason, "ETAG_MISMATCH")

        with self.assertRaises(grpc.RpcError) as raised:
            self.officials.DeleteOfficial(official_pb2.DeleteOfficialRequest(name=official.name))
        self.assertEqual(raised.exception.code(), grpc.StatusCode.FAILED_PRECONDITION)
        self.assertIn("PreconditionFailure", self.details(raised.exception))

        self.agenda.DeleteAgendaItem(agenda_pb2.DeleteAgendaItemRequest(name=item.name, etag=updated.etag))
        self.officials.DeleteOfficial(official_pb2.DeleteOfficialRequest(name=official.name))
        with self.assertRaises(grpc.RpcError) as raised:
            self.officials.GetOfficial(official_pb2.GetOfficialRequest(name=official.name))
        self.assertEqual(raised.exception.code(), grpc.StatusCode.NOT_FOUND)
        self.assertEqual(self.details(raised.exception)["ResourceInfo"].resource_name, official.name)

    def test_bad_input_names_the_field(self):
        trip_pb2 = self.pb["trip"]
        trip = trip_pb2.Trip(
            title="Bad", traveler="officials/antony-blinken",
            legs=[trip_pb2.Leg(country="KOR", city="Seoul", start_date="2025-01-05",
                               end_date="2025-01-06", time_zone="Asia/Seoul"),
                  trip_pb2.Leg(country="ZZZ", city="Nowhere", start_date="2025-01-07",
                               end_date="2025-01-06", time_zone="Asia/Tokyo")],
        )
        with self.assertRaises(grpc.RpcError) as raised:
            self.trips.CreateTrip(trip_pb2.CreateTripRequest(trip=trip, trip_id="Not Valid"))
        self.assertEqual(raised.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        found = self.details(raised.exception)
        self.assertEqual(found["ErrorInfo"].domain, "briefing")
        self.assertEqual(found["ErrorInfo"].reason, "INVALID_FIELDS")
        self.assertEqual(
            [violation.field for violation in found["BadRequest"].field_violations],
            ["trip.legs[1].country", "trip.legs[1].end_date", "trip_id"],
        )

    def test_import_stream_reports_bad_items_by_index(self):
        agenda_pb2 = self.pb["agenda"]

        def messages():
            for index in range(10):
                actor = "XXX" if index in (3, 7) else "USA"
                yield agenda_pb2.ImportAgendaItemsRequest(
                    agenda_item_id=f"python-import-{index}",
                    agenda_item=agenda_pb2.AgendaItem(
                        title=f"Imported {index}", date="2025-01-06", actors=[actor],
                        recipients=["KOR"], event_type=agenda_pb2.EVENT_TYPE_CONSULT,
                    ),
                )

        response = self.agenda.ImportAgendaItems(messages())
        self.assertEqual((response.received_count, response.imported_count, response.rejected_count), (10, 8, 2))
        self.assertEqual([(error.index, error.field) for error in response.errors],
                         [(3, "agenda_item.actors[0]"), (7, "agenda_item.actors[0]")])
        stored = self.agenda.GetAgendaItem(agenda_pb2.GetAgendaItemRequest(name="agendaItems/python-import-9"))
        self.assertEqual(stored.title, "Imported 9")


if __name__ == "__main__":
    unittest.main(verbosity=2)
