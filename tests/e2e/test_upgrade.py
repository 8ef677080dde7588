"""A center upgraded in place from an earlier release: today's hub and kiosk on the files an older one left mid-day.

tests/fixtures/upgrade/<commit>/ holds what the older code made over part of a day (README there: which commits,
how): the hub's config as its admin ran it, the hub's databases and a kiosk's offline journal dumped as SQL, and
what the old hub showed just before it was stopped (expected.json). Each test loads those into files, runs today's
`motcua config check` on the old config files (the real CLI), starts today's hub on them (clock held on the old
day) and the kiosk's ticket desk on its old journal, and checks what an admin would: the store is migrated (and a
second start migrates nothing again), the queue keeps its order and numbering, counters keep their tickets, the
ratings, users, staff sessions and bookings are there (a booking checks in), the reports are rebuilt, and the kiosk hands in the tickets it
printed offline while the hub was down for the upgrade.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from hub_support import HubOptions, TestHub

from contracts.messages import VN_TZ
from kiosk.hub_client import HubClient
from kiosk.offline import OfflineJournal, TicketDesk
from queue_server.config import load_settings
from runtime import sqlite as db

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "upgrade"
# the old day ran at 00:18-00:32 on Monday 7 December 2026 (hub open all day); today's hub starts soon after
AFTER_THE_OLD_DAY = datetime(2026, 12, 7, 0, 40, tzinfo=VN_TZ)
RELEASES = ["2077c89", "901a4fc"]         # the end of the first wave; the middle of the second


def center_folder(tmp: Path, release: str) -> Path:
    """The center's folder as the older hub and kiosk left it: config files, databases, the kiosk's journal."""
    src, folder = FIXTURES / release, tmp / release
    (folder / "var").mkdir(parents=True)
    shutil.copy(src / "center.toml", folder / "center.toml")
    kiosk = (src / "kiosk.toml").read_text(encoding="utf-8").replace("@VAR@", str(folder / "var"))
    (folder / "kiosk.toml").write_text(kiosk, encoding="utf-8")
    for dump, file in (("hub", "hub.sqlite3"), ("dossiers", "dossiers.sqlite3"), ("reports", "reports.sqlite3"),
                       ("bookings", "bookings.sqlite3"), ("notifications", "notifications.sqlite3"),
                       ("journal", "kiosk-journal.sqlite")):
        if (src / f"{dump}.sql").exists():
            conn = sqlite3.connect(folder / "var" / file)
            conn.executescript((src / f"{dump}.sql").read_text(encoding="utf-8"))
            conn.close()
    return folder


def motcua(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "queue_server", *args], check=False, capture_output=True,
                          text=True, timeout=120, env=env, cwd=ROOT)


def start_hub(tmp: Path, folder: Path) -> TestHub:
    settings = load_settings(folder / "center.toml")
    options = HubOptions(settings=lambda _tmp: settings, at=AFTER_THE_OLD_DAY, serve=True, keepalive_s=2.0)
    return TestHub(tmp, options).start()


def api(hub: TestHub, method: str, path: str, token: str | None = None, **kw: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.request(method, f"{hub.url}/api/v1{path}", headers=headers, timeout=10, **kw)


def login(hub: TestHub, username: str, password: str = "motcua-demo") -> str:
    r = api(hub, "POST", "/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    token: str = r.json()["token"]
    return token


@pytest.mark.parametrize("release", RELEASES)
def test_old_config_files_pass_config_check_or_say_what_to_change(tmp_path: Path, release: str) -> None:
    folder = center_folder(tmp_path, release)
    lab = motcua("config", "check", str(folder / "center.toml"), "--lab")
    assert lab.returncode == 0, lab.stdout + lab.stderr
    kiosk = motcua("config", "check", str(folder / "kiosk.toml"), "--for", "kiosk")
    assert kiosk.returncode == 0, kiosk.stdout + kiosk.stderr
    # the old center never had device keys: for a real start the admin is told, in one sentence, what to run
    real = motcua("config", "check", str(folder / "center.toml"))
    assert real.returncode == 2
    said = real.stdout + real.stderr
    assert "Traceback" not in said and "motcua deploy device-keys" in said and "device_keys" in said


def test_a_first_release_config_reaches_a_real_start_by_following_the_sentences(tmp_path: Path,
                                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """No --lab: each refusal names the next command, and doing it (nothing else) gets the config accepted."""
    folder = center_folder(tmp_path, "2077c89")
    config = str(folder / "center.toml")
    said = motcua("config", "check", config)
    assert said.returncode == 2 and "motcua deploy device-keys" in said.stdout + said.stderr
    # that config predates [broker]: the key tool says how to name the kiosks instead of failing bare
    keys = motcua("deploy", "device-keys", "--config", config, "--out-dir", str(folder))
    assert keys.returncode == 2 and "--device" in keys.stderr and "kiosk.toml" in keys.stderr
    keys = motcua("deploy", "device-keys", "--config", config, "--out-dir", str(folder),
                  "--device", "kiosk-1")
    assert keys.returncode == 0, keys.stdout + keys.stderr
    env_file = folder / "secrets" / "hub-device-keys.env"
    # what the hub unit's EnvironmentFile does (systemd takes the quotes off, as a shell would)
    key_env = {name: value.strip("'") for name, value in (line.split("=", 1) for line in
               env_file.read_text(encoding="utf-8").splitlines() if "=" in line and not line.startswith("#"))}
    for name, value in key_env.items():
        monkeypatch.setenv(name, value)
    said = motcua("config", "check", config)
    assert said.returncode == 2 and "motcua user set-password" in said.stdout + said.stderr
    for user in ("canbo1", "canbo2", "canbo3", "canbo4", "quanly", "quantri"):
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
        done = subprocess.run([sys.executable, "-m", "queue_server", "user", "set-password", "--config", config,
                               "--stdin", user], input=f"Mat-khau-that-cua-{user}-2026\n", check=False,
                              capture_output=True, text=True, timeout=120, env=env, cwd=ROOT)
        assert done.returncode == 0, done.stdout + done.stderr
    said = motcua("config", "check", config)
    assert said.returncode == 0, said.stdout + said.stderr
    assert "Traceback" not in said.stdout + said.stderr


@pytest.mark.parametrize("release", RELEASES)
def test_todays_backup_of_an_old_store_changes_nothing_in_it(tmp_path: Path, release: str) -> None:
    """The upgrade's first step, with the new code installed (the first release had no `motcua backup`)."""
    folder = center_folder(tmp_path, release)
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (folder / "var").iterdir()}
    made = motcua("backup", "--config", str(folder / "center.toml"), "--to", str(tmp_path / "backups"))
    assert made.returncode == 0, made.stdout + made.stderr
    assert {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (folder / "var").iterdir()
            if p.name in before} == before
    conn = sqlite3.connect(folder / "var" / "hub.sqlite3")
    assert db.applied_versions(conn, "hub") == ([] if release == "2077c89" else [1, 2])   # not migrated
    conn.close()
    (backup,) = (tmp_path / "backups").iterdir()
    assert json.loads((backup / "manifest.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("release", RELEASES)
def test_the_hub_and_kiosk_carry_on_from_an_older_release_mid_day(tmp_path: Path, release: str) -> None:
    folder = center_folder(tmp_path, release)
    expected = json.loads((FIXTURES / release / "expected.json").read_text(encoding="utf-8"))
    s1, s2 = expected["services"]
    hub = start_hub(tmp_path, folder)
    try:
        store = folder / "var" / "hub.sqlite3"
        conn = sqlite3.connect(store)
        versions = {c: db.applied_versions(conn, c) for c in ("hub", "ratings", "sessions", "credentials")}
        conn.close()
        assert versions["hub"] == [1, 2] and versions["ratings"] == [1]
        assert versions["sessions"] == [1] and versions["credentials"] == [1]

        staff = login(hub, "canbo1")
        manager = login(hub, "quanly")
        queue = [t["id"] for t in api(hub, "GET", "/queue", staff).json()["waiting"]]
        assert queue == expected["queue"]                                     # same tickets, same order
        counters = {c["counter"]: {k: c.get(k) for k in ("status", "current_ticket_id", "current_status", "staff")}
                    for c in api(hub, "GET", "/state").json()["counters"] if c["counter"] in ("1", "2")}
        assert counters == expected["counters"]
        ticket = api(hub, "GET", f"/tickets/{expected['done']}").json()["ticket"]
        assert ticket["status"] == "done"
        assert api(hub, "GET", f"/tickets/{expected['cancelled']}").json()["ticket"]["status"] == "cancelled"
        assert api(hub, "GET", "/ratings/aggregates", manager).json()["count"] == expected["ratings"]

        # numbering carries on: past every number of the day, including the kiosk's leased block
        issued = api(hub, "POST", "/tickets", json={"service": s1, "kiosk": "kiosk-2"}).json()["ticket"]
        numbers_before = [int(i.rsplit("-", 1)[1]) for i in expected["issued"] if i.split("-", 1)[1].startswith(s1)]
        lease = next(le for le in expected["leases"] if le["service"] == s1)
        number = int(issued["id"].rsplit("-", 1)[1])
        assert number > max(numbers_before) and not lease["first"] <= number <= lease["last"]

        # the day's reports come out of the upgraded store (the read model rebuilt from the log)
        summary = api(hub, "GET", "/reports/summary?from=2026-12-07&to=2026-12-07", manager)
        assert summary.status_code == 200, summary.text
        assert summary.json()["totals"]["served"] >= 1

        if expected["extra"]:          # a release with stored sessions and live user changes
            assert api(hub, "GET", "/auth/me", expected["token_canbo1"]).status_code == 200
            login(hub, "canbo9", "Cho-ngay-mai-2026!")                          # added on /admin
            login(hub, "canbo4", "Mat-khau-moi-cua-toi-9")                      # own password changed
            assert api(hub, "POST", "/auth/login", json={"username": "canbo4", "password": "motcua-demo"}
                       ).status_code == 401
            # the main system's bookings (today 01:00 and tomorrow) are still booked; today's checks in at a kiosk
            notifications = sqlite3.connect(folder / "var" / "notifications.sqlite3")
            assert db.applied_versions(notifications, "notifications") == [1, 2]     # its step 2 ran on the old file
            notifications.close()
            today_code, tomorrow_code = expected["extra"]["bookings"]
            for code in (today_code, tomorrow_code):
                assert api(hub, "GET", f"/bookings/{code}").json()["booking"]["status"] == "booked"
            checked = api(hub, "POST", "/bookings/check-in", json={"scan": today_code, "kiosk": "kiosk-1"})
            assert checked.status_code == 201, checked.text
            assert checked.json()["ticket"]["id"] in [t["id"] for t in api(hub, "GET", "/queue", staff).json()["waiting"]]
        else:                          # sessions were in the old hub's memory: staff log in again, nothing worse
            assert api(hub, "GET", "/auth/me", expected["token_canbo1"]).status_code == 401

        # the kiosk, upgraded too, starts from its old journal and hands in what it printed while the hub was down
        journal = OfflineJournal(folder / "var" / "kiosk-journal.sqlite")
        try:
            assert journal.pending_count() == expected["pending"] == 2
            prefixes = {t["service"]: t["number"][0] for t in expected["offline"]}
            desk = TicketDesk(HubClient(hub.url, kiosk_id="kiosk-1"), journal, prefixes=prefixes,
                              lease_size=10, reserve=2, clock=hub.clock.now)
            desk.set_services(prefixes)
            assert desk.maintain() == "online"
            assert journal.pending_count() == 0
        finally:
            journal.close()
        for t in expected["offline"]:
            handed = api(hub, "GET", f"/tickets/{t['id']}").json()["ticket"]
            assert handed["status"] == "issued" and handed["number"] == t["number"]
        after = [t["id"] for t in api(hub, "GET", "/queue", staff).json()["waiting"]]
        assert [i for i in after if i in queue] == queue          # the old queue's order is kept around them
        assert {t["id"] for t in expected["offline"]} <= set(after)

        hub.stop()
        hub.start()                    # a second start on the upgraded files: nothing migrated twice, same queue
        conn = sqlite3.connect(store)
        assert {c: db.applied_versions(conn, c) for c in versions} == versions
        conn.close()
        assert [t["id"] for t in api(hub, "GET", "/queue", login(hub, "canbo1")).json()["waiting"]] == after
        assert s2 in {t["service"] for t in expected["offline"]}
    finally:
        hub.stop()


# A process killed (SIGKILL: no clean-up, no rollback by Python) inside an upgrade step, after the step's writes and
# before its commit: the kiosk journal's step 2 (the saved /config table) and the reports model's rebuild (its
# tables dropped and made anew). Run in a child so the kill is real; the injected kill is the only change.
_KILLED_MID_STEP = r'''
import os, signal, sys
from pathlib import Path
which, folder = sys.argv[1], Path(sys.argv[2])
def die(*args):
    os.kill(os.getpid(), signal.SIGKILL)
if which == "journal":
    import kiosk.offline as offline
    from runtime.sqlite import Migration
    last = offline.MIGRATIONS[-1]
    def step(conn):
        for statement in last.step.split(";"):
            if statement.strip():
                conn.execute(statement)
        die()
    offline.MIGRATIONS = (*offline.MIGRATIONS[:-1], Migration(last.version, last.description, step))
    offline.OfflineJournal(folder / "kiosk-journal.sqlite")
else:
    from queue_server.adapters import report_store
    report_store.ReportStore._backfill_bookings = lambda self, conn: die()
    report_store.ReportStore(folder / "reports.sqlite3", folder / "hub.sqlite3")
raise SystemExit("not killed")
'''


def killed_mid_step(which: str, folder: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", _KILLED_MID_STEP, which, str(folder)], check=False,
                          capture_output=True, text=True, timeout=60, env=env, cwd=ROOT)
    assert done.returncode == -9, done.stdout + done.stderr


def dump(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


@pytest.mark.parametrize("release", RELEASES)
def test_a_kiosk_killed_while_upgrading_its_journal_keeps_it_whole(tmp_path: Path, release: str) -> None:
    folder = center_folder(tmp_path, release) / "var"
    path = folder / "kiosk-journal.sqlite"
    killed_mid_step("journal", folder)
    conn = sqlite3.connect(path)
    assert db.applied_versions(conn, "kiosk_journal") == [1]       # the older journal's version, adopted at most
    assert not db.table_exists(conn, "remembered")
    conn.close()
    journal = OfflineJournal(path)                                  # the next start upgrades it
    try:
        assert db.applied_versions(journal._db, "kiosk_journal") == [1, 2]
        assert journal.pending_count() == 2
    finally:
        journal.close()


def test_a_hub_killed_while_rebuilding_its_reports_keeps_the_old_model_until_the_next_start(tmp_path: Path) -> None:
    from queue_server.adapters.report_store import SCHEMA_VERSION, ReportStore

    folder = center_folder(tmp_path, "901a4fc") / "var"
    before = dump(folder / "reports.sqlite3")
    killed_mid_step("reports", folder)
    assert dump(folder / "reports.sqlite3") == before               # not half dropped: all of version 3 still there
    reports = ReportStore(folder / "reports.sqlite3", folder / "hub.sqlite3")
    try:
        assert reports._writer.execute("SELECT value FROM rpt_meta WHERE key = 'schema_version'").fetchone() == (
            SCHEMA_VERSION,)
    finally:
        reports.close()
