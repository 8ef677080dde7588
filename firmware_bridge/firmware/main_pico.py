"""Entry point on a Pico: copy firmware_bridge/__init__.py and firmware_bridge/firmware/ to the board, save
this file as main.py, and put the device's kind and id in device.txt (``rating_pad pad-05``)."""
from firmware_bridge.firmware.hal_micropython import PicoHal
from firmware_bridge.firmware.led_display import LedDisplay
from firmware_bridge.firmware.rating_pad import RatingPad
from firmware_bridge.firmware.staff_keypad import StaffKeypad


def main():
    with open("device.txt") as f:
        kind, device_id = f.read().split()[:2]
    hal = PicoHal()
    device = {"rating_pad": RatingPad, "led_display": LedDisplay, "staff_keypad": StaffKeypad}[kind](hal, device_id)
    device.begin()
    while True:
        hal.wait(5)
        device.step()


main()
