"""Device profiles: key and command encodings, and refusal of commands a device does not understand."""
from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware_bridge.config import BridgeConfigError, load_settings
from firmware_bridge.firmware.led_display import LedDisplay
from firmware_bridge.firmware.rating_pad import RatingPad
from firmware_bridge.firmware.staff_keypad import StaffKeypad
from firmware_bridge.protocol.frames import DeviceKind, Frame, FrameDecoder, MessageType, encode_frame
from firmware_bridge.protocol.messages import BodyError, ErrorReport
from firmware_bridge.protocol.profiles import (
    PROFILES,
    ClearDisplay,
    DisableRating,
    EnableRating,
    KeyPress,
    LedDisplayProfile,
    RatingPadProfile,
    RatingRefused,
    ShowNumber,
    ShowPause,
    ShowText,
    StaffKeypadProfile,
    ThankYou,
    decode_command,
    encode_command,
    profile_named,
)

pytestmark = [pytest.mark.unit, pytest.mark.timeout(60)]

commands = st.one_of(
    st.builds(ShowNumber, st.text(max_size=8).filter(lambda s: len(s.encode()) <= 8), st.booleans()),
    st.builds(ShowPause, st.text(max_size=8).filter(lambda s: len(s.encode()) <= 8)),
    st.just(ClearDisplay()), st.builds(EnableRating, st.integers(0, 255), st.integers(0, 255)),
    st.just(DisableRating()), st.just(ThankYou()), st.just(RatingRefused()),
    st.builds(ShowText, st.text(max_size=20)),
)


@given(commands)
def test_command_round_trip(cmd: object) -> None:
    assert decode_command(encode_command(cmd)) == cmd  # type: ignore[arg-type]


@given(st.binary(max_size=80))
def test_decode_command_only_raises_body_error(body: bytes) -> None:
    try:
        decode_command(body)
    except BodyError:
        pass


def test_vietnamese_text_is_cut_at_a_character_boundary() -> None:
    cmd = decode_command(encode_command(ShowText("Mời công dân số A023 đến quầy số 5 — cảm ơn quý vị đã chờ đợi")))
    assert isinstance(cmd, ShowText) and len(cmd.text.encode()) <= 64 and cmd.text.startswith("Mời công dân")


def test_keys_round_trip_per_profile() -> None:
    for profile in PROFILES.values():
        for key in profile.keys:
            assert profile.decode_event(profile.encode_key(key)) == KeyPress(key)
    assert StaffKeypadProfile.encode_key("next") == b"\x01\x01"
    with pytest.raises(BodyError):
        StaffKeypadProfile.decode_event(b"\x01\x09")
    with pytest.raises(BodyError):
        RatingPadProfile.decode_event(b"\x02\x01")
    with pytest.raises(ValueError):
        RatingPadProfile.encode_key("next")


def test_profiles_refuse_commands_for_other_devices() -> None:
    assert LedDisplayProfile.encode(ShowNumber("A023", True)) == b"\x01\x01\x04A023"
    with pytest.raises(ValueError):
        LedDisplayProfile.encode(EnableRating())
    with pytest.raises(ValueError):
        RatingPadProfile.encode(ShowText("x"))
    assert profile_named("staff_keypad") is StaffKeypadProfile
    with pytest.raises(ValueError):
        profile_named("toaster")


# --- the reference firmware's device logic, driven through a HAL in memory (no port, no clock) ----------

class MemoryHal:
    def __init__(self) -> None:
        self.now = 0
        self.rx = b""
        self.tx = bytearray()
        self.pressed: list[int] = []
        self.out: list[str] = []

    def read(self) -> bytes:
        data, self.rx = self.rx, b""
        return data

    def write(self, data: bytes) -> None:
        self.tx += data

    def ticks_ms(self) -> int:
        return self.now

    def ticks_diff(self, a: int, b: int) -> int:
        return a - b

    def ticks_add(self, a: int, delta: int) -> int:
        return a + delta

    boots = 0

    def boot_id(self) -> int:
        self.boots += 1          # a new value per power-up, predictable in a test
        return 0xB0070000 + self.boots

    def keys(self) -> list[int]:
        keys, self.pressed = self.pressed, []
        return keys

    def set_leds(self, mask: int, blink: bool = False) -> None:
        self.out.append(f"leds {mask}" + ("|blink" if blink else ""))

    def show(self, text: str, blink: bool = False) -> None:
        self.out.append(f"show {text}" + ("|blink" if blink else ""))

    def log(self, message: str) -> None:
        pass

    def frames(self) -> list[Frame]:
        out = [f for f in FrameDecoder().feed(bytes(self.tx)) if isinstance(f, Frame)]
        self.tx.clear()
        return out


def _cmd(seq: int, cmd: object) -> bytes:
    return encode_frame(Frame(DeviceKind.BRIDGE, MessageType.COMMAND, seq, encode_command(cmd)))  # type: ignore[arg-type]


def test_rating_pad_firmware_only_counts_a_press_while_lit() -> None:
    hal = MemoryHal()
    pad = RatingPad(hal, "pad-05")
    pad.begin()
    (hello,) = hal.frames()
    assert hello.type == MessageType.HELLO
    hal.rx = encode_frame(Frame(DeviceKind.BRIDGE, MessageType.ACK, hello.seq))
    pad.step()
    hal.pressed = [1]                      # dark pad: a stray press is not a rating
    pad.step()
    assert [f.type for f in hal.frames() if f.type == MessageType.EVENT] == []
    hal.rx = _cmd(0, EnableRating(3, 60))
    pad.step()
    assert hal.out[-1] == "leds 7" and [f.type for f in hal.frames()] == [MessageType.ACK]
    hal.pressed = [2, 2]                   # a double press still sends one rating
    pad.step()
    events = [f for f in hal.frames() if f.type == MessageType.EVENT]
    assert len(events) == 1 and RatingPadProfile.decode_event(events[0].body) == KeyPress("2")
    assert hal.out[-1] == "leds 2"
    hal.rx = _cmd(0, EnableRating(3, 60))  # a retransmitted command (same seq) is acked, not re-applied
    pad.step()
    assert hal.out[-1] == "leds 2" and [f.type for f in hal.frames()][-1] == MessageType.ACK
    hal.rx = _cmd(1, EnableRating(3, 1))
    pad.step()
    hal.now += 1000                        # nobody pressed: the pad goes dark by itself
    pad.step()
    assert hal.out[-1] == "leds 0"


def test_led_and_keypad_firmware_report_bad_commands() -> None:
    hal = MemoryHal()
    led = LedDisplay(hal, "led-05")
    led.begin()
    hal.frames()
    hal.rx = _cmd(0, ShowNumber("A023", True)) + _cmd(1, ShowText("x"))
    led.step()
    assert hal.out[-1] == "show A023|blink"
    frames = hal.frames()
    errors = [ErrorReport.decode(f.body) for f in frames if f.type == MessageType.ERROR]
    assert [e.code for e in errors] == [2]        # unknown command for an LED display, reported
    kp = StaffKeypad(MemoryHal(), "kp-05")
    kp.begin()
    (hello,) = kp.hal.frames()
    kp.hal.rx = encode_frame(Frame(DeviceKind.BRIDGE, MessageType.ACK, hello.seq))
    kp.step()
    kp.hal.pressed = [1, 9]                        # "next" and a key that does not exist
    kp.step()
    events = [f for f in kp.hal.frames() if f.type == MessageType.EVENT]
    assert [StaffKeypadProfile.decode_event(f.body) for f in events] == [KeyPress("next")]


def test_a_hello_answered_to_the_bridge_supersedes_the_boot_hello_nobody_acknowledged() -> None:
    """The boot HELLO went out before the bridge had the port open; the bridge then says HELLO and the device
    answers with a new one. Retransmitting the old one later would tell the bridge the device rebooted once
    more: it re-sends the display (a called number blinks again) in the middle of later commands."""
    hal = MemoryHal()
    led = LedDisplay(hal, "led-05")
    led.begin()
    (boot_hello,) = hal.frames()                  # lost: nobody was listening yet
    hal.rx = encode_frame(Frame(DeviceKind.BRIDGE, MessageType.HELLO, 0, b""))
    led.step()
    ack, answer = hal.frames()
    assert (ack.type, answer.type) == (MessageType.ACK, MessageType.HELLO) and answer.seq != boot_hello.seq
    hal.rx = encode_frame(Frame(DeviceKind.BRIDGE, MessageType.ACK, answer.seq))
    led.step()
    for _ in range(10):                           # well past every retry of the boot hello
        hal.now += 250
        led.step()
    assert [f for f in hal.frames() if f.type == MessageType.HELLO] == []
    assert led.pending == {}


# --- bridge config ------------------------------------------------------------------------------------

def test_bridge_config_is_validated_with_clear_errors(tmp_path) -> None:  # type: ignore[no-untyped-def]
    good = ('[bridge]\ncenter = "tt-hcc"\nmqtt_port = 1884\n'
            '[[devices]]\nid = "pad-05"\nkind = "rating_pad"\nport = "/dev/serial/by-id/x"\ncounter = 5\n')
    path = tmp_path / "bridge.toml"
    path.write_text(good)
    s = load_settings(path, env={})
    assert s.devices[0].counter == "5" and s.mqtt_port == 1884 and s.rating_levels == (3, 2, 1)
    assert load_settings(path, env={"MOTCUA_BRIDGE_MQTT_PORT": "1999"}).mqtt_port == 1999
    for text, message in (
        ('[bridge]\nmqtt_port = 1\n', "bridge.center: missing"),
        (good.replace('kind = "rating_pad"', 'kind = "toaster"'), "devices[0]."),
        (good.replace('id = "pad-05"', 'id = "Pad 05"'), "devices[0]."),
        (good.replace("mqtt_port = 1884", 'mqtt_port = "x"'), "bridge.mqtt_port: expected an integer"),
        (good + good.split("\n", 3)[3], "duplicate"),
        ("[bridge\n", "bridge.toml"),
    ):
        path.write_text(text)
        with pytest.raises(BridgeConfigError, match=re.escape(message)):
            load_settings(path, env={})
    with pytest.raises(BridgeConfigError, match="MOTCUA_BRIDGE_MQTT_PORT"):
        path.write_text(good)
        load_settings(path, env={"MOTCUA_BRIDGE_MQTT_PORT": "abc"})


def test_firmware_reports_line_noise_at_most_once_a_second() -> None:
    hal = MemoryHal()
    led = LedDisplay(hal, "led-05")
    led.begin()
    hal.frames()
    for _ in range(5):
        hal.rx = b"\x07\x99\x42\x00"
        led.step()
    errors = [f for f in hal.frames() if f.type == MessageType.ERROR]
    assert len(errors) == 1 and ErrorReport.decode(errors[0].body).code == 1
    hal.rx = encode_frame(Frame(DeviceKind.BRIDGE, MessageType.ACK, errors[0].seq))    # the bridge got it
    led.step()
    hal.now += 1000
    hal.rx = b"\x05\x00" + _cmd(0, ShowNumber("B002"))      # more noise, then a good frame: it still shows
    led.step()
    assert hal.out[-1] == "show B002"
    assert [ErrorReport.decode(f.body).detail for f in hal.frames() if f.type == MessageType.ERROR] == [
        "bad frames: 6"]


def test_keypad_holds_presses_until_its_hello_is_acknowledged() -> None:
    hal = MemoryHal()
    kp = StaffKeypad(hal, "kp-05")
    kp.begin()
    (hello,) = hal.frames()
    hal.pressed = [1]                      # pressed right after boot: the bridge may not know we rebooted
    kp.step()
    assert [f for f in hal.frames() if f.type == MessageType.EVENT] == []
    hal.rx = encode_frame(Frame(DeviceKind.BRIDGE, MessageType.ACK, hello.seq))
    kp.step()
    events = [f for f in hal.frames() if f.type == MessageType.EVENT]
    assert [StaffKeypadProfile.decode_event(f.body) for f in events] == [KeyPress("next")]
    hal.rx = encode_frame(Frame(DeviceKind.BRIDGE, MessageType.ACK, events[0].seq))
    kp.step()
    # after a reboot nobody answers for a while: presses older than two seconds are dropped, not replayed
    kp.send_hello()
    (hello,) = [f for f in hal.frames() if f.type == MessageType.HELLO]
    hal.pressed = [1, 2]
    kp.step()
    hal.now += 2500
    hal.pressed = [3]
    kp.step()
    hal.rx = encode_frame(Frame(DeviceKind.BRIDGE, MessageType.ACK, hello.seq))
    kp.step()
    events = [f for f in hal.frames() if f.type == MessageType.EVENT]
    assert [StaffKeypadProfile.decode_event(f.body) for f in events] == [KeyPress("no_show")]


def test_an_unanswered_hello_is_sent_again_later() -> None:
    hal = MemoryHal()
    led = LedDisplay(hal, "led-05")
    led.begin()
    for _ in range(8):                     # retransmitted, then given up
        hal.now += 250
        led.step()
    hellos = [f for f in hal.frames() if f.type == MessageType.HELLO]
    assert len(hellos) == 6 and len({f.seq for f in hellos}) == 1
    hal.now += 5000
    led.step()
    again = [f for f in hal.frames() if f.type == MessageType.HELLO]
    assert len(again) == 1 and again[0].seq != hellos[0].seq
