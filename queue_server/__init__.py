"""The hub: queue domain core, event store, HTTP API, MQTT adapter and CLI."""
