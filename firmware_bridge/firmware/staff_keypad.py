"""Staff keypad firmware: next / recall / no-show / start / complete / transfer / pause keys and a text line."""
# ruff: noqa: UP031  -- MicroPython subset: %-formatting, a HAL keys() method, UnicodeError varies
from firmware_bridge.firmware import wire
from firmware_bridge.firmware.device import ERR_BAD_COMMAND, ERR_UNKNOWN_COMMAND, Device

KEYS = ("next", "recall", "no_show", "start", "complete", "transfer", "pause")


class StaffKeypad(Device):
    KIND = wire.KIND_STAFF_KEYPAD

    def __init__(self, hal, device_id, **kw):
        Device.__init__(self, hal, device_id, **kw)
        self.text = ""

    def on_command(self, body):
        if body and body[0] == 0x20:
            text, end = wire.unpack_str(body, 1)
            if text is None or end != len(body):
                return (ERR_BAD_COMMAND, "text: bad string")
            self.text = text
            self.hal.show(text, False)
            return None
        return (ERR_UNKNOWN_COMMAND, "staff keypad: op %d" % (body[0] if body else -1))

    def on_key(self, key):
        if 1 <= key <= len(KEYS):
            self.press(key)
