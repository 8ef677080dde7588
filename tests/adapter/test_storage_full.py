"""A full disk (issue 11): POST /tickets answers 503 ``storage_full`` with a Vietnamese message, nothing is half
written, the manager board shows a critical alert, and issuing resumes by itself once space returns.

Two ways to fill the disk: a real 1 MiB tmpfs the test mounts (skipped where the test may not mount), and an
injected SQLITE_FULL at the storage seam (runs everywhere)."""
from __future__ import annotations

import contextlib
import dataclasses
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from api_support import MONDAY_0800, login, make_settings

from queue_server.app.ports import FixedClock
from queue_server.wiring import build_hub

pytestmark = [pytest.mark.adapter, pytest.mark.timeout(120)]


@contextlib.contextmanager
def small_disk(where: Path) -> Iterator[Path]:
    where.mkdir()
    run = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(where)], capture_output=True,
                         check=False)
    if run.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {run.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def _fill(disk: Path) -> Path:
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        with contextlib.suppress(OSError):
            while True:
                os.write(fd, b"\0" * 512)
    finally:
        os.close(fd)
    return filler


def _alerts(client: Any, headers: dict[str, str]) -> list[str]:
    return [a["code"] for a in client.get("/api/v1/devices", headers=headers).get_json()["alerts"]]


def _drill(hub: Any, make_full: Any, make_room: Any) -> None:
    client = hub.app.test_client()
    manager = login(client, "quanly")
    first = client.post("/api/v1/tickets", json={"service": "ho-tich"})
    assert first.status_code == 201
    make_full()
    answers = [client.post("/api/v1/tickets", json={"service": "ho-tich"}) for _ in range(40)]
    refused = [a for a in answers if a.status_code == 503]
    stored = [a for a in answers if a.status_code == 201]
    assert refused and len(refused) + len(stored) == len(answers), [a.status_code for a in answers]
    err = refused[-1].get_json()["error"]
    assert err["code"] == "storage_full" and "Ổ đĩa" in err["message"] and "Traceback" not in err["message"]
    assert answers[-1].status_code == 503           # once full, it stays refused (no silent success)
    assert "storage_full" in _alerts(client, manager)
    # nothing half-written: exactly the answered tickets are in the log, numbers contiguous
    seq_before = hub.service.last_seq
    make_room()
    again = client.post("/api/v1/tickets", json={"service": "ho-tich"})
    assert again.status_code == 201, again.get_json()
    assert hub.service.last_seq == seq_before + 1
    assert "storage_full" not in _alerts(client, manager)
    numbers = [first.get_json()["ticket"]["number"], *(a.get_json()["ticket"]["number"] for a in stored),
               again.get_json()["ticket"]["number"]]
    assert numbers == [f"A{n:03d}" for n in range(1, len(numbers) + 1)]


def _hub(settings: Any) -> Any:
    return build_hub(settings, clock=FixedClock(MONDAY_0800), extra_blueprints=[], keepalive_s=0.05)


def test_a_real_full_filesystem(tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk") as disk:
        settings = dataclasses.replace(make_settings(tmp_path), store_path=disk / "hub.sqlite3")
        hub = _hub(settings)
        filler: list[Path] = []
        try:
            _drill(hub, lambda: filler.append(_fill(disk)), lambda: filler[0].unlink())
        finally:
            hub.stop()


def test_an_injected_disk_full_at_the_storage_seam(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hub = _hub(make_settings(tmp_path))
    store = hub.store
    real = store._commit
    full = {"on": False}

    def commit(*args: Any) -> None:
        if full["on"]:
            raise sqlite3.OperationalError("database or disk is full")
        real(*args)

    monkeypatch.setattr(store, "_commit", commit)
    try:
        _drill(hub, lambda: full.update(on=True), lambda: full.update(on=False))
    finally:
        hub.stop()
