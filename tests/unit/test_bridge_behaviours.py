"""Bridge behaviours, one class per device kind (firmware_bridge.protocol.behaviours), driven through a
recording DevicePort; and the bridge's refusal of a frame whose kind differs from the device's HELLO."""
from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from contracts import topics
from contracts.messages import CommandReply, CounterState, Envelope
from firmware_bridge.bridge import DeviceLink
from firmware_bridge.config import DEFAULT_KEY_COMMANDS, BridgeSettings, DeviceBinding
from firmware_bridge.protocol.behaviours import (
    BEHAVIOURS,
    DeviceConfig,
    LedDisplayBehaviour,
    RatingPadBehaviour,
    StaffKeypadBehaviour,
    behaviour_for,
)
from firmware_bridge.protocol.frames import DeviceKind, Frame, MessageType
from firmware_bridge.protocol.messages import Hello
from firmware_bridge.protocol.profiles import (
    PROFILES,
    ClearDisplay,
    Command,
    DisableRating,
    EnableRating,
    RatingRefused,
    ShowNumber,
    ShowPause,
    ShowText,
    ThankYou,
    profile_named,
)

pytestmark = [pytest.mark.unit, pytest.mark.timeout(30)]

CENTER = "tt-hcc"
ROOT = Path(__file__).resolve().parents[2]


class Device:
    """A DevicePort that records what the behaviour did."""

    def __init__(self) -> None:
        self.sent: list[Command] = []
        self.requests: list[tuple[str, dict[str, Any]]] = []

    def send(self, cmd: Command) -> bool:
        self.sent.append(cmd)
        return True

    def request(self, command: str, args: dict[str, Any]) -> None:
        self.requests.append((command, args))

    @property
    def showing(self) -> Command | None:
        return next((c for c in reversed(self.sent) if isinstance(c, (ShowNumber, ShowPause, ClearDisplay,
                                                                      ShowText))), None)


def config(**changes: Any) -> DeviceConfig:
    base: dict[str, Any] = {"center": CENTER, "device_id": "dev-5", "counter": "5",
                            "key_commands": dict(DEFAULT_KEY_COMMANDS)}
    return DeviceConfig(**{**base, **changes})


def state(status: str = "open", current: str | None = None, current_status: str | None = None) -> CounterState:
    return CounterState(seq=1, counter="5", name="Quầy 5", status=status, current_ticket=current,
                        current_status=current_status)


def env(etype: str, number: str = "A023") -> Envelope:
    return Envelope(id="e-7", seq=7, type=etype, at="2026-11-23T08:00:00+07:00", center=CENTER,
                    data={"counter": "5", "ticket": {"number": number}})


def test_every_profile_has_a_behaviour() -> None:
    assert set(BEHAVIOURS) == set(PROFILES)
    for kind, cls in BEHAVIOURS.items():
        assert cls.kind == kind
    with pytest.raises(ValueError, match="no behaviour"):
        behaviour_for(DeviceKind.BRIDGE, Device(), config())


def test_led_display_shows_calls_pauses_and_goes_dark() -> None:
    dev = Device()
    led = behaviour_for(DeviceKind.LED_DISPLAY, dev, config())
    assert isinstance(led, LedDisplayBehaviour)
    assert set(led.subscriptions()) == {topics.state_counter(CENTER, "5"), topics.event(CENTER, "ticket.called"),
                                        topics.event(CENTER, "ticket.recalled")}
    led.on_hub_event(env("ticket.called"))
    assert dev.sent == [ShowNumber("A023", blink=True)]
    led.on_counter_state(state(current="A023", current_status="called"))      # same number: no repaint
    assert len(dev.sent) == 1
    led.on_hub_event(env("ticket.done"))                                      # not a display event
    assert len(dev.sent) == 1
    led.on_counter_state(state("paused"))
    led.on_counter_state(state("open"))          # back from a pause, nobody called: not "----" any more
    led.on_counter_state(state(current="A024"))  # called from the console: shown steady
    led.on_counter_state(state("closed"))
    assert dev.sent[1:] == [ShowPause("----"), ClearDisplay(), ShowNumber("A024", blink=False), ClearDisplay()]
    led.on_key("1")
    assert dev.requests == []


def test_rating_pad_lights_rates_thanks_and_refuses() -> None:
    dev = Device()
    pad = behaviour_for(DeviceKind.RATING_PAD, dev, config(rating_levels=(3, 2, 1), rating_timeout_s=90))
    assert isinstance(pad, RatingPadBehaviour)
    assert set(pad.subscriptions()) == {topics.event(CENTER, "ticket.done"), topics.reply_filter(CENTER)}
    pad.on_hub_event(env("ticket.called"))
    assert dev.sent == []
    pad.on_hub_event(env("ticket.done"))
    assert dev.sent == [EnableRating(3, 90)]
    pad.on_key("1")
    pad.on_key("4")          # no fourth level configured
    pad.on_key("x")
    assert dev.requests == [("submit-rating", {"counter": "5", "level": 3, "source": "dev-5"})]
    pad.on_reply(CommandReply("submit-rating", "c1", True, result={}))
    pad.on_reply(CommandReply("submit-rating", "c2", False, error={"code": "already_rated", "message": "x"}))
    pad.on_no_reply("submit-rating")
    assert dev.sent[1:] == [ThankYou(), RatingRefused(), DisableRating()]


def test_rating_pad_names_the_ticket_whose_completion_lit_it() -> None:
    """The hub accepts the rating only for the ticket just served at the pad's counter (issue 11)."""
    dev = Device()
    pad = behaviour_for(DeviceKind.RATING_PAD, dev, config(rating_levels=(3, 2, 1)))
    done = Envelope(id="e-8", seq=8, type="ticket.done", at="2026-11-23T08:00:00+07:00", center=CENTER,
                    data={"counter": "5", "ticket": {"id": "t-42", "number": "A042"}})
    pad.on_hub_event(done)
    pad.on_key("2")
    assert dev.requests == [("submit-rating", {"counter": "5", "level": 2, "source": "dev-5", "ticket": "t-42"})]


def test_staff_keypad_sends_counter_commands_and_says_refusals_in_vietnamese() -> None:
    dev = Device()
    kp = behaviour_for(DeviceKind.STAFF_KEYPAD, dev, config(transfer_to="dat-dai"))
    assert isinstance(kp, StaffKeypadBehaviour)
    assert set(kp.subscriptions()) == {topics.state_counter(CENTER, "5"), topics.reply_filter(CENTER)}
    kp.on_key("next")
    kp.on_key("transfer")
    kp.on_key("pause")
    kp.on_counter_state(state("paused"))
    kp.on_key("pause")                       # pause toggles: the counter is paused, so it resumes
    assert dev.requests == [("call-next", {"counter": "5"}), ("transfer", {"counter": "5", "to_service": "dat-dai"}),
                            ("pause", {"counter": "5", "reason": "keypad"}), ("resume", {"counter": "5"})]
    kp.on_counter_state(state(current="A023", current_status="serving"))
    kp.on_reply(CommandReply("call-next", "c1", False, error={"code": "nothing_to_call", "message": "x"}))
    kp.on_reply(CommandReply("call-next", "c2", True, result={}))
    kp.on_no_reply("call-next")
    assert dev.sent == [ShowText("Tạm dừng"), ShowText("Đang phục vụ A023"), ShowText("Lỗi: hết số chờ"),
                        ShowText("Lỗi: máy chủ không trả lời")]


def test_a_keypad_without_a_transfer_target_points_to_the_console() -> None:
    dev = Device()
    kp = behaviour_for(DeviceKind.STAFF_KEYPAD, dev, config())
    kp.on_key("transfer")
    assert dev.requests == [] and dev.sent == [ShowText("Chuyển: dùng màn hình quầy")]


# --- the bridge refuses a frame whose kind is not the one its HELLO gave -------------------------------------
def _link(kind: str, device_id: str) -> DeviceLink:
    binding = DeviceBinding(device_id, kind, f"/nonexistent/{device_id}", "5")
    return DeviceLink(BridgeSettings(center=CENTER, devices=(binding,)), binding, clock=lambda: 100.0)


def _hello(link: DeviceLink, kind: DeviceKind) -> None:
    link._on_frame(Frame(kind, MessageType.HELLO, 1, Hello(link.binding.id, "fw 1", 1000).encode()))


def test_a_frame_claiming_another_kind_than_the_hello_is_refused(caplog: pytest.LogCaptureFixture) -> None:
    link = _link("staff_keypad", "kp-5")
    keypad = profile_named("staff_keypad")
    _hello(link, DeviceKind.STAFF_KEYPAD)
    assert link.online
    # a "rating pad" frame on the keypad's line: not acknowledged, not acted on, logged
    link._on_frame(Frame(DeviceKind.RATING_PAD, MessageType.EVENT, 2, keypad.encode_key("next")))
    assert link.frames_refused == 1 and link._pending == {}
    assert "refused a EVENT frame claiming to come from a RATING_PAD" in caplog.text
    # the same key press with the keypad's own kind is a command to the hub
    link._on_frame(Frame(DeviceKind.STAFF_KEYPAD, MessageType.EVENT, 3, keypad.encode_key("next")))
    assert [command for command, _ in link._pending.values()] == ["call-next"]
    assert link.frames_refused == 1


def test_a_hello_of_the_wrong_kind_never_brings_the_device_online() -> None:
    link = _link("led_display", "led-5")
    _hello(link, DeviceKind.STAFF_KEYPAD)
    assert not link.online


def test_the_shipped_bridge_config_talks_tls_and_holds_no_password(tmp_path: Path) -> None:
    from firmware_bridge.config import settings_from_dict

    example = ROOT / "deploy" / "bridge.example.toml"
    ca = tmp_path / "ca.crt"
    ca.write_text("a CA would be here")
    raw = tomllib.loads(example.read_text(encoding="utf-8").replace("/etc/motcua/ca.crt", str(ca)))
    settings = settings_from_dict(raw, env={})
    mqtt = settings.mqtt_settings()
    assert mqtt.uses_tls and mqtt.tls_verify_hostname and mqtt.port == 8883 and mqtt.tls_ca == str(ca)
    assert mqtt.password is None and mqtt.username == "bridge-1"
    assert {d.kind for d in settings.devices} == {"staff_keypad", "led_display", "rating_pad"}


def test_a_later_hello_of_another_kind_is_reported_as_a_wrong_device(caplog: pytest.LogCaptureFixture) -> None:
    link = _link("led_display", "led-5")
    _hello(link, DeviceKind.LED_DISPLAY)
    assert link.online
    link._on_frame(Frame(DeviceKind.STAFF_KEYPAD, MessageType.HELLO, 2, Hello("led-5", "fw 1", 1000).encode()))
    assert "answered as led-5 (STAFF_KEYPAD), expected led-5 (LED_DISPLAY)" in caplog.text
    assert link.frames_refused == 0
