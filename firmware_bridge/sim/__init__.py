"""Virtual counter devices: the reference firmware running on CPython in another process, on a socat pty pair
whose bridge end is reached through a stable symlink (like /dev/serial/by-id) — for tests, bench and demo."""
