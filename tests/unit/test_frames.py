"""Frame codec: COBS and CRC, round-trips, resync after garbage, truncated/corrupted frames, decoder fuzz."""
from __future__ import annotations

import binascii

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firmware_bridge.firmware import wire
from firmware_bridge.protocol import cobs
from firmware_bridge.protocol.crc import crc16_ccitt
from firmware_bridge.protocol.frames import (
    MAX_BODY,
    BadChecksum,
    BadStuffing,
    DeviceKind,
    Frame,
    FrameDecoder,
    FrameError,
    LengthMismatch,
    MessageType,
    Oversize,
    TruncatedFrame,
    UnsupportedVersion,
    decode_packet,
    encode_frame,
)
from firmware_bridge.protocol.link import Link
from firmware_bridge.protocol.messages import BodyError, ErrorReport, Heartbeat, Hello

pytestmark = [pytest.mark.unit, pytest.mark.timeout(120)]

frames = st.builds(
    Frame,
    kind=st.sampled_from(list(DeviceKind)),
    type=st.sampled_from(list(MessageType)),
    seq=st.integers(0, 255),
    body=st.binary(max_size=MAX_BODY),
)


def test_crc_check_value_matches_the_standard() -> None:
    assert crc16_ccitt(b"123456789") == 0x29B1
    assert crc16_ccitt(b"123456789") == binascii.crc_hqx(b"123456789", 0xFFFF)


@given(st.binary(max_size=600))
def test_crc_equals_binascii(data: bytes) -> None:
    assert crc16_ccitt(data) == binascii.crc_hqx(data, 0xFFFF)


@given(st.binary(max_size=1200))
def test_cobs_round_trip_and_no_zero(data: bytes) -> None:
    enc = cobs.encode(data)
    assert 0 not in enc
    assert cobs.decode(enc) == data
    assert len(enc) <= len(data) + len(data) // 254 + 1


def test_cobs_known_vectors() -> None:
    assert cobs.encode(b"") == b"\x01"
    assert cobs.encode(b"\x00") == b"\x01\x01"
    assert cobs.encode(b"\x11\x22\x00\x33") == b"\x03\x11\x22\x02\x33"
    assert cobs.encode(bytes(range(1, 255))) == b"\xff" + bytes(range(1, 255)) + b"\x01"


@given(frames)
def test_frame_round_trip(frame: Frame) -> None:
    wire_bytes = encode_frame(frame)
    assert wire_bytes.endswith(b"\x00") and 0 not in wire_bytes[:-1]
    assert decode_packet(wire_bytes[:-1]) == frame
    assert FrameDecoder().feed(wire_bytes) == [frame]


@given(st.lists(frames, max_size=8), st.data())
def test_decoder_handles_any_chunking(items: list[Frame], data: st.DataObject) -> None:
    stream = b"".join(encode_frame(f) for f in items)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    dec = FrameDecoder()
    out: list[object] = []
    prev = 0
    for cut in cuts + [len(stream)]:
        out += dec.feed(stream[prev:cut])
        prev = cut
    assert out == items


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400), frames, frames)
def test_resync_after_random_garbage(garbage: bytes, first: Frame, second: Frame) -> None:
    # Garbage, then the sender's flush delimiter, then frames: every frame after the flush comes through.
    dec = FrameDecoder()
    out = dec.feed(garbage + b"\x00" + encode_frame(first) + encode_frame(second))
    good = [x for x in out if isinstance(x, Frame)]
    assert good[-2:] == [first, second]
    assert all(isinstance(x, (Frame, FrameError)) for x in out)


@given(frames, st.data())
def test_truncated_frame_is_rejected_and_the_next_one_survives(frame: Frame, data: st.DataObject) -> None:
    full = encode_frame(frame)
    cut = data.draw(st.integers(1, len(full) - 2))
    out = FrameDecoder().feed(full[:cut] + b"\x00" + full)
    assert isinstance(out[0], FrameError)
    assert out[-1] == frame and len(out) == 2


@given(frames, st.data())
def test_corrupted_frame_is_rejected(frame: Frame, data: st.DataObject) -> None:
    full = bytearray(encode_frame(frame)[:-1])
    i = data.draw(st.integers(0, len(full) - 1))
    flip = data.draw(st.integers(1, 255))
    full[i] ^= flip
    if 0 in full:
        # A flipped byte that became a delimiter splits the packet: both halves must be rejected.
        out = FrameDecoder().feed(bytes(full) + b"\x00")
        assert out and all(isinstance(x, FrameError) for x in out)
        return
    with pytest.raises(FrameError):
        decode_packet(bytes(full))


def test_specific_errors_are_typed() -> None:
    good = encode_frame(Frame(DeviceKind.RATING_PAD, MessageType.EVENT, 3, b"\x01\x02"))[:-1]
    raw = cobs.decode(good)
    with pytest.raises(BadStuffing):
        decode_packet(b"\x05\x01")
    with pytest.raises(TruncatedFrame):
        decode_packet(cobs.encode(raw[:4]))
    with pytest.raises(TruncatedFrame):
        decode_packet(cobs.encode(raw[:-3] + raw[-2:]))
    longer = raw[:-2] + b"\x09"
    crc = crc16_ccitt(longer)
    with pytest.raises(LengthMismatch):
        decode_packet(cobs.encode(longer + bytes((crc >> 8, crc & 0xFF))))
    with pytest.raises(BadChecksum):
        decode_packet(cobs.encode(raw[:-1] + bytes(((raw[-1] + 1) & 0xFF,))))
    v2 = b"\x02" + raw[1:-2]
    crc = crc16_ccitt(v2)
    with pytest.raises(UnsupportedVersion):
        decode_packet(cobs.encode(v2 + bytes((crc >> 8, crc & 0xFF))))


def test_oversize_run_without_delimiter_is_dropped_then_resyncs() -> None:
    frame = Frame(DeviceKind.LED_DISPLAY, MessageType.HEARTBEAT, 9, b"\x00\x00\x00\x01")
    out = FrameDecoder().feed(b"\x41" * 5000 + b"\x00" + encode_frame(frame))
    assert isinstance(out[0], Oversize)
    assert out[-1] == frame


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.binary(max_size=300), frames.map(encode_frame)), max_size=6))
def test_fuzz_decoder_never_crashes(chunks: list[bytes]) -> None:
    dec = FrameDecoder()
    for chunk in chunks:
        for item in dec.feed(chunk):
            assert isinstance(item, (Frame, FrameError))


@given(frames)
def test_firmware_wire_speaks_the_same_frames(frame: Frame) -> None:
    # The firmware's MicroPython copy of the codec must agree with the host's, both ways.
    mine = wire.encode(int(frame.kind), int(frame.type), frame.seq, frame.body)
    assert mine == encode_frame(frame)
    assert wire.Decoder().feed(encode_frame(frame)) == [(int(frame.kind), int(frame.type), frame.seq, frame.body)]


@given(st.binary(max_size=300))
def test_firmware_decoder_agrees_on_garbage(data: bytes) -> None:
    host = [f for f in FrameDecoder().feed(data + b"\x00") if isinstance(f, Frame)]
    fw = wire.Decoder().feed(data + b"\x00")
    assert [(int(f.kind), int(f.type), f.seq, f.body) for f in host] == fw


@given(st.text(max_size=40).filter(lambda s: s != ""), st.text(max_size=40), st.integers(0, 65535))
def test_hello_round_trip(device_id: str, firmware: str, hb: int) -> None:
    hello = Hello(device_id, firmware, hb)
    decoded = Hello.decode(hello.encode())
    assert hello.encode() == decoded.encode()
    assert device_id.startswith(decoded.device_id) and decoded.heartbeat_ms == hb


def test_message_bodies_reject_garbage() -> None:
    assert Heartbeat.decode(Heartbeat(77).encode()).uptime_s == 77
    assert ErrorReport.decode(ErrorReport(2, "không rõ").encode()) == ErrorReport(2, "không rõ")
    for bad in (b"", b"\x05ab", b"\x02ab\x01x", b"\x00\x00\x00\x00"):
        with pytest.raises(BodyError):
            Hello.decode(bad)
    with pytest.raises(BodyError):
        Heartbeat.decode(b"\x01")
    with pytest.raises(BodyError):
        ErrorReport.decode(b"\x01\x09ab")


def test_link_acks_retransmits_and_suppresses_duplicates() -> None:
    bridge = Link(DeviceKind.BRIDGE, retry_after_s=0.1, max_tries=3)
    device = Link(DeviceKind.RATING_PAD)
    dec = FrameDecoder()
    sent = bridge.send(MessageType.COMMAND, b"\x11", now=0.0)
    (frame,) = dec.feed(sent)
    assert isinstance(frame, Frame)
    first = device.receive(frame, 0.0)
    assert first.deliver and first.reply is not None
    # The ack was lost: the bridge retransmits the same seq, the device acks again but does not deliver.
    assert bridge.due(0.05) == []
    (again,) = bridge.due(0.11)
    (frame2,) = dec.feed(again)
    assert isinstance(frame2, Frame) and frame2.seq == frame.seq
    second = device.receive(frame2, 0.11)
    assert not second.deliver and second.reply == first.reply and device.duplicates == 1
    (ack,) = dec.feed(second.reply)
    assert isinstance(ack, Frame)
    assert bridge.receive(ack, 0.12).acked == frame
    assert bridge.unacked == 0 and bridge.due(5.0) == []


def test_link_gives_up_after_max_tries_and_hello_resets_dedup() -> None:
    bridge = Link(DeviceKind.BRIDGE, retry_after_s=0.1, max_tries=2)
    bridge.send(MessageType.COMMAND, b"\x03", now=0.0)
    assert len(bridge.due(0.2)) == 1
    assert bridge.due(0.4) == [] and len(bridge.failed) == 1
    device = Link(DeviceKind.BRIDGE)
    ev = Frame(DeviceKind.STAFF_KEYPAD, MessageType.EVENT, 1, b"\x01\x01")
    assert device.receive(ev, 0).deliver
    assert not device.receive(ev, 0).deliver
    device.receive(Frame(DeviceKind.STAFF_KEYPAD, MessageType.HELLO, 0, Hello("k", "f").encode()), 0)
    # After a reboot the device's seqs restart (hello = 0): seq 1 is a new press, not a duplicate.
    assert device.receive(ev, 0).deliver
    assert not device.receive(ev, 0).deliver


def test_heartbeats_do_not_wrap_a_new_press_onto_a_remembered_seq() -> None:
    device = Link(DeviceKind.STAFF_KEYPAD)
    bridge = Link(DeviceKind.BRIDGE)
    dec = FrameDecoder()
    delivered = 0
    for i in range(100):
        # a key press now and then, with 255 heartbeats in between: press + 255 = one full turn of seqs
        for _ in range(255):
            (hb,) = dec.feed(device.send(MessageType.HEARTBEAT, Heartbeat(i).encode(), now=i))
            assert isinstance(hb, Frame) and bridge.receive(hb, i).deliver
        (press,) = dec.feed(device.send(MessageType.EVENT, b"\x01\x01", now=i))
        assert isinstance(press, Frame)
        got = bridge.receive(press, i)
        delivered += got.deliver
        assert got.reply is not None
        (ack,) = dec.feed(got.reply)
        assert isinstance(ack, Frame)
        device.receive(ack, i)
    assert delivered == 100 and bridge.duplicates == 0 and device.unacked == 0


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(min_size=1, max_size=20), min_size=1, max_size=30),
       st.lists(st.sampled_from(["ok", "drop", "dup"]), max_size=80))
def test_every_message_arrives_exactly_once_over_a_lossy_line(messages: list[bytes], pattern: list[str]) -> None:
    # A burst of faults: the line drops or duplicates frames (both ways) following `pattern`, then
    # behaves; retransmits and dedup must still deliver each message exactly once.
    sender = Link(DeviceKind.STAFF_KEYPAD, retry_after_s=1.0, max_tries=200)
    receiver = Link(DeviceKind.BRIDGE)
    dec_r, dec_s = FrameDecoder(), FrameDecoder()
    turn = 0

    def line(data: bytes) -> bytes:
        nonlocal turn
        fate = pattern[turn] if turn < len(pattern) else "ok"
        turn += 1
        return b"" if fate == "drop" else data * (2 if fate == "dup" else 1)

    got: list[bytes] = []
    in_flight = [line(sender.send(MessageType.EVENT, m, now=0.0)) for m in messages]
    now = 0.0
    while sender.unacked and now < 500:
        acks = b""
        for data in in_flight:
            for frame in dec_r.feed(data):
                assert isinstance(frame, Frame)
                r = receiver.receive(frame, now)
                if r.deliver:
                    got.append(frame.body)
                if r.reply:
                    acks += line(r.reply)
        for frame in dec_s.feed(acks):
            assert isinstance(frame, Frame)
            sender.receive(frame, now)
        now += 1.0
        in_flight = [line(w) for w in sender.due(now)]
    assert sender.unacked == 0 and not sender.failed
    assert sorted(got) == sorted(messages)
