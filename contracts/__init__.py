"""The wire contract every motcua process shares: MQTT topics, event envelopes, payloads and error codes.

Tiny and I/O-free: it imports nothing of ours, so kiosks, displays, devices and the bridge can depend on it
without pulling in the hub.
"""
