"""The hub side of the province sink: its [province] config, and the signed replay endpoint driving a real
OutboxRelay over a real SQLite file (re-sends from the seq, in order)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask import Flask

from contracts.errors import MotcuaError
from contracts.messages import Envelope
from queue_server.adapters.main_system import signed_headers
from queue_server.adapters.outbox import OutboxItem
from queue_server.adapters.province_sink import (
    ProvinceConfigError,
    ProvinceSinkSettings,
    build_province_relay,
    parse_province,
)
from queue_server.web.province import make_province_blueprint
from tests.hub_center import MONDAY_0800

pytestmark = [pytest.mark.adapter]

KEY = "khoa-tinh-0123456789abcdef"


def test_province_table_is_checked(tmp_path: Path) -> None:
    store = tmp_path / "motcua.sqlite3"
    assert parse_province({}, store) is None
    cfg = parse_province({"url": "https://tinh.example.vn/api/v1/events", "key_env": "K"}, store,
                         environ={"K": KEY})
    assert cfg is not None and cfg.key == KEY and cfg.outbox_path == tmp_path / "outbox-province.sqlite3"
    assert KEY not in repr(cfg)
    for bad, words in [({"url": "ftp://x", "key": KEY}, "province.url"),
                       ({"url": "http://x/e", "key": "CHANGE-ME"}, "at least 16"),
                       ({"url": "http://x/e", "key": KEY, "key_env": "K"}, "exactly one"),
                       ({"url": "http://x/e", "key_env": "NOPE"}, "NOPE is not set"),
                       ({"url": "http://x/e", "key": KEY, "batch": 3}, "province.batch: unknown key")]:
        with pytest.raises(ProvinceConfigError, match=words):
            parse_province(bad, store, environ={})


class Log:
    def __init__(self, n: int) -> None:
        self.events = [Envelope.new(i, "ticket.issued", "xa-a", MONDAY_0800, {"n": i}) for i in range(1, n + 1)]

    def after(self, seq: int, limit: int) -> list[Envelope]:
        return self.events[seq:seq + limit]


class Recorder:
    def __init__(self) -> None:
        self.seqs: list[int | None] = []

    def send(self, item: OutboxItem) -> None:
        self.seqs.append(item.seq)


def test_signed_replay_endpoint_resends_from_seq(tmp_path: Path) -> None:
    log = Log(30)
    relay = build_province_relay(ProvinceSinkSettings(url="http://127.0.0.1:9/e", key=KEY,
                                                      outbox_path=tmp_path / "o.sqlite3", batch_size=1),
                                 "xa-a", log.after)
    recorder = Recorder()
    relay.sender = recorder
    assert relay.run_once() == 30
    app = Flask("t")

    @app.errorhandler(MotcuaError)
    def err(e: MotcuaError) -> tuple[str, int]:
        return str(e), 401 if "signature" in str(e) else 400

    app.register_blueprint(make_province_blueprint(relay, KEY))
    client = app.test_client()
    body = json.dumps({"from_seq": 25}).encode()
    assert client.post("/api/v1/province/replay", data=body).status_code == 401          # unsigned
    assert client.post("/api/v1/province/replay", data=body,
                       headers=signed_headers("another-key-0123456789", body)).status_code == 401
    bad = b'{"from_seq": 0}'
    assert client.post("/api/v1/province/replay", data=bad, headers=signed_headers(KEY, bad)).status_code == 400
    ok = client.post("/api/v1/province/replay", data=body, headers=signed_headers(KEY, body))
    assert ok.status_code == 200 and ok.get_json()["from_seq"] == 25
    log.events += [Envelope.new(31, "ticket.issued", "xa-a", MONDAY_0800, {"n": 31})]
    relay.run_once()
    assert recorder.seqs == list(range(1, 31)) + list(range(25, 32))       # 25.. again, in order, then new
    relay.close()
