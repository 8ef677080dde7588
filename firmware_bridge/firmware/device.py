"""What every counter device does on the link: hello, heartbeats, acks, retransmits, duplicate suppression.

Subclasses add their keys and commands. MicroPython subset; all I/O goes through the HAL.
"""
# ruff: noqa: UP031, SIM118  -- MicroPython subset: %-formatting, a HAL keys() method, UnicodeError varies
from firmware_bridge.firmware import wire

FIRMWARE_VERSION = "motcua-fw 0.1.0"
HEARTBEAT_MS = 1000
RETRY_MS = 250
MAX_TRIES = 6
HELLO_AGAIN_MS = 5000
HELD_PRESS_MS = 2000
DEDUP = 32

ERR_BAD_FRAME, ERR_UNKNOWN_COMMAND, ERR_BAD_COMMAND = 1, 2, 3


class Device:
    KIND = 0
    KEYS = 0

    def __init__(self, hal, device_id, heartbeat_ms=HEARTBEAT_MS):
        self.hal = hal
        self.device_id = device_id
        self.heartbeat_ms = heartbeat_ms
        self.decoder = wire.Decoder()
        self.seq = 0
        self.pending = {}      # seq -> [wire bytes, sent at ms, tries]
        self.seen = []         # recently delivered seqs from the bridge
        self.boot_id = hal.boot_id() & 0xFFFFFFFF   # once per power-up: a repeated HELLO is not a reboot
        self.started = hal.ticks_ms()
        self.last_heartbeat = self.started
        self.bad_reported = 0
        self.last_bad_report = self.started - 1000
        self.hello_seq = None   # our HELLO not yet acknowledged: key presses wait (see press)
        self.hello_sent_at = self.started
        self.held = []
        # fault injection (set from the CPython control stream; always off on a Pico)
        self.silent = False
        self.drop_next = 0
        self.ack_delay_ms = 0   # a slow bridge: each ACK is acted on this late (so our HELLO is retransmitted)
        self.late_acks = []     # [due at ms, seq]

    # --- link -------------------------------------------------------------------------------------
    def begin(self):
        self.hal.write(b"\x00")   # flush whatever half-frame the bridge may hold
        self.send_hello()

    def send_hello(self):
        if self.hello_seq is not None:
            # A new HELLO supersedes one still unacknowledged (say the boot hello, sent before the bridge had
            # the port open). Retransmitted later, the old one would tell the bridge we rebooted once more, and
            # it would replay the display in the middle of later commands (a called number blinking again).
            self.pending.pop(self.hello_seq, None)
        body = wire.pack_str(self.device_id, 32) + wire.pack_str(FIRMWARE_VERSION, 32)
        body += (self.heartbeat_ms & 0xFFFF).to_bytes(2, "big")
        body += self.boot_id.to_bytes(4, "big")    # the same for every HELLO of this boot
        self.hello_seq = self.send(wire.HELLO, body)
        self.hello_sent_at = self.hal.ticks_ms()

    def send(self, mtype, body=b""):
        seq = self.seq
        frame = wire.encode(self.KIND, mtype, seq, body)
        if mtype in wire.RELIABLE:
            # Only reliable frames take a seq, so heartbeats never wrap a new press onto a remembered seq.
            self.seq = (seq + 1) & 0xFF
            self.pending[seq] = [frame, self.hal.ticks_ms(), 1]
        self._write(frame)
        return seq

    def _write(self, frame):
        if self.silent:
            return
        if self.drop_next > 0:
            self.drop_next -= 1
            return
        self.hal.write(frame)

    def step(self):
        """One pass of the main loop: read, handle, retransmit, heartbeat, poll keys."""
        data = self.hal.read()
        if data and not self.silent:
            for kind, mtype, seq, body in self.decoder.feed(data):
                self.on_frame(kind, mtype, seq, body)
        now = self.hal.ticks_ms()
        while self.late_acks and self.hal.ticks_diff(now, self.late_acks[0][0]) >= 0:
            self.on_ack(self.late_acks.pop(0)[1])
        # Report line noise at most once a second, so a noisy cable cannot flood the link with reports.
        if self.decoder.bad > self.bad_reported and self.hal.ticks_diff(now, self.last_bad_report) >= 1000:
            self.bad_reported = self.decoder.bad
            self.last_bad_report = now
            self.send(wire.ERROR, bytes((ERR_BAD_FRAME,)) + wire.pack_str("bad frames: %d" % self.decoder.bad, 120))
        for seq in list(self.pending):
            entry = self.pending[seq]
            if self.hal.ticks_diff(now, entry[1]) >= RETRY_MS:
                if entry[2] >= MAX_TRIES:
                    del self.pending[seq]
                    self.hal.log("gave up on seq %d" % seq)
                else:
                    entry[1] = now
                    entry[2] += 1
                    self._write(entry[0])
        if (self.hello_seq is not None and self.hello_seq not in self.pending
                and self.hal.ticks_diff(now, self.hello_sent_at) >= HELLO_AGAIN_MS):
            self.send_hello()       # nobody acknowledged us: keep introducing ourselves, slowly
        if self.hal.ticks_diff(now, self.last_heartbeat) >= self.heartbeat_ms:
            self.last_heartbeat = now
            uptime = self.hal.ticks_diff(now, self.started) // 1000
            self.send(wire.HEARTBEAT, (uptime & 0xFFFFFFFF).to_bytes(4, "big"))
        for key in self.hal.keys():
            self.on_key(key)
        self.poll(now)

    def on_frame(self, kind, mtype, seq, body):
        if mtype == wire.ACK:
            if self.ack_delay_ms > 0:
                self.late_acks.append([self.hal.ticks_add(self.hal.ticks_ms(), self.ack_delay_ms), seq])
            else:
                self.on_ack(seq)
            return
        if mtype not in wire.RELIABLE:
            return
        self._write(wire.encode(self.KIND, wire.ACK, seq))
        if mtype == wire.HELLO:
            # The bridge (re)opened the port: its seqs restart, and it needs to learn who we are.
            self.seen = []
            self.send_hello()
            return
        if seq in self.seen:
            return
        self.seen.append(seq)
        if len(self.seen) > DEDUP:
            self.seen.pop(0)
        if mtype == wire.COMMAND:
            error = self.on_command(body)
            if error:
                self.send(wire.ERROR, bytes((error[0],)) + wire.pack_str(error[1], 120))

    def on_ack(self, seq):
        self.pending.pop(seq, None)
        if seq == self.hello_seq:
            self.hello_seq = None
            self.hal.log("hello acknowledged")   # the bridge acted on it: online, display restored
            held, self.held = self.held, []
            now = self.hal.ticks_ms()
            for key, at in held:
                # A press the bridge could not take for seconds is stale: "next" pressed while the
                # bridge was away must not call five citizens when it comes back.
                if self.hal.ticks_diff(now, at) <= HELD_PRESS_MS:
                    self.press(key)

    # --- the device's own behaviour -----------------------------------------------------------------
    def on_command(self, body):
        """Handle a COMMAND body; return None, or (error code, detail) to report."""
        return (ERR_UNKNOWN_COMMAND, "no commands")

    def on_key(self, key):
        pass

    def poll(self, now):
        pass

    def press(self, key):
        """Report a key press to the bridge (key is the 1-based key number).

        Until the bridge has acknowledged our HELLO it may still hold seqs from before a reboot, and would
        take a press with one of them for a duplicate: hold presses (a few) until then.
        """
        if self.hello_seq is not None:
            if len(self.held) < 8:
                self.held.append((key, self.hal.ticks_ms()))
            return
        self.send(wire.EVENT, bytes((0x01, key)))
