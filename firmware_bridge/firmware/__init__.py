"""Reference firmware for the counter devices (Raspberry Pi Pico, MicroPython), written over a small HAL.

The same modules run on CPython against a serial port or pty (hal_cpython) in tests and in the demo.
Everything here except hal_cpython.py and run.py is kept to the MicroPython subset: no dataclasses, no
typing, no f-string format specs beyond the basics, no imports from the host package (a Pico has none).
"""
