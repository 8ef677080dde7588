"""Adapters at the edges: SQLite store, MQTT, outbox, main-system client."""
