"""A HELLO's boot id: the bridge tells a HELLO repeated within one boot (its ack was slow: acknowledged again,
nothing reset) from a reboot (dedup window cleared, display written again, one log line), and firmware that sends
no boot id keeps the old behaviour. The DeviceLink talks over pyserial's ``loop://`` port, so what it writes is
read back and decoded; the firmware side runs on a memory HAL."""
from __future__ import annotations

import logging

import pytest

from firmware_bridge.bridge import DeviceLink
from firmware_bridge.config import BridgeSettings, DeviceBinding
from firmware_bridge.firmware.led_display import LedDisplay
from firmware_bridge.protocol.frames import DeviceKind, Frame, FrameDecoder, MessageType
from firmware_bridge.protocol.messages import BodyError, Hello
from firmware_bridge.protocol.profiles import ShowNumber, decode_command, profile_named
from tests.unit.test_profiles import MemoryHal

pytestmark = [pytest.mark.unit, pytest.mark.timeout(30)]

LED, KEYPAD = DeviceKind.LED_DISPLAY, DeviceKind.STAFF_KEYPAD


def test_hello_carries_an_optional_boot_id() -> None:
    new = Hello("pad-05", "motcua-fw 0.2.0", 1000, 0xDEADBEEF)
    assert Hello.decode(new.encode()) == new
    old = Hello("pad-05", "motcua-fw 0.1.0", 1000)
    assert old.encode() == b"\x06pad-05\x0fmotcua-fw 0.1.0\x03\xe8"       # the old wire format, unchanged
    assert Hello.decode(old.encode()).boot_id is None
    for extra in (b"\x01", b"\x01\x02", b"\x01\x02\x03", b"\x01\x02\x03\x04\x05"):
        with pytest.raises(BodyError):
            Hello.decode(old.encode() + extra)


def test_the_firmware_says_one_boot_id_per_power_up() -> None:
    hal = MemoryHal()
    led = LedDisplay(hal, "led-05")
    led.begin()
    led.send_hello()                     # said again within the boot (as after unanswered ones)
    first, again = (Hello.decode(f.body) for f in hal.frames() if f.type == MessageType.HELLO)
    assert first.boot_id is not None and first.boot_id == again.boot_id
    led.__init__(hal, "led-05")          # type: ignore[misc]  # power cycle
    led.begin()
    (rebooted,) = (Hello.decode(f.body) for f in hal.frames() if f.type == MessageType.HELLO)
    assert rebooted.boot_id not in (None, first.boot_id)


def _link(kind: str, device_id: str) -> DeviceLink:
    binding = DeviceBinding(device_id, kind, "loop://", "5")
    link = DeviceLink(BridgeSettings(center="tt-hcc", devices=(binding,)), binding, clock=lambda: 100.0)
    assert link.transport.open()
    return link


def _written(link: DeviceLink) -> list[tuple[str, int, object]]:
    """What the bridge wrote to the device since the last call: ("ACK", seq) or ("COMMAND", seq, command)."""
    data = b""
    while chunk := link.transport.read(0.01):
        data += chunk
    out: list[tuple[str, int, object]] = []
    for f in FrameDecoder().feed(data):
        assert isinstance(f, Frame)
        out.append((f.type.name, f.seq, decode_command(f.body) if f.type == MessageType.COMMAND else None))
    return out


def _hello(link: DeviceLink, kind: DeviceKind, seq: int, boot_id: int | None) -> None:
    link._on_frame(Frame(kind, MessageType.HELLO, seq, Hello(link.binding.id, "fw", 1000, boot_id).encode()))


def test_a_repeated_hello_of_the_same_boot_is_acknowledged_and_resets_nothing(caplog) -> None:
    caplog.set_level(logging.INFO, logger="firmware_bridge.bridge")
    link = _link("led_display", "led-5")
    link.send(ShowNumber("A042"))         # while offline: remembered, written after the hello
    _hello(link, LED, 0, 0x1111)
    cmd_seq = link.link._next_seq - 1
    assert link.online and _written(link) == [("COMMAND", cmd_seq, ShowNumber("A042")), ("ACK", 0, None)]
    # our ack was slow: the device retransmits the same HELLO, then says a new one (same boot)
    _hello(link, LED, 0, 0x1111)
    _hello(link, LED, 1, 0x1111)
    assert _written(link) == [("ACK", 0, None), ("ACK", 1, None)]      # answered again; no display replay
    assert link.hello_repeats == 2 and link.reboots == 0
    # a real reboot: a new boot id → the display is written again, one log line says so
    caplog.clear()
    _hello(link, LED, 0, 0x2222)
    assert _written(link) == [("COMMAND", cmd_seq + 1, ShowNumber("A042")), ("ACK", 0, None)]
    assert link.reboots == 1
    lines = [r.getMessage() for r in caplog.records if r.name == "firmware_bridge.bridge"]
    assert len(lines) == 1 and lines[0].startswith("led-5: rebooted (boot 00002222, was 00001111)")


def test_the_dedup_window_survives_a_repeated_hello_and_not_a_reboot() -> None:
    link = _link("staff_keypad", "kp-5")
    keypad = profile_named("staff_keypad")
    _hello(link, KEYPAD, 0, 0xAAAA)
    press = Frame(KEYPAD, MessageType.EVENT, 1, keypad.encode_key("next"))
    link._on_frame(press)
    assert len(link._pending) == 1                           # one call-next request
    _hello(link, KEYPAD, 0, 0xAAAA)                          # a repeat: the device's seqs did not restart
    link._on_frame(press)                                    # so a retransmitted press is the same press
    assert len(link._pending) == 1 and link.link.duplicates == 1
    _hello(link, KEYPAD, 0, 0xBBBB)                          # rebooted: its seqs restart, seq 1 is a new press
    link._on_frame(press)
    assert len(link._pending) == 2


def test_firmware_without_a_boot_id_restarts_on_every_hello_as_before() -> None:
    link = _link("led_display", "led-5")
    link.send(ShowNumber("A042"))
    for seq in (0, 0, 1):
        _hello(link, LED, seq, None)
        assert [w[0] for w in _written(link)] == ["COMMAND", "ACK"]
    assert link.hello_repeats == 0 and link.reboots == 0
