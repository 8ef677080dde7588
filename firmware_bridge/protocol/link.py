"""One side of a link: sequence numbers, acks, retransmits and duplicate suppression. Pure, no I/O.

The caller owns the port and the clock: it writes what :meth:`Link.send` and :meth:`Link.due` return, feeds
every decoded frame to :meth:`Link.receive`, and passes ``now`` (monotonic seconds) in.

Duplicates: a retransmit keeps its seq, so a receiver that already delivered that seq re-acks it and does
not deliver it again. Seqs wrap at 256; the window of remembered seqs is far shorter than that. A HELLO means
the peer (re)started and its seqs restart, so it clears the window — unless the caller, which reads the HELLO's
boot id, says it is a repeat from the same boot (``restart=False``): that peer's seqs did not restart.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from firmware_bridge.protocol.frames import RELIABLE_TYPES, DeviceKind, Frame, MessageType, encode_frame

DEDUP_WINDOW = 32


@dataclass(slots=True)
class _Pending:
    frame: Frame
    wire: bytes
    sent_at: float
    tries: int = 1


@dataclass(frozen=True, slots=True)
class Received:
    """What to do with a received frame: ``deliver`` it to the application or not; write ``reply`` if any."""

    deliver: bool
    reply: bytes | None = None
    acked: Frame | None = None       # one of ours that this ACK confirmed


@dataclass(slots=True)
class Link:
    kind: DeviceKind                 # the kind this side puts in its frames
    retry_after_s: float = 0.25
    max_tries: int = 5
    _next_seq: int = 0
    _pending: dict[int, _Pending] = field(default_factory=dict)
    _seen: deque[int] = field(default_factory=lambda: deque(maxlen=DEDUP_WINDOW))
    failed: list[Frame] = field(default_factory=list)   # reliable frames never acknowledged
    duplicates: int = 0

    def send(self, mtype: MessageType, body: bytes, now: float) -> bytes:
        """Frame a new message; reliable ones are kept until acknowledged.

        Only reliable messages take a new seq: a seq comes back after 256 of them, long after it left the
        receiver's 32-entry window. (If heartbeats took seqs too, an hour of heartbeats between two key
        presses could wrap onto a remembered seq and the second press would be dropped as a duplicate.)
        """
        seq = self._next_seq
        if mtype in RELIABLE_TYPES:
            self._next_seq = (seq + 1) & 0xFF
        frame = Frame(self.kind, mtype, seq, body)
        wire = encode_frame(frame)
        if mtype in RELIABLE_TYPES:
            # A seq reused after a full wrap replaces an entry long given up on.
            self._pending[seq] = _Pending(frame, wire, now)
        return wire

    def receive(self, frame: Frame, now: float, *, restart: bool = True) -> Received:
        if frame.type == MessageType.ACK:
            pending = self._pending.pop(frame.seq, None)
            return Received(False, None, pending.frame if pending else None)
        if frame.type not in RELIABLE_TYPES:
            return Received(True)
        ack = encode_frame(Frame(self.kind, MessageType.ACK, frame.seq))
        if frame.type == MessageType.HELLO:
            if restart:
                self._seen.clear()
        elif frame.seq in self._seen:
            self.duplicates += 1
            return Received(False, ack)
        self._seen.append(frame.seq)
        return Received(True, ack)

    def due(self, now: float) -> list[bytes]:
        """Frames to write again now; those past ``max_tries`` move to :attr:`failed`."""
        out: list[bytes] = []
        for seq in list(self._pending):
            p = self._pending[seq]
            if now - p.sent_at < self.retry_after_s:
                continue
            if p.tries >= self.max_tries:
                del self._pending[seq]
                self.failed.append(p.frame)
                continue
            p.tries += 1
            p.sent_at = now
            out.append(p.wire)
        return out

    @property
    def unacked(self) -> int:
        return len(self._pending)

    def reset(self) -> None:
        """Forget everything in flight (the port was reopened)."""
        self._pending.clear()
        self._seen.clear()
