"""Device profiles as data: what each counter device's keys are and which commands it understands. Pure.

EVENT bodies (device → bridge): ``0x01 KEY, key:u8`` — the key's number is its index in the profile's
``keys`` plus one. COMMAND bodies (bridge → device), one opcode byte then arguments; opcodes are unique
across profiles so a command sent to the wrong kind of device is refused, never misread:

====  ==============  =========================================  ============
op    command         arguments                                  devices
====  ==============  =========================================  ============
0x01  ShowNumber      flags:u8 (bit 0 = blink), text:str8        LED display
0x02  ShowPause       text:str8                                  LED display
0x03  ClearDisplay    —                                          LED display
0x10  EnableRating    keys:u8, timeout_s:u8                      rating pad
0x11  DisableRating   —                                          rating pad
0x12  ThankYou        —                                          rating pad
0x13  RatingRefused   —                                          rating pad
0x20  ShowText        text:str (≤ 64 bytes UTF-8)                staff keypad
====  ==============  =========================================  ============
"""
from __future__ import annotations

from dataclasses import dataclass

from firmware_bridge.protocol.frames import DeviceKind
from firmware_bridge.protocol.messages import BodyError, pack_str, unpack_str

EV_KEY = 0x01
OP_SHOW, OP_PAUSE, OP_CLEAR = 0x01, 0x02, 0x03
OP_ENABLE, OP_DISABLE, OP_THANKS, OP_REFUSED = 0x10, 0x11, 0x12, 0x13
OP_TEXT = 0x20


@dataclass(frozen=True, slots=True)
class KeyPress:
    key: str


@dataclass(frozen=True, slots=True)
class ShowNumber:
    number: str          # "A023"; an LED module shows up to 8 characters
    blink: bool = False  # a new call or a recall


@dataclass(frozen=True, slots=True)
class ShowPause:
    text: str = "----"


@dataclass(frozen=True, slots=True)
class ClearDisplay:
    pass


@dataclass(frozen=True, slots=True)
class EnableRating:
    keys: int = 3         # how many keys light up (the scale's levels)
    timeout_s: int = 120  # the pad goes dark again after this long


@dataclass(frozen=True, slots=True)
class DisableRating:
    pass


@dataclass(frozen=True, slots=True)
class ThankYou:
    pass


@dataclass(frozen=True, slots=True)
class RatingRefused:
    pass


@dataclass(frozen=True, slots=True)
class ShowText:
    text: str


Command = (ShowNumber | ShowPause | ClearDisplay | EnableRating | DisableRating | ThankYou | RatingRefused
           | ShowText)


def encode_command(cmd: Command) -> bytes:
    if isinstance(cmd, ShowNumber):
        return bytes((OP_SHOW, 1 if cmd.blink else 0)) + pack_str(cmd.number, 8)
    if isinstance(cmd, ShowPause):
        return bytes((OP_PAUSE,)) + pack_str(cmd.text, 8)
    if isinstance(cmd, ClearDisplay):
        return bytes((OP_CLEAR,))
    if isinstance(cmd, EnableRating):
        return bytes((OP_ENABLE, cmd.keys & 0xFF, min(cmd.timeout_s, 255)))
    if isinstance(cmd, DisableRating):
        return bytes((OP_DISABLE,))
    if isinstance(cmd, ThankYou):
        return bytes((OP_THANKS,))
    if isinstance(cmd, RatingRefused):
        return bytes((OP_REFUSED,))
    return bytes((OP_TEXT,)) + pack_str(cmd.text, 64)


def _done(body: bytes, end: int, what: str) -> None:
    if end != len(body):
        raise BodyError(f"{what}: {len(body) - end} trailing bytes")


def decode_command(body: bytes) -> Command:
    """Parse a COMMAND body; raise BodyError for anything malformed or unknown."""
    if not body:
        raise BodyError("command: empty body")
    op = body[0]
    if op == OP_SHOW:
        if len(body) < 2:
            raise BodyError("show: missing flags")
        text, end = unpack_str(body, 2, "show.number")
        _done(body, end, "show")
        return ShowNumber(text, bool(body[1] & 1))
    if op == OP_PAUSE:
        text, end = unpack_str(body, 1, "pause.text")
        _done(body, end, "pause")
        return ShowPause(text)
    if op == OP_ENABLE:
        if len(body) != 3:
            raise BodyError(f"enable: expected 3 bytes, got {len(body)}")
        return EnableRating(body[1], body[2])
    if op == OP_TEXT:
        text, end = unpack_str(body, 1, "text")
        _done(body, end, "text")
        return ShowText(text)
    simple: dict[int, Command] = {OP_CLEAR: ClearDisplay(), OP_DISABLE: DisableRating(), OP_THANKS: ThankYou(),
                                  OP_REFUSED: RatingRefused()}
    if op in simple:
        _done(body, 1, "command")
        return simple[op]
    raise BodyError(f"command: unknown opcode 0x{op:02x}")


@dataclass(frozen=True, slots=True)
class DeviceProfile:
    """What one kind of device has: its keys (in key-number order) and the commands it accepts."""

    kind: DeviceKind
    name: str
    keys: tuple[str, ...]
    commands: tuple[type, ...]

    def encode_key(self, key: str) -> bytes:
        if key not in self.keys:
            raise ValueError(f"{self.name}: no key {key!r}")
        return bytes((EV_KEY, self.keys.index(key) + 1))

    def decode_event(self, body: bytes) -> KeyPress:
        if len(body) != 2 or body[0] != EV_KEY:
            raise BodyError(f"{self.name} event: expected KEY + key number, got {body.hex()}")
        number = body[1]
        if not 1 <= number <= len(self.keys):
            raise BodyError(f"{self.name} event: no key number {number}")
        return KeyPress(self.keys[number - 1])

    def accepts(self, cmd: Command) -> bool:
        return isinstance(cmd, self.commands)

    def encode(self, cmd: Command) -> bytes:
        """Encode ``cmd`` for this device; ValueError if this kind of device does not understand it."""
        if not self.accepts(cmd):
            raise ValueError(f"{self.name} does not accept {type(cmd).__name__}")
        return encode_command(cmd)


RatingPadProfile = DeviceProfile(
    DeviceKind.RATING_PAD, "rating_pad",
    # Key numbers match the default scale's order; a four-key pad adds a fourth level in config.
    keys=("1", "2", "3", "4"),
    commands=(EnableRating, DisableRating, ThankYou, RatingRefused),
)
LedDisplayProfile = DeviceProfile(
    DeviceKind.LED_DISPLAY, "led_display", keys=(), commands=(ShowNumber, ShowPause, ClearDisplay),
)
StaffKeypadProfile = DeviceProfile(
    DeviceKind.STAFF_KEYPAD, "staff_keypad",
    keys=("next", "recall", "no_show", "start", "complete", "transfer", "pause"),
    commands=(ShowText,),
)

PROFILES: dict[DeviceKind, DeviceProfile] = {
    p.kind: p for p in (RatingPadProfile, LedDisplayProfile, StaffKeypadProfile)
}


def profile_named(name: str) -> DeviceProfile:
    for p in PROFILES.values():
        if p.name == name:
            return p
    raise ValueError(f"unknown device kind {name!r} (rating_pad, led_display, staff_keypad)")
