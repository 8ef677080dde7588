"""Benchmark of `motcua backup` / restore on a large store, gzipped (the default) and plain (`--no-compress`). Not a
test.

The stores of --from (a year-old hub's data directory: hub.sqlite3 and whatever SQLite files sit beside it, e.g. what
bench/year_old_hub.py or bench/reports.py leave in their --db-dir) are first copied into a scratch directory, so the
originals are only read; then, on the copies, queue_server.backup's take_backup, verify and restore (onto an empty
directory) each run once per mode, timed by the wall clock. Also the gzip level trade-off on the hub store alone
(--levels, compress only, into the scratch directory) — what GZIP_LEVEL was chosen from.

Usage: .venv/bin/python bench/backup_compression.py --from DIR [--scratch DIR] [--levels 1,3,6]
The last line printed is one JSON object with unit-suffixed keys.
"""
from __future__ import annotations

import argparse
import gzip
import json
import shutil
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from contracts.messages import VN_TZ
from queue_server.backup import discover_stores, is_sqlite_file, restore, take_backup, verify

NOW = datetime(2026, 12, 31, 18, 0, tzinfo=VN_TZ)


def mib(n: int) -> float:
    return round(n / 2**20, 1)


def level_figures(store: Path, scratch: Path, levels: list[int]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for level in levels:
        target = scratch / f"level-{level}.gz"
        t = time.perf_counter()
        with store.open("rb") as fh, target.open("wb") as raw, \
                gzip.GzipFile(filename="", fileobj=raw, mode="wb", compresslevel=level, mtime=0) as gz:
            for block in iter(lambda: fh.read(1 << 20), b""):
                gz.write(block)
        out[f"gzip{level}_s"] = round(time.perf_counter() - t, 1)
        out[f"gzip{level}_mib"] = mib(target.stat().st_size)
        out[f"gzip{level}_ratio"] = round(store.stat().st_size / target.stat().st_size, 2)
        target.unlink()
    return out


def run_mode(data: Path, scratch: Path, compress: bool) -> dict[str, Any]:
    label = "gz" if compress else "plain"
    backups = scratch / f"backups-{label}"
    stores = discover_stores(data / "hub.sqlite3")
    t = time.perf_counter()
    made = take_backup(stores, backups, "bench", NOW, compress=compress)
    backup_s = time.perf_counter() - t
    stored = sum(p.stat().st_size for p in made.path.iterdir())
    raw = sum(int(str(e["bytes"])) for e in made.files)
    t = time.perf_counter()
    verify(made.path)
    verify_s = time.perf_counter() - t
    target = scratch / f"restored-{label}"
    t = time.perf_counter()
    restore(made.path, {"hub": target / "hub.sqlite3"}, target, NOW)
    restore_s = time.perf_counter() - t
    shutil.rmtree(target)
    shutil.rmtree(backups)
    result = {f"{label}_backup_s": round(backup_s, 1), f"{label}_backup_mib": mib(stored),
              f"{label}_verify_s": round(verify_s, 1), f"{label}_restore_s": round(restore_s, 1),
              "stores_mib": mib(raw)}
    print(f"{label}: {json.dumps(result)}", flush=True)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="source", required=True, type=Path, help="a hub's data directory (only read)")
    parser.add_argument("--scratch", type=Path, default=None, help="where the copies go (default: a temp dir)")
    parser.add_argument("--levels", default="1,3,6", help="gzip levels to time on the hub store ('' for none)")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="motcua-backup-bench-", dir=args.scratch))
    try:
        data = scratch / "data"
        data.mkdir()
        for f in sorted(args.source.iterdir()):
            if f.is_file() and is_sqlite_file(f) and not f.name.endswith(("-wal", "-shm")):
                shutil.copyfile(f, data / f.name)
        result: dict[str, Any] = {"hub_store_mib": mib((data / "hub.sqlite3").stat().st_size)}
        levels = [int(x) for x in args.levels.split(",") if x]
        result.update(level_figures(data / "hub.sqlite3", scratch, levels))
        print(f"levels: {json.dumps(result)}", flush=True)
        for compress in (True, False):
            result.update(run_mode(data, scratch, compress))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
