"""LED counter display firmware: shows the ticket number called to this counter, blinks on a new call."""
# ruff: noqa: UP031  -- MicroPython subset: %-formatting, a HAL keys() method, UnicodeError varies
from firmware_bridge.firmware import wire
from firmware_bridge.firmware.device import ERR_BAD_COMMAND, ERR_UNKNOWN_COMMAND, Device


class LedDisplay(Device):
    KIND = wire.KIND_LED_DISPLAY

    def __init__(self, hal, device_id, **kw):
        Device.__init__(self, hal, device_id, **kw)
        self.text = ""

    def begin(self):
        self.hal.show("", False)
        Device.begin(self)

    def on_command(self, body):
        if not body:
            return (ERR_BAD_COMMAND, "empty command")
        op = body[0]
        if op == 0x01 and len(body) >= 2:          # show number
            text, end = wire.unpack_str(body, 2)
            if text is None or end != len(body):
                return (ERR_BAD_COMMAND, "show: bad text")
            self.text = text
            self.hal.show(text, bool(body[1] & 1))
            return None
        if op == 0x02:                             # pause
            text, end = wire.unpack_str(body, 1)
            if text is None or end != len(body):
                return (ERR_BAD_COMMAND, "pause: bad text")
            self.text = text
            self.hal.show(text, False)
            return None
        if op == 0x03 and len(body) == 1:          # clear
            self.text = ""
            self.hal.show("", False)
            return None
        return (ERR_UNKNOWN_COMMAND, "led display: op %d" % op)
