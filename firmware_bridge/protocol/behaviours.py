"""What each kind of counter device does with the hub's messages and its own keys: one class per device kind,
registered beside the profiles (``BEHAVIOURS``), instead of ``if kind == ...`` chains in the bridge.

A behaviour decides; it does no I/O. It acts only through a :class:`DevicePort` (the bridge's DeviceLink):
``send`` a command to the device, ``request`` a hub command (``cmd/<command>``). The topics it listens to come
from contracts/topics.py. Adding a device kind = a profile in profiles.py + a behaviour here.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from contracts import topics
from contracts.messages import CommandReply, CounterState, Envelope, EventType
from firmware_bridge.protocol.frames import DeviceKind
from firmware_bridge.protocol.profiles import (
    ClearDisplay,
    Command,
    DisableRating,
    EnableRating,
    RatingRefused,
    ShowNumber,
    ShowPause,
    ShowText,
    ThankYou,
)


class DevicePort(Protocol):
    """What a behaviour may do: talk to its device, ask the hub."""

    def send(self, cmd: Command) -> bool: ...

    def request(self, command: str, args: dict[str, Any]) -> None: ...

    @property
    def showing(self) -> Command | None:
        """The last display command sent (replayed after a reboot), whoever asked for it."""


@dataclass(frozen=True, slots=True)
class DeviceConfig:
    """The part of the bridge's settings one device's behaviour needs."""

    center: str
    device_id: str
    counter: str
    transfer_to: str | None = None                      # keypads: where the transfer key sends a citizen
    rating_levels: tuple[int, ...] = (3, 2, 1)           # rating pads: key 1 → first level
    rating_timeout_s: int = 120
    key_commands: Mapping[str, str] = field(default_factory=dict)   # keypads: key → hub command


class DeviceBehaviour:
    """Base: hears nothing, does nothing. Subclasses override what their kind reacts to."""

    kind: ClassVar[DeviceKind]

    def __init__(self, device: DevicePort, config: DeviceConfig) -> None:
        self.device = device
        self.config = config

    def subscriptions(self) -> list[str]:
        """Topic filters this device needs beyond its own ``devices/<id>/set``."""
        return []

    def on_hub_event(self, env: Envelope) -> None:
        """An event about this device's counter (the bridge already filtered on ``data.counter``)."""

    def on_counter_state(self, state: CounterState) -> None:
        """The retained snapshot of this device's counter."""

    def on_key(self, key: str) -> None:
        """A key pressed on the device (already published as a ``devices/<id>/event``)."""

    def on_reply(self, reply: CommandReply) -> None:
        """The hub's answer to one of this device's own requests."""

    def on_no_reply(self, command: str) -> None:
        """The hub did not answer ``command`` in time."""


class LedDisplayBehaviour(DeviceBehaviour):
    """The number above a counter: blinks a new call or recall, shows ``----`` while paused, dark when closed."""

    kind = DeviceKind.LED_DISPLAY

    def __init__(self, device: DevicePort, config: DeviceConfig) -> None:
        super().__init__(device, config)
        self.shown: tuple[str, bool] | None = None      # (number, blinking)

    def subscriptions(self) -> list[str]:
        c = self.config.center
        return [topics.state_counter(c, self.config.counter), topics.event(c, EventType.TICKET_CALLED),
                topics.event(c, EventType.TICKET_RECALLED)]

    def on_hub_event(self, env: Envelope) -> None:
        if env.type not in (EventType.TICKET_CALLED, EventType.TICKET_RECALLED):
            return
        ticket = env.data.get("ticket") or {}
        number = str(ticket.get("number", "")) if isinstance(ticket, dict) else ""
        if number:
            self.shown = (number, True)
            self.device.send(ShowNumber(number, blink=True))

    def on_counter_state(self, state: CounterState) -> None:
        if state.status == "paused":
            self.shown = None
            self.device.send(ShowPause("----"))
        elif state.status == "closed":
            self.shown = None
            self.device.send(ClearDisplay())
        elif state.held_over:
            # yesterday's ticket still in hand: today's same number is another citizen; show nothing
            if self.shown is not None or isinstance(self.device.showing, ShowNumber):
                self.shown = None
                self.device.send(ClearDisplay())
        elif state.current_ticket and (self.shown is None or self.shown[0] != state.current_ticket):
            self.shown = (state.current_ticket, False)
            self.device.send(ShowNumber(state.current_ticket, blink=False))
        elif not state.current_ticket and isinstance(self.device.showing, ShowPause):
            self.device.send(ClearDisplay())     # back from a pause with nobody called yet: not "----" any more


class RatingPadBehaviour(DeviceBehaviour):
    """Lights its keys when the counter finishes serving someone; a key becomes ``submit-rating``; thanks or
    refuses on the hub's answer; goes dark if the hub does not answer."""

    kind = DeviceKind.RATING_PAD

    def subscriptions(self) -> list[str]:
        c = self.config.center
        return [topics.event(c, EventType.TICKET_DONE), topics.reply_filter(c)]

    ticket: str | None = None     # the ticket whose completion lit the keys: the hub checks it is the one rated

    def on_hub_event(self, env: Envelope) -> None:
        if env.type == EventType.TICKET_DONE:
            done = env.data.get("ticket")
            self.ticket = str(done["id"]) if isinstance(done, dict) and done.get("id") else None
            self.device.send(EnableRating(len(self.config.rating_levels), self.config.rating_timeout_s))

    def on_key(self, key: str) -> None:
        try:
            index = int(key) - 1
        except ValueError:
            return
        if not 0 <= index < len(self.config.rating_levels):
            return
        args: dict[str, Any] = {"counter": self.config.counter, "level": self.config.rating_levels[index],
                                "source": self.config.device_id}
        if self.ticket is not None:
            args["ticket"] = self.ticket
        self.device.request("submit-rating", args)

    def on_reply(self, reply: CommandReply) -> None:
        self.device.send(ThankYou() if reply.ok else RatingRefused())

    def on_no_reply(self, command: str) -> None:
        self.device.send(DisableRating())


class StaffKeypadBehaviour(DeviceBehaviour):
    """A counter's staff keypad: keys become counter commands (pause toggles pause / resume); its one-line
    screen shows the counter's status, or the hub's refusal in Vietnamese."""

    kind = DeviceKind.STAFF_KEYPAD

    def __init__(self, device: DevicePort, config: DeviceConfig) -> None:
        super().__init__(device, config)
        self.counter_status: str | None = None

    def subscriptions(self) -> list[str]:
        c = self.config.center
        return [topics.state_counter(c, self.config.counter), topics.reply_filter(c)]

    def on_counter_state(self, state: CounterState) -> None:
        self.counter_status = state.status
        self.device.send(ShowText(keypad_text(state)))

    def on_key(self, key: str) -> None:
        command = self.config.key_commands.get(key)
        if command is None:
            return
        args: dict[str, Any] = {"counter": self.config.counter}
        if key == "transfer":
            if not self.config.transfer_to:
                # One key cannot say where to: without a configured target, the console does transfers.
                self.device.send(ShowText("Chuyển: dùng màn hình quầy"))
                return
            args["to_service"] = self.config.transfer_to
        if key == "pause":
            if self.counter_status == "paused":
                command = "resume"
            else:
                args["reason"] = "keypad"
        self.device.request(command, args)

    def on_reply(self, reply: CommandReply) -> None:
        if not reply.ok:
            code = str((reply.error or {}).get("code", "error"))
            self.device.send(ShowText(f"Lỗi: {KEYPAD_ERRORS.get(code, code)}"))

    def on_no_reply(self, command: str) -> None:
        self.device.send(ShowText("Lỗi: máy chủ không trả lời"))


KEYPAD_ERRORS = {
    "nothing_to_call": "hết số chờ", "counter_busy": "đang có số", "counter_idle": "chưa gọi số",
    "counter_not_open": "quầy chưa mở", "invalid_transition": "không hợp lệ", "unknown_counter": "sai quầy",
}


def keypad_text(state: CounterState) -> str:
    """The keypad's one-line status (Vietnamese; the LCD driver folds diacritics if it must)."""
    if state.status == "paused":
        return "Tạm dừng"
    if state.status == "closed":
        return "Quầy đóng"
    if state.current_ticket:
        doing = "Đang phục vụ" if state.current_status == "serving" else "Đang gọi"
        return f"{doing} {state.current_ticket}"
    return "Sẵn sàng gọi số"


BEHAVIOURS: dict[DeviceKind, type[DeviceBehaviour]] = {
    b.kind: b for b in (RatingPadBehaviour, LedDisplayBehaviour, StaffKeypadBehaviour)
}


def behaviour_for(kind: DeviceKind, device: DevicePort, config: DeviceConfig) -> DeviceBehaviour:
    """The behaviour of ``kind`` acting through ``device``; ValueError for a kind without one."""
    try:
        cls = BEHAVIOURS[kind]
    except KeyError:
        raise ValueError(f"no behaviour for device kind {kind.name}") from None
    return cls(device, config)
