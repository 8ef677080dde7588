"""The serial side: framed protocol, device profiles, the MQTT bridge process and reference firmware."""
