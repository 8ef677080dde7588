"""Settings types more than one process reads: the MQTT connection (hub and bridge) and the hall displays."""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Annotated, Any

from pydantic import AfterValidator, Field

from .fields import TABLE, Bool, FilePath, Host, Int, Number, Port, Text


def _no_empty(value: str | None) -> str | None:
    return value or None          # `username = ""` means none


OptionalText = Annotated[Text | None, AfterValidator(_no_empty)]


@dataclass(frozen=True, slots=True)
class MqttSettings:
    """How a process reaches the broker. ``tls`` with ``ca_file`` verifies the broker; ``cert_file`` and
    ``key_file`` are this client's certificate and key where the broker asks for one."""

    __pydantic_config__ = TABLE

    enabled: Bool = True
    host: Host = "127.0.0.1"
    port: Port = 1883
    username: OptionalText = None
    password: OptionalText = None
    tls: Bool = False
    ca_file: OptionalText = None
    client_id: OptionalText = None
    keepalive_s: Annotated[Int, Field(ge=5, le=3600)] = 30
    cert_file: OptionalText = None
    key_file: OptionalText = None

    def redacted(self) -> dict[str, Any]:
        return {"enabled": self.enabled, "host": self.host, "port": self.port, "username": self.username,
                "password": "***" if self.password else None, "tls": self.tls}


def _hub_speaker(value: str) -> str:
    if value not in ("off", "auto", "play") and not value.startswith(("aplay", "sim://")):
        raise ValueError(f"{value!r} is not off, auto, aplay[:device], play or sim://audio")
    return value


@dataclass(frozen=True, slots=True)
class DisplaySettings:
    """``[display]``: what a center tunes on the hall and counter screens without touching the pages (query
    parameters still override per screen), and the hub's own speaker. One type for the hub and the pages."""

    __pydantic_config__ = TABLE

    notice: Text = ""                    # a line scrolled on the hall display; empty = a default reminder
    wait_warning_min: Annotated[Int, Field(ge=1)] = 30     # manager alert when someone has waited this long
    calls_shown: Annotated[Int, Field(ge=1, le=50)] = 8    # recent calls on the hall display
    repeats: Annotated[Int, Field(ge=1, le=5)] = 2         # each call is spoken this many times
    backlog: Annotated[Int, Field(ge=1, le=50)] = 3        # with this many calls waiting to be spoken, repeats drop
    blink_ms: Annotated[Int, Field(ge=0, le=60000)] = 6000  # how long a new call blinks on the hall display
    sound: Bool = True                   # the hall display speaks
    volume: Annotated[Number, Field(ge=0.0, le=1.0)] = 1.0
    voice_dir: FilePath | None = None    # generated clips (default: <store dir>/voice, made at start if missing)
    recorded_voice_dir: FilePath | None = None   # a recorded voice pack; its clips win over the generated ones
    hub_speaker: Annotated[Text, AfterValidator(_hub_speaker)] = "off"   # off, auto, aplay[:device], play
    # an open counter whose console and keypad said nothing this long is flagged on the board and left out of
    # wait estimates (0 = never)
    silent_counter_min: Annotated[Int, Field(ge=0, le=24 * 60)] = 20

    # what the pages read from /displays/settings.json (never the hub's folders or speaker)
    PAGE_FIELDS = ("repeats", "backlog", "calls_shown", "blink_ms", "notice", "sound", "volume", "wait_warning_min")

    def for_pages(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.PAGE_FIELDS}

    @staticmethod
    def from_object(obj: object) -> DisplaySettings:
        """The fields ``obj`` has (any object with some of these attributes), defaults for the rest."""
        if isinstance(obj, DisplaySettings):
            return obj
        names = {f.name for f in fields(DisplaySettings)}
        return DisplaySettings(**{n: getattr(obj, n) for n in names if hasattr(obj, n)})
