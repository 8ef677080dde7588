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


# ---------------------------------------------------------------------------------------------------------------
# Camera frames: generated QR and Code 128 images with rotation, blur and noise (fixed seed, nothing committed).
# ---------------------------------------------------------------------------------------------------------------
import io
import random

import cv2
import numpy as np
import segno
from PIL import Image

from devices.camera import decoder as camdec
from devices.camera.decoder import CodeDecoder, Roi

PAYLOADS = [
    "000.00.12.H38-241023-0001",
    "38.98.H29-210519-0013",
    "G01.123.45-260130-010001",
    "http://192.168.1.10:8080/t/01JDX3K9ZQ4T",
    "Hồ sơ 000.A0.01.H26-210212-9090 – Nguyễn Thị Ánh Tuyết",
    "Phiếu hẹn trả kết quả: ngày 30/11/2026, quầy số 5",
]


def qr_array(text: str, scale: int) -> np.ndarray:
    buf = io.BytesIO()
    segno.make_qr(text, error="m").save(buf, kind="png", scale=scale, border=4)
    return np.array(Image.open(buf).convert("L"))


def scene(code: np.ndarray, rng: random.Random, size: tuple[int, int] = (640, 480), angle: float | None = None,
          blur: int | None = None, sigma: float | None = None, at: tuple[int, int] | None = None) -> np.ndarray:
    """A grey frame with a lighting gradient, the code pasted rotated, lowered contrast, blur and noise."""
    w, h = size
    gradient = np.tile(np.linspace(70, 190, w, dtype=np.float32), (h, 1))
    angle = rng.uniform(0, 360) if angle is None else angle
    ch, cw = code.shape
    m = cv2.getRotationMatrix2D((cw / 2, ch / 2), angle, 1.0)
    cos, sin = abs(m[0, 0]), abs(m[0, 1])
    nw, nh = int(ch * sin + cw * cos), int(ch * cos + cw * sin)
    m[0, 2] += nw / 2 - cw / 2
    m[1, 2] += nh / 2 - ch / 2
    rotated = cv2.warpAffine(code, m, (nw, nh), borderValue=255)
    mask = cv2.warpAffine(np.full_like(code, 255), m, (nw, nh), borderValue=0) > 0
    frame = gradient.copy()
    x = rng.randint(0, w - nw) if at is None else at[0]
    y = rng.randint(0, h - nh) if at is None else at[1]
    region = frame[y:y + nh, x:x + nw]
    region[mask] = 40 + rotated[mask].astype(np.float32) * (170 / 255)  # contrast 40..210
    blur = rng.choice([1, 3, 3, 5]) if blur is None else blur
    if blur > 1:
        frame = cv2.GaussianBlur(frame, (blur, blur), 0)
    sigma = rng.uniform(0, 18) if sigma is None else sigma
    frame += np.random.default_rng(rng.randint(0, 2**31)).normal(0, sigma, frame.shape).astype(np.float32)
    return np.clip(frame, 0, 255).astype(np.uint8)


def test_at_least_95_percent_of_distorted_qr_frames_decode() -> None:
    rng = random.Random(20261123)
    decoder = CodeDecoder(backends=("zxing", "pyzbar"))
    total, hits = 60, 0
    for i in range(total):
        text = PAYLOADS[i % len(PAYLOADS)]
        frame = scene(qr_array(text, rng.choice([3, 4, 5])), rng)
        if [d.text for d in decoder.decode_all(frame)] == [text]:
            hits += 1
    assert hits / total >= 0.95, f"{hits}/{total} decoded"


def test_vietnamese_utf8_payload_decodes_with_both_backends() -> None:
    rng = random.Random(7)
    text = PAYLOADS[4]
    frame = scene(qr_array(text, 5), rng, angle=17, blur=3, sigma=4)
    for backend in ("zxing", "pyzbar"):
        found = CodeDecoder(backends=(backend,)).decode_all(frame)
        assert [d.text for d in found] == [text], backend
        assert found[0].backend == backend


def code128_array(text: str) -> np.ndarray:
    import barcode
    from barcode.writer import ImageWriter

    buf = io.BytesIO()
    barcode.get("code128", text, writer=ImageWriter()).write(
        buf, options={"module_width": 0.3, "module_height": 12, "quiet_zone": 6, "write_text": False, "dpi": 200})
    return np.array(Image.open(io.BytesIO(buf.getvalue())).convert("L"))


@pytest.mark.parametrize("text", ["000.00.12.H38-241023-0001", "A023", "38.98.H29-210519-0013"])
def test_code128_barcodes_decode(text: str) -> None:
    rng = random.Random(hash(text) & 0xFFFF)
    decoder = CodeDecoder()
    for angle in (0, 4, 180, 176):
        frame = scene(code128_array(text), rng, size=(1280, 720), angle=angle, blur=3, sigma=5)
        found = decoder.decode_all(frame)
        assert [d.text for d in found] == [text], angle
        assert found[0].format == "Code128"


def test_throttle_and_duplicate_suppression() -> None:
    frame = scene(qr_array(PAYLOADS[0], 4), random.Random(1), angle=0, blur=1, sigma=0)
    blank = np.full((480, 640), 128, np.uint8)
    d = CodeDecoder(max_rate_hz=10, dedupe_s=3.0)
    assert [x.text for x in d.decode(frame, now=100.0)] == [PAYLOADS[0]]
    assert d.decode(frame, now=100.05) == []          # throttled: not even decoded
    assert d.frames_decoded == 1 and d.frames_seen == 2
    assert d.decode(frame, now=100.5) == []           # decoded, but the same code is still in view
    assert d.decode(blank, now=102.0) == []
    assert d.decode(frame, now=106.0) != []           # gone long enough: a new scan
    assert d.frames_decoded == 4


def test_region_of_interest_limits_what_is_read() -> None:
    rng = random.Random(3)
    left = scene(qr_array("LEFT-CODE", 4), rng, angle=0, blur=1, sigma=0, at=(20, 100))
    right = scene(qr_array("RIGHT-CODE", 4), rng, angle=0, blur=1, sigma=0, at=(400, 100))
    both = np.minimum(left, right)
    assert {x.text for x in CodeDecoder().decode_all(both)} == {"LEFT-CODE", "RIGHT-CODE"}
    assert [x.text for x in CodeDecoder(roi=Roi(0.5, 0.0, 0.5, 1.0)).decode_all(both)] == ["RIGHT-CODE"]
    with pytest.raises(ValueError, match="roi"):
        Roi(0.6, 0, 0.6, 1)


def test_pyzbar_is_the_fallback_when_zxing_finds_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    frame = scene(qr_array(PAYLOADS[3], 4), random.Random(5), angle=10, blur=1, sigma=2)
    monkeypatch.setitem(camdec._DECODERS, "zxing", lambda gray, formats: [])
    found = CodeDecoder().decode_all(frame)
    assert [(x.text, x.backend) for x in found] == [(PAYLOADS[3], "pyzbar")]


def test_bad_decoder_settings() -> None:
    with pytest.raises(ValueError, match="backends"):
        CodeDecoder(backends=("opencv",))
    with pytest.raises(ValueError, match="max_rate_hz"):
        CodeDecoder(max_rate_hz=0)
