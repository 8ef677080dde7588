"""Device drivers behind small ports, each with a simulator picked by URL: printer, scanner, camera, audio."""
