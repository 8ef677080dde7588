"""The hardware-abstraction layer every firmware module is written against (MicroPython subset).

A HAL owns the UART, the keys, the LEDs and the display, and the clock. hal_micropython drives a Pico's pins;
hal_cpython drives a serial port or pty and takes key presses and fault injections from a control stream.
"""


class Hal:
    def read(self):
        """Bytes received on the UART since the last call (b"" if none); never blocks."""
        raise NotImplementedError

    def write(self, data):
        raise NotImplementedError

    def ticks_ms(self):
        """A monotonic millisecond counter (it may wrap on a Pico: compare with ticks_diff)."""
        raise NotImplementedError

    def ticks_diff(self, a, b):
        return a - b

    def ticks_add(self, a, delta):
        """``a + delta`` on a counter that may wrap (MicroPython's time.ticks_add)."""
        return a + delta

    def boot_id(self):
        """A 32-bit value drawn once per power-up (sent in every HELLO of that boot): random, so a device that
        reboots says a new one and a HELLO merely repeated says the same one."""
        import os
        return int.from_bytes(os.urandom(4), "big")

    def wait(self, ms):
        """Idle up to ``ms`` milliseconds, returning early when input may be there."""
        raise NotImplementedError

    def keys(self):
        """Key numbers (1-based) pressed since the last call, debounced, in order."""
        raise NotImplementedError

    def set_leds(self, mask, blink=False):
        """Light the key LEDs in ``mask`` (bit 0 = key 1); ``blink`` flashes them for a few seconds."""
        raise NotImplementedError

    def show(self, text, blink=False):
        """Put ``text`` on the device's display (LED digits or a text LCD); ``blink`` flashes it."""
        raise NotImplementedError

    def log(self, message):
        pass
