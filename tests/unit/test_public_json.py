"""An event's public text (what MQTT and every open stream send) is made once per event and is exactly
``public_envelope(env).to_json()``: logins and face data still withheld, and two events never confused."""
from __future__ import annotations

import pytest

from contracts.messages import Envelope, public_envelope
from queue_server.app.views import _PublicJson

pytestmark = pytest.mark.unit


def _env(seq: int, id_: str, type_: str, data: dict[str, object]) -> Envelope:
    return Envelope(id_, seq, type_, "tt-hcc", "2026-11-23T08:00:00+07:00", data)


def test_made_once_per_event_and_equal_to_the_public_form() -> None:
    public_json = _PublicJson(size=2)
    called = _env(7, "e7", "ticket.called", {"ticket": {"id": "t1", "staff": "minh"}, "staff_login": "minh",
                                             "counter": "1"})
    face = _env(8, "e8", "face.enrolled", {"embedding": [0.1, 0.2], "citizen": "079123"})
    first = public_json(called)
    assert first == public_envelope(called).to_json()
    assert '"minh"' not in first
    assert public_json(called) is first                     # the second stream gets the same text, not a new one
    assert "079123" not in public_json(face) and public_json(face) == public_envelope(face).to_json()

    # the same seq with another id (a restored or rebuilt store) is another event
    other = _env(7, "x7", "ticket.issued", {"ticket": {"id": "t9"}})
    assert public_json(other) == public_envelope(other).to_json() != first

    # bounded: the oldest texts are forgotten, and made again (equal) when asked for
    assert len(public_json._texts) == 2
    again = public_json(called)
    assert again == first and again is not first
