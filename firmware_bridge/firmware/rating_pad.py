"""Rating pad firmware: 3–4 keys with LEDs; lit only while the ticket just served may be rated."""
# ruff: noqa: UP031  -- MicroPython subset: %-formatting, a HAL keys() method, UnicodeError varies
from firmware_bridge.firmware import wire
from firmware_bridge.firmware.device import ERR_BAD_COMMAND, ERR_UNKNOWN_COMMAND, Device


class RatingPad(Device):
    KIND = wire.KIND_RATING_PAD

    def __init__(self, hal, device_id, keys=4, **kw):
        Device.__init__(self, hal, device_id, **kw)
        self.max_keys = keys
        self.enabled_keys = 0
        self.enabled_until = None

    def begin(self):
        self.hal.set_leds(0)
        Device.begin(self)

    def on_command(self, body):
        if not body:
            return (ERR_BAD_COMMAND, "empty command")
        op = body[0]
        if op == 0x10 and len(body) == 3:          # enable: the keys light up
            self.enabled_keys = min(body[1], self.max_keys)
            self.enabled_until = self.hal.ticks_add(self.hal.ticks_ms(), body[2] * 1000)
            self.hal.set_leds((1 << self.enabled_keys) - 1)
            return None
        if op == 0x11 and len(body) == 1:          # disable
            self._dark()
            return None
        if op == 0x12 and len(body) == 1:          # thank you: all keys flash
            self._dark()
            self.hal.set_leds((1 << self.max_keys) - 1, True)
            return None
        if op == 0x13 and len(body) == 1:          # refused (already rated): the first key flashes
            self._dark()
            self.hal.set_leds(1, True)
            return None
        return (ERR_UNKNOWN_COMMAND, "rating pad: op %d" % op)

    def _dark(self):
        self.enabled_keys = 0
        self.enabled_until = None
        self.hal.set_leds(0)

    def on_key(self, key):
        # A dark pad ignores presses: there is nothing to rate, and a stray press must not count.
        if not self.enabled_keys or key > self.enabled_keys:
            return
        self.press(key)
        # One press per lighting: leave only the chosen key lit until the bridge thanks the citizen.
        self.enabled_keys = 0
        self.enabled_until = None
        self.hal.set_leds(1 << (key - 1))

    def poll(self, now):
        if self.enabled_until is not None and self.hal.ticks_diff(now, self.enabled_until) >= 0:
            self._dark()
