"""Device profiles: key and command encodings, and refusal of commands a device does not understand."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware_bridge.protocol.messages import BodyError
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
