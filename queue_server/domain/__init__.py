"""Pure queue domain: no I/O, no clock reads, no logging, no Flask/paho/sqlite imports."""
