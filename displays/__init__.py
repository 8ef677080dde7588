"""Hall and counter displays and Vietnamese voice announcements; talks to the hub only via contracts/HTTP."""
