"""The HAL on a Raspberry Pi Pico (MicroPython): UART0 on GP0/GP1, keys on GP2.. with pull-ups, key LEDs
on GP10.., the display on a TM1637 4-digit module (LED display) or an I2C 16x2 LCD (staff keypad).

Untested here (no hardware on the build machine); the logic above it is the code the tests run on CPython.
Display drivers are injected (``display=``) so a center can wire whatever module it bought.
"""
import time

from machine import UART, Pin, Timer  # noqa: F401 -- MicroPython only

from firmware_bridge.firmware.hal import Hal

DEBOUNCE_MS = 30


class PicoHal(Hal):
    def __init__(self, key_pins=(2, 3, 4, 5), led_pins=(10, 11, 12, 13), display=None, uart_id=0,
                 baudrate=115200, tx=0, rx=1):
        self.uart = UART(uart_id, baudrate=baudrate, tx=Pin(tx), rx=Pin(rx), rxbuf=1024)
        self.key_pins = [Pin(n, Pin.IN, Pin.PULL_UP) for n in key_pins]
        self.led_pins = [Pin(n, Pin.OUT) for n in led_pins]
        self.display = display
        self._last = [1] * len(self.key_pins)
        self._changed_at = [0] * len(self.key_pins)
        self._blink_mask = 0
        self._blink_until = 0
        self._blink_text = None

    def read(self):
        n = self.uart.any()
        return self.uart.read(n) if n else b""

    def write(self, data):
        self.uart.write(data)

    def ticks_ms(self):
        return time.ticks_ms()

    def ticks_diff(self, a, b):
        return time.ticks_diff(a, b)

    def ticks_add(self, a, delta):
        return time.ticks_add(a, delta)

    def boot_id(self):
        # rp2's os.urandom reads the ring oscillator; the tick count since reset is a poor but nonzero fallback
        try:
            import os
            return int.from_bytes(os.urandom(4), "big")
        except (ImportError, AttributeError, OSError):
            return (time.ticks_us() ^ (time.ticks_ms() << 16)) & 0xFFFFFFFF

    def wait(self, ms):
        # Poll the UART every millisecond so a frame is handled within ~1 ms of its last byte.
        end = time.ticks_add(time.ticks_ms(), ms)
        while time.ticks_diff(end, time.ticks_ms()) > 0 and not self.uart.any():
            time.sleep_ms(1)
        self._blink_tick()

    def keys(self):
        pressed = []
        now = time.ticks_ms()
        for i, pin in enumerate(self.key_pins):
            v = pin.value()
            if v != self._last[i] and time.ticks_diff(now, self._changed_at[i]) > DEBOUNCE_MS:
                self._changed_at[i] = now
                self._last[i] = v
                if v == 0:   # pulled up: pressed reads low
                    pressed.append(i + 1)
        return pressed

    def set_leds(self, mask, blink=False):
        self._blink_mask = mask if blink else 0
        self._blink_until = time.ticks_add(time.ticks_ms(), 3000) if blink else 0
        for i, pin in enumerate(self.led_pins):
            pin.value((mask >> i) & 1)

    def show(self, text, blink=False):
        self._blink_text = text if blink else None
        self._blink_until = time.ticks_add(time.ticks_ms(), 3000) if blink else self._blink_until
        if self.display is not None:
            self.display.show(text)

    def _blink_tick(self):
        if not self._blink_until:
            return
        now = time.ticks_ms()
        if time.ticks_diff(now, self._blink_until) >= 0:
            self._blink_until = 0
            for i, pin in enumerate(self.led_pins):
                pin.value(0 if self._blink_mask else pin.value())
            if self._blink_text is not None and self.display is not None:
                self.display.show(self._blink_text)
            return
        on = (now // 250) % 2 == 0
        for i, pin in enumerate(self.led_pins):
            if (self._blink_mask >> i) & 1:
                pin.value(1 if on else 0)
        if self._blink_text is not None and self.display is not None:
            self.display.show(self._blink_text if on else "")
