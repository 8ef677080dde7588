"""The serial protocol between the bridge and counter devices: pure framing, messages and device profiles.

Must not do I/O: no serial, no MQTT, no clock reads (callers pass ``now``).
"""
