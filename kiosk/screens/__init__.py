"""Kivy screens: thin .py + .kv pairs that render a presenter's view() and forward taps; no decisions here."""
