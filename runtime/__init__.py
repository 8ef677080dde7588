"""Shared edges every motcua process uses: the settings model, the MQTT client, the SQLite helper.

It imports nothing of queue_server, kiosk, devices, displays or firmware_bridge, and holds no domain rules.
"""
