"""Settings start-up cost: a fresh process that imports the settings model and loads each example config
(hub: parse + validate + the machine checks; kiosk; bridge), against a bare interpreter doing nothing.

Measures what every process pays once at start for validating its config with pydantic (import, lazily built
schema, one parse). Wall-clock medians over --runs fresh processes; the shared machine makes them noisy.
The last printed line is one JSON object.

    .venv/bin/python bench/settings.py [--runs 7]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"

SNIPPETS = {
    "bare_python": "pass",
    "hub": ("from queue_server.config import check_can_run, load_settings; "
            f"check_can_run(load_settings({str(DEPLOY / 'center.example.toml')!r}))"),
    "hub_parse_only": ("from runtime.settings import load_settings; "
                       f"load_settings({str(DEPLOY / 'center.example.toml')!r})"),
    "kiosk": f"from kiosk.config import load_settings; load_settings({str(DEPLOY / 'kiosk.example.toml')!r})",
    "bridge": ("from firmware_bridge.config import load_settings; "
               f"load_settings({str(DEPLOY / 'bridge.example.toml')!r})"),
}


def wall_ms(code: str, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], env=env, check=True, cwd=ROOT)
    return (time.perf_counter() - start) * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MOTCUA_")}
        env.update(PYTHONPATH=str(ROOT), MOTCUA_STORE__PATH=str(Path(tmp) / "hub.sqlite3"))
        result: dict[str, float] = {}
        for name, code in SNIPPETS.items():
            wall_ms(code, env)                                   # warm the file cache
            runs = [wall_ms(code, env) for _ in range(args.runs)]
            result[f"{name}_process_ms"] = round(statistics.median(runs), 1)
            print(f"{name:16s} median {result[f'{name}_process_ms']:7.1f} ms  (min {min(runs):.1f}, "
                  f"max {max(runs):.1f})")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
