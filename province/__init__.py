"""motcua province: every center's events in one PostgreSQL, a live board of all sites, monthly 766-style figures.

The hubs stay the systems of record (each keeps working alone when the link is down); the province receives
their events through each hub's signed outbox (a second sink beside the main system), stores them idempotently
keyed by (center, seq), asks a hub to replay from a seq when it sees a gap, and serves the province board and
reports. Nothing here is imported by the hub: the hub-side pieces (the province sink, the replay endpoint) live in
``queue_server`` and speak to this package only over HTTP.
"""
