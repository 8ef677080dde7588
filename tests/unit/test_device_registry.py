"""DeviceRegistry fed with (topic, payload) pairs: records, alerts raised and cleared, junk ignored."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts import topics
from contracts.device_state import DeviceEvent, DeviceState
from contracts.messages import VN_TZ
from queue_server.adapters.device_registry import DeviceRegistry

pytestmark = [pytest.mark.unit, pytest.mark.timeout(30)]

C = "hq"
T0 = datetime(2026, 11, 23, 8, 0, tzinfo=VN_TZ)


def state(kind: str, *faults: str) -> bytes:
    from contracts.device_state import status_for

    return DeviceState(kind, status_for(faults), faults, "2026-11-23T08:00:00+07:00").to_json().encode()


def test_printer_lifecycle_online_paper_out_refilled_offline() -> None:
    reg = DeviceRegistry(C)
    assert reg.feed(topics.device_availability(C, "printer-1"), b"online", T0) == []
    assert reg.feed(topics.device_state(C, "printer-1"), state("printer"), T0) == []
    rec = reg.device("printer-1")
    assert rec is not None and (rec.kind, rec.availability, rec.status, rec.last_seen) == ("printer", "online", "ok", T0)

    t1 = T0 + timedelta(minutes=5)
    changes = reg.feed(topics.device_state(C, "printer-1"), state("printer", "paper_out"), t1)
    assert [(c.alert.code, c.raised, c.alert.severity) for c in changes] == [("paper_out", True, "critical")]
    assert changes[0].alert.message_vi == "Máy in hết giấy"
    assert reg.device("printer-1").last_fault == "paper_out"  # type: ignore[union-attr]
    assert reg.device("printer-1").last_fault_at == t1  # type: ignore[union-attr]
    # the same state again (retained redelivery on reconnect) raises nothing new
    assert reg.feed(topics.device_state(C, "printer-1"), state("printer", "paper_out"), t1) == []
    assert [a.code for a in reg.alerts()] == ["paper_out"]

    t2 = t1 + timedelta(minutes=3)
    changes = reg.feed(topics.device_state(C, "printer-1"), state("printer", "paper_near_end"), t2)
    assert {(c.alert.code, c.raised) for c in changes} == {("paper_near_end", True), ("paper_out", False)}
    assert [(a.code, a.severity) for a in reg.alerts()] == [("paper_near_end", "warning")]

    t3 = t2 + timedelta(minutes=1)
    changes = reg.feed(topics.device_availability(C, "printer-1"), b"offline", t3)  # Last Will
    assert [(c.alert.code, c.raised) for c in changes] == [("offline", True)]
    assert reg.device("printer-1").availability == "offline"  # type: ignore[union-attr]
    assert reg.device("printer-1").last_seen == t2  # type: ignore[union-attr]
    assert [a.code for a in reg.alerts()] == ["offline", "paper_near_end"]  # critical first

    changes = reg.feed(topics.device_availability(C, "printer-1"), "online", t3 + timedelta(seconds=30))
    assert [(c.alert.code, c.raised) for c in changes] == [("offline", False)]


def test_snapshot_and_several_devices() -> None:
    reg = DeviceRegistry(C)
    reg.feed(topics.device_state(C, "scanner-kiosk-1"), state("scanner"), T0)
    reg.feed(topics.device_state(C, "printer-kiosk-1"), state("printer", "cover_open"), T0)
    reg.feed(topics.device_event(C, "printer-kiosk-1"), DeviceEvent("fault", "cover_open", "x").to_json(), T0)
    snap = reg.snapshot()
    assert [d["id"] for d in snap["devices"]] == ["printer-kiosk-1", "scanner-kiosk-1"]
    assert snap["devices"][0]["faults"] == ["cover_open"]
    assert snap["devices"][0]["last_seen"] == "2026-11-23T08:00:00+07:00"
    assert snap["alerts"][0]["message_vi"] == "Nắp máy in đang mở"
    assert snap["devices"][1]["availability"] == "unknown"


def test_empty_retained_payload_forgets_a_device() -> None:
    reg = DeviceRegistry(C)
    reg.feed(topics.device_state(C, "printer-9"), state("printer", "paper_out"), T0)
    changes = reg.feed(topics.device_state(C, "printer-9"), b"", T0)
    assert [(c.alert.code, c.raised) for c in changes] == [("paper_out", False)]
    assert reg.devices() == [] and reg.alerts() == []


@pytest.mark.parametrize(
    ("topic", "payload"),
    [
        (topics.device_availability(C, "p1"), b"maybe"),
        (topics.device_state(C, "p1"), b"{not json"),
        (topics.device_state(C, "p1"), b'{"kind": "printer", "status": "burning"}'),
        (topics.device_state(C, "p1"), b'{"kind": "printer", "status": "ok", "faults": "paper_out"}'),
        (topics.device_state(C, "p1"), b"[1, 2]"),
        (topics.device_event(C, "p1"), b'{"no": "type"}'),
        ("motcua/v1/hq/devices/P1/state", b"{}"),
        ("garbage", b"online"),
    ],
)
def test_bad_messages_are_counted_not_raised(topic: str, payload: bytes) -> None:
    reg = DeviceRegistry(C)
    assert reg.feed(topic, payload, T0) == []
    assert reg.rejected == 1 and reg.last_error
    assert reg.devices() == []


def test_other_centers_and_other_topics_are_ignored() -> None:
    reg = DeviceRegistry(C)
    assert reg.feed(topics.device_state("other", "p1"), state("printer", "paper_out"), T0) == []
    assert reg.feed(topics.state_calls(C), b"{}", T0) == []
    assert reg.feed(topics.device_set(C, "p1"), b"{}", T0) == []
    assert reg.devices() == [] and reg.rejected == 0


@given(st.binary(max_size=200), st.sampled_from(["availability", "state", "event"]))
def test_never_raises_on_arbitrary_payloads(payload: bytes, leaf: str) -> None:
    reg = DeviceRegistry(C)
    topic = {"availability": topics.device_availability, "state": topics.device_state,
             "event": topics.device_event}[leaf](C, "dev-1")
    reg.feed(topic, payload, T0)


def test_serial_bridge_state_without_status_is_accepted() -> None:
    # what firmware_bridge publishes for rating pads, LED displays and keypads
    reg = DeviceRegistry(C)
    payload = (b'{"id": "pad-5", "kind": "rating_pad", "counter": "5", "online": true, "firmware": "1.2",'
               b' "port": "/dev/ttyUSB1", "reason": "hello"}')
    assert reg.feed(topics.device_state(C, "pad-5"), payload, T0) == []
    assert reg.feed(topics.device_availability(C, "pad-5"), b"online", T0) == []
    rec = reg.device("pad-5")
    assert rec is not None and (rec.kind, rec.status, rec.availability) == ("rating_pad", "ok", "online")
    assert reg.rejected == 0
    assert DeviceState.from_json(payload).detail["firmware"] == "1.2"


def test_subscriptions_and_routing() -> None:
    reg = DeviceRegistry(C)
    assert reg.subscriptions() == [f"motcua/v1/{C}/devices/+/availability", f"motcua/v1/{C}/devices/+/state",
                                   f"motcua/v1/{C}/devices/+/event"]
    assert DeviceRegistry.wants(topics.device_state(C, "p1"))
    assert not DeviceRegistry.wants(topics.device_set(C, "p1"))
    assert not DeviceRegistry.wants(topics.cmd(C, "call-next"))


def test_an_invented_id_flood_is_bounded_and_unknown_ids_refused_with_an_inventory() -> None:
    from queue_server.adapters.device_registry import MAX_DEVICES

    reg = DeviceRegistry(C)
    for i in range(MAX_DEVICES + 300):
        reg.feed(topics.device_availability(C, f"fake-{i}"), b"online", T0)
    assert len(reg.devices()) == MAX_DEVICES and reg.rejected == 300
    known = DeviceRegistry(C, known={"pad-1"})
    known.feed(topics.device_availability(C, "pad-1"), b"online", T0)
    known.feed(topics.device_availability(C, "pad-2"), b"online", T0)
    assert [d.id for d in known.devices()] == ["pad-1"] and known.rejected == 1
    # a nested-JSON bomb on a device topic is one rejected message, no traceback
    assert known.feed(topics.device_state(C, "pad-1"), b"[" * 5000 + b"]" * 5000, T0) == []
    assert known.rejected == 2


def _gateway_state(kind: str, devices: list[str]) -> bytes:
    return DeviceState(kind, "ok", (), "2026-11-23T08:00:00+07:00", {"devices": devices}).to_json().encode()


def test_devices_behind_one_connection_go_offline_with_their_process() -> None:
    """A bridge is one broker connection (one user, one live connection): its Will covers every device behind it."""
    reg = DeviceRegistry(C)
    reg.feed(topics.device_state(C, "bridge-1"), _gateway_state("bridge", ["kp-1", "pad-1"]), T0)
    reg.feed(topics.device_availability(C, "bridge-1"), b"online", T0)
    for dev in ("kp-1", "pad-1"):
        assert reg.feed(topics.device_availability(C, dev), b"online", T0) == []
    changes = reg.feed(topics.device_availability(C, "bridge-1"), b"offline", T0)
    assert sorted(c.alert.device_id for c in changes if c.raised) == ["bridge-1", "kp-1", "pad-1"]
    assert reg.device("pad-1").via == "bridge-1"  # type: ignore[union-attr]
    # the bridge is back: each device comes online when the bridge says so (after its HELLO), not before
    reg.feed(topics.device_availability(C, "bridge-1"), b"online", T0)
    assert reg.device("kp-1").availability == "offline"  # type: ignore[union-attr]
    changes = reg.feed(topics.device_availability(C, "kp-1"), b"online", T0)
    assert [(c.alert.device_id, c.raised) for c in changes] == [("kp-1", False)]


def test_a_hub_restarting_after_its_bridge_died_sees_the_stale_online_as_offline() -> None:
    # retained messages in the order the broker hands them over: every availability, then every state
    reg = DeviceRegistry(C)
    reg.feed(topics.device_availability(C, "bridge-1"), b"offline", T0)
    reg.feed(topics.device_availability(C, "pad-1"), b"online", T0)       # retained before the bridge died
    changes = reg.feed(topics.device_state(C, "bridge-1"), _gateway_state("bridge", ["pad-1"]), T0)
    assert [(c.alert.device_id, c.alert.code) for c in changes] == [("pad-1", "offline")]
    assert reg.device("pad-1").availability == "offline"  # type: ignore[union-attr]
    reg.feed(topics.device_availability(C, "pad-1"), b"online", T0)      # a stale redelivery changes nothing
    assert reg.device("pad-1").availability == "offline"  # type: ignore[union-attr]


def test_a_process_cannot_claim_another_ones_devices() -> None:
    reg = DeviceRegistry(C, owners={"bridge-1": "bridge-1", "bridge-2": "bridge-2", "pad-1": "bridge-1",
                                    "pad-2": "bridge-2"})
    reg.feed(topics.device_availability(C, "pad-2"), b"online", T0)
    reg.feed(topics.device_state(C, "bridge-1"), _gateway_state("bridge", ["pad-1", "pad-2"]), T0)
    reg.feed(topics.device_availability(C, "bridge-1"), b"offline", T0)
    assert reg.device("pad-2").availability == "online"  # type: ignore[union-attr]
    assert reg.device("pad-1").availability == "offline"  # type: ignore[union-attr]
    assert reg.rejected == 1
