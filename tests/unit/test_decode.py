"""Scanner decoding: input_event bytes → text (shift, caps, keypad), line assembly, prefix/suffix, debounce, and
classification of a scan into a dossier code or a ticket reference."""
from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.messages import VN_TZ
from devices.scanner.decode import (
    EV_KEY,
    INPUT_EVENT,
    KEY_CAPSLOCK,
    KEY_LEFTSHIFT,
    KEY_PRESS,
    KEY_RELEASE,
    KEY_REPEAT,
    AssemblerConfig,
    KeyDecoder,
    ScanAssembler,
    events_for,
    iter_events,
    pack_event,
)
from devices.scanner.model import classify, ticket_ref_of

pytestmark = [pytest.mark.unit, pytest.mark.timeout(30)]

AT = datetime(2026, 11, 23, 8, 0, tzinfo=VN_TZ)
TYPABLE = "".join(chr(c) for c in range(32, 127))


def test_input_event_is_the_kernel_layout() -> None:
    assert INPUT_EVENT.size == 24  # 64-bit: two longs, two u16, one s32
    raw = pack_event(EV_KEY, 30, KEY_PRESS, sec=1700000000, usec=5)
    (event,) = iter_events(raw)
    assert (event.sec, event.usec, event.type, event.code, event.value) == (1700000000, 5, EV_KEY, 30, KEY_PRESS)


def test_partial_trailing_event_is_left_for_the_next_read() -> None:
    raw = pack_event(EV_KEY, 30, KEY_PRESS) * 2
    assert len(list(iter_events(raw[:-5]))) == 1


def test_dossier_code_typed_by_a_wedge_scanner() -> None:
    text = "000.00.12.H38-241023-0001"
    assert KeyDecoder().feed_bytes(events_for(text)) == text + "\n"


@given(st.text(alphabet=TYPABLE, max_size=80))
def test_every_printable_ascii_character_round_trips(text: str) -> None:
    assert KeyDecoder().feed_bytes(events_for(text, terminator="\t")) == text + "\t"


def test_shift_caps_lock_repeat_and_unknown_keys() -> None:
    d = KeyDecoder()
    seq = [
        pack_event(EV_KEY, KEY_CAPSLOCK, KEY_PRESS), pack_event(EV_KEY, KEY_CAPSLOCK, KEY_RELEASE),
        pack_event(EV_KEY, 30, KEY_PRESS),          # caps → A
        pack_event(EV_KEY, 30, KEY_REPEAT),         # auto-repeat ignored
        pack_event(EV_KEY, KEY_LEFTSHIFT, KEY_PRESS),
        pack_event(EV_KEY, 30, KEY_PRESS),          # caps + shift → a
        pack_event(EV_KEY, 2, KEY_PRESS),           # shift+1 → ! (caps does not affect digits)
        pack_event(EV_KEY, KEY_LEFTSHIFT, KEY_RELEASE),
        pack_event(EV_KEY, 79, KEY_PRESS),          # keypad 1
        pack_event(EV_KEY, 183, KEY_PRESS),         # F13: unknown, counted
        pack_event(EV_KEY, 96, KEY_PRESS),          # keypad Enter
    ]
    assert d.feed_bytes(b"".join(seq)) == "Aa!1\n"
    assert d.unknown_keys == 1


def test_assembler_terminators_and_crlf_counted_once() -> None:
    a = ScanAssembler(AssemblerConfig(debounce_s=0))
    assert a.feed("ABC\r\nDEF\rGHI", now=0) == ["ABC", "DEF"]
    assert a.feed("\n", now=1) == ["GHI"]
    assert a.feed("\r\n\r\n", now=2) == []


def test_prefix_and_suffix_are_stripped() -> None:
    a = ScanAssembler(AssemblerConfig(prefix="\x02", suffix="\x03", debounce_s=0))
    assert a.feed("\x02000.00.12.H38-241023-0001\x03\r", now=0) == ["000.00.12.H38-241023-0001"]
    assert a.feed("no-prefix\r", now=1) == ["no-prefix"]
    aim = ScanAssembler(AssemblerConfig(prefix="]Q1"))
    assert aim.feed("]Q1http://hub/t/abc\n", now=0) == ["http://hub/t/abc"]


def test_duplicates_inside_the_window_are_dropped() -> None:
    a = ScanAssembler(AssemblerConfig(debounce_s=1.0))
    assert a.feed("X1\n", now=10.0) == ["X1"]
    assert a.feed("X1\n", now=10.4) == []       # same code, trigger still held
    assert a.feed("X1\n", now=11.2) == []       # window extends from the last duplicate
    assert a.feed("Y2\n", now=11.3) == ["Y2"]   # a different code always passes
    assert a.feed("X1\n", now=11.4) == ["X1"]   # X1 after Y2 is a new scan
    assert a.feed("X1\n", now=12.0) == []
    assert a.feed("X1\n", now=13.5) == ["X1"]
    assert a.dropped_duplicates == 3


def test_idle_flush_for_scanners_without_terminator() -> None:
    a = ScanAssembler(AssemblerConfig(idle_flush_s=0.2))
    assert a.feed("ABC", now=1.0) == []
    assert a.flush_if_idle(1.1) == []
    assert a.flush_if_idle(1.25) == ["ABC"]
    assert a.flush_if_idle(2.0) == []


def test_runaway_scan_is_dropped() -> None:
    a = ScanAssembler(AssemblerConfig(max_length=10))
    assert a.feed("x" * 25 + "\nOK\n", now=0) == ["OK"]  # the whole runaway line goes, what follows survives
    assert a.dropped_overlong == 1


@pytest.mark.parametrize(
    ("raw", "code", "ref"),
    [
        ("000.00.12.H38-241023-0001", "000.00.12.H38-241023-0001", None),
        ("https://dvc.example.gov.vn/tra-cuu?maHoSo=38.98.H29-210519-0013", "38.98.H29-210519-0013", None),
        ("http://10.0.0.2:8080/t/01JDX3K9ZQ4T", None, "01JDX3K9ZQ4T"),
        ("http://10.0.0.2:8080/t/01JDX3K9ZQ4T/", None, "01JDX3K9ZQ4T"),
        ("a023", None, "A023"),
        ("Hồ sơ của Nguyễn Thị Ánh Tuyết", None, None),
        ("http://example.vn/tin-tuc/", None, None),
        ("", None, None),
    ],
)
def test_classify(raw: str, code: str | None, ref: str | None) -> None:
    event = classify(raw, "test", AT)
    assert event.raw == raw and event.source == "test" and event.at == AT
    assert (event.dossier_code.normalized if event.dossier_code else None) == code
    assert event.ticket_ref == ref


@given(st.text(max_size=300))
def test_classify_never_raises(raw: str) -> None:
    classify(raw, "fuzz", AT)
    ticket_ref_of(raw)
