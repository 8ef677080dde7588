"""The ``motcua`` command: argument parsing, logging configuration and process lifecycle; nothing else.

  motcua hub --config FILE            run the hub (HTTP API + MQTT) until SIGTERM / Ctrl-C
  motcua demo [--duration S] [--port P] [--config FILE] [--broker auto|mosquitto|amqtt]
  motcua config check FILE [--for hub|kiosk|bridge] [--lab]   exit 0 only if that process would start (else 2)
  motcua config export --config FILE [-o OUT]   the live center (seed + admin changes) as TOML
  motcua user hash-password           print a password hash for [[users]] password_hash
  motcua user set-password --config FILE USERNAME   set an account's password in the config file (asks twice)
  motcua bridge [--config FILE] ...   the serial bridge for counter devices (firmware_bridge)
  motcua kiosk [--sim] ...            the lobby kiosk app (kiosk)
  motcua mock-main-system [--port P]  a stand-in for the province's one-stop system (demo, tests)
  motcua backup --config FILE [--to DIR] [--keep N] [--copy-to DEST] [--no-compress]   gzipped copies of every store
  motcua restore BACKUP_DIR --config FILE [--force]                    put a backup in place (hub stopped)
  motcua reports rebuild --config FILE   rebuild the reporting read model from the event log (docs/reports.md)
"""
from __future__ import annotations

import argparse
import getpass
import json
import logging
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from queue_server.config import ConfigError, check_hub_can_start, load_settings

log = logging.getLogger("motcua")


def configure_logging(level: str = "INFO") -> None:
    logging.basicConfig(level=getattr(logging, level.upper(), logging.INFO),
                        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s", stream=sys.stderr)
    # third-party chatter: amqtt logs every state transition at INFO
    for noisy in ("amqtt", "transitions", "waitress.queue"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def cmd_hub(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    check_hub_can_start(settings, lab=args.lab)   # what `config check` runs, so that what it accepts starts here
    configure_logging(settings.log_level)
    log.info("config: %s", json.dumps(settings.redacted(), ensure_ascii=False))
    for note in settings.notes:
        log.warning("config: %s", note)
    if not settings.security.device_keys:
        log.warning("LAB MODE: no device keys, anyone on the LAN can issue tickets and leases (--lab)")
    from queue_server.wiring import build_hub, warn_demo_passwords

    hub = build_hub(settings)
    if args.lab:        # without --lab check_hub_can_start has refused every demo-password account
        warn_demo_passwords(settings)
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        log.info("signal %s: stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        port = hub.serve_in_thread(args.host, args.port)
    except OSError as err:
        print(f"cannot listen on {args.host or settings.http.host}:{args.port or settings.http.port}: {err}",
              file=sys.stderr)
        hub.stop()
        return 1
    hub.start_background()
    log.info("hub %s ready on http://%s:%s/api/v1 (seq %s)", settings.center.id, args.host or settings.http.host,
             port, hub.service.last_seq)
    stop.wait()
    hub.stop()
    log.info("hub stopped")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    configure_logging("WARNING")
    from demo.run import run_demo  # the demo is not hub code: imported only when asked for

    return run_demo(duration=args.duration, port=args.port, config=args.config, broker=args.broker)


ROLES = ("hub", "kiosk", "bridge")


def config_role(path: Path) -> str:
    """Which process a config file is for, from its tables: ``[center]`` the hub, ``[bridge]`` the serial bridge,
    ``[hub]`` / ``[offline]`` / ``[screen]`` the kiosk; anything else (or a file that does not read) is checked as
    the hub's, whose loader then names the problem."""
    from runtime.settings import read_toml

    try:
        raw = read_toml(path)
    except ConfigError:
        return "hub"
    if "center" in raw:
        return "hub"
    if "bridge" in raw:
        return "bridge"
    if "centers" in raw:
        raise ConfigError(f"{path}: cấu hình dịch vụ tỉnh / a province service config: kiểm tra bằng / check it with "
                          f"`motcua province check {path}`")
    return "kiosk" if {"hub", "offline", "screen"} & raw.keys() else "hub"


def cmd_config_check(args: argparse.Namespace) -> int:
    """Runs the start-up checks of the process the file is for (the very functions that process runs), so a
    config this accepts starts and one it refuses is refused by the process with the same sentence."""
    role = args.role or config_role(args.file)    # ConfigError for a province file (its own command)
    if role == "kiosk":
        return _check_kiosk(args.file)
    if role == "bridge":
        return _check_bridge(args.file)
    settings = load_settings(args.file)
    check_hub_can_start(settings, lab=args.lab)
    c = settings.center
    print(f"OK: {c.name} ({c.id})" + (" — for `motcua hub --lab`" if args.lab else ""))
    print(f"  {len(c.services)} services: " + ", ".join(f"{s.prefix} {s.name}" for s in c.services))
    print(f"  {len(c.counters)} counters; {len(c.priorities)} priority categories; policy {c.policy.kind}")
    print("  " + json.dumps(settings.redacted(), ensure_ascii=False))
    for note in settings.notes:
        print(f"  note: {note}")
    if args.lab:        # without --lab check_hub_can_start has refused every demo-password account
        from queue_server.wiring import warn_demo_passwords

        demo_users = warn_demo_passwords(settings, background=False)
        if demo_users:
            print(f"WARNING / CẢNH BÁO: --lab: users {', '.join(demo_users)} still use the demo password "
                  f"(mật khẩu mẫu): `motcua user set-password --config {args.file} {demo_users[0]}` before opening "
                  "the center", file=sys.stderr)
    if not settings.security.device_keys:
        print("WARNING / CẢNH BÁO: --lab: no device keys, anyone on the LAN can issue tickets and leases",
              file=sys.stderr)
    return 0


def _check_kiosk(path: Path) -> int:
    from kiosk.config import check_can_run as kiosk_can_run
    from kiosk.config import load_settings as load_kiosk

    settings = load_kiosk(path)
    kiosk_can_run(settings)
    print(f"OK: kiosk {settings.id} → hub {settings.hub.url}")
    print("  " + json.dumps(settings.redacted(), ensure_ascii=False))
    for note in settings.notes:
        print(f"  note: {note}")
    if not settings.hub.device_key:
        print("WARNING / CẢNH BÁO: hub.device_key trống: hub có [security] device_keys sẽ từ chối số của kiosk này / "
              "is empty: a hub with device keys refuses this kiosk's tickets; set MOTCUA_HUB__DEVICE_KEY to its key "
              "(secrets/<kiosk>.device-key from `motcua deploy device-keys`)", file=sys.stderr)
    return 0


def _check_bridge(path: Path) -> int:
    from firmware_bridge.config import check_can_run as bridge_can_run
    from firmware_bridge.config import load_settings as load_bridge

    settings = load_bridge(path)
    bridge_can_run(settings)
    print(f"OK: bridge, {len(settings.devices)} devices of center {settings.center} → MQTT "
          f"{settings.mqtt_host}:{settings.mqtt_port}")
    print("  " + json.dumps(settings.redacted(), ensure_ascii=False))
    for note in settings.notes:
        print(f"  note: {note}")
    for d in settings.devices:
        if not Path(d.port).exists():
            print(f"  note: {d.id}: port {d.port} is not there now (the bridge waits for it)")
    if settings.mqtt_username and not settings.mqtt_password:
        print(f"WARNING / CẢNH BÁO: mqtt.password trống / is empty for user {settings.mqtt_username}: set "
              "MOTCUA_MQTT__PASSWORD in the bridge's EnvironmentFile (the broker refuses it otherwise)",
              file=sys.stderr)
    return 0


def cmd_config_export(args: argparse.Namespace) -> int:
    """The live center (the file's seed plus the admin's recorded changes) as TOML that `config check` accepts."""
    from queue_server.adapters.config_log import ConfigLog
    from queue_server.app.live_config import replay
    from queue_server.config import settings_from_dict
    from queue_server.engagement_live import BOOKINGS_LIVE, EngagementLive
    from queue_server.engagement_live import document as engagement_document
    from runtime.settings import read_toml
    from runtime.settings.edit import DISPLAY_LIVE, document, dump_toml

    settings = load_settings(args.config)
    if settings.store_path.exists():
        log_ = ConfigLog(settings.store_path)
        try:
            settings = replay(settings, log_, EngagementLive())
        finally:
            log_.close()
    raw = read_toml(args.config)
    doc = document(settings)
    for section, value in doc.items():
        if section == "display":
            raw["display"] = {**raw.get("display", {}), **{k: value[k] for k in DISPLAY_LIVE}}
        else:
            raw[section] = value
    # [bookings] / [notifications]: the live keys over the file's table (paths, gateways and secrets stay as written)
    for section, value in engagement_document(settings).items():
        table = {k: v for k, v in raw.get(section, {}).items()
                 if not (section == "bookings" and k in BOOKINGS_LIVE)}
        raw[section] = {**table, **value}
    text = ("# motcua config export: the live center of " + str(args.config) + " (seed + changes from the admin page)\n"
            + dump_toml(raw))
    # what is written must pass the same validation as `config check` (relative paths read from the source's dir)
    import tomllib

    settings_from_dict(tomllib.loads(text), base_dir=Path(args.config).resolve().parent)
    if args.output is None or str(args.output) == "-":
        sys.stdout.write(text)
    else:
        tmp = Path(str(args.output) + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(args.output)
        print(f"written: {args.output}", file=sys.stderr)
    return 0


def cmd_reports_rebuild(args: argparse.Namespace) -> int:
    """Rebuild the reporting read model from the hub's event log (safe while the hub runs: the model is
    replaced in one go per batch and the hub's feeder then continues from where the rebuild ended)."""
    configure_logging("INFO")
    from queue_server.adapters.dossier_mirror import DossierMirror
    from queue_server.adapters.report_store import ReportStore, facts_from_dossier
    from queue_server.wiring import integration_config, load_working_calendar

    settings = load_settings(args.config)
    if not settings.store_path.exists():
        print(f"no hub store at {settings.store_path}: nothing to rebuild", file=sys.stderr)
        return 2
    from queue_server.app.ports import SystemClock

    cfg = integration_config(settings)
    calendar = load_working_calendar(cfg, settings.center, SystemClock())
    mirror = DossierMirror(cfg.mirror_path) if cfg.mirror_path.exists() else None
    store = ReportStore(settings.store_path.parent / "reports.sqlite3", settings.store_path,
                        dossier=lambda code: None,
                        all_dossiers=lambda: (facts_from_dossier(d) for d in mirror.each()) if mirror else (),
                        working_minutes=calendar.working_minutes_between)
    try:
        result = store.rebuild()
    finally:
        store.close()
        if mirror is not None:
            mirror.close()
    print(f"OK: {result['events']} events, {result['dossiers']} dossiers in {result['seconds']} s "
          f"({result['events_per_s']} events/s); up to seq {result['last_seq']}")
    return 0


def _read_new_password(from_stdin: bool) -> str | None:
    """A new password from the terminal (asked twice) or one line of stdin; None (said why) when refused."""
    from runtime.passwords import DEMO_PASSWORD

    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("Mật khẩu mới / new password: ")
        if getpass.getpass("Nhập lại / again: ") != password:
            print("hai mật khẩu khác nhau / the two passwords differ", file=sys.stderr)
            return None
    if len(password) < 8:
        print("ít nhất 8 ký tự / use at least 8 characters", file=sys.stderr)
        return None
    if password == DEMO_PASSWORD:
        print("đó là mật khẩu mẫu công khai / that is the public demo password", file=sys.stderr)
        return None
    return password


def cmd_hash_password(args: argparse.Namespace) -> int:
    from werkzeug.security import generate_password_hash

    password = _read_new_password(args.stdin)
    if password is None:
        return 2
    print(generate_password_hash(password))
    return 0


def cmd_set_password(args: argparse.Namespace) -> int:
    """Writes the new hash into the config file in place (one line changed, the rest untouched, an atomic
    replace keeping the file's mode and owner); the hub reads it at its next start."""
    import os

    from werkzeug.security import generate_password_hash

    from runtime.settings.users_file import UsersFileError, set_password_hash

    path: Path = args.config
    try:
        text = path.read_text(encoding="utf-8")
        set_password_hash(text, args.username, "scrypt:32768:8:1$x$0")   # the account is there: ask only then
    except (OSError, UnicodeDecodeError) as err:
        print(f"{path}: {err}", file=sys.stderr)
        return 2
    except UsersFileError as err:
        print(f"{path}: {err}", file=sys.stderr)
        return 2
    password = _read_new_password(args.stdin)
    if password is None:
        return 2
    pw_hash = generate_password_hash(password)
    try:
        new_text = set_password_hash(text, args.username, pw_hash)
    except UsersFileError as err:
        print(f"{path}: {err}\n  password_hash = \"{pw_hash}\"", file=sys.stderr)
        return 2
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        st = path.stat()
        with open(tmp, "x", encoding="utf-8", newline="") as f:
            f.write(new_text)
        os.chmod(tmp, st.st_mode & 0o7777)
        if hasattr(os, "chown"):
            try:
                os.chown(tmp, st.st_uid, st.st_gid)
            except PermissionError:
                pass            # not root: the file stays ours, as it would after an editor's save
        os.replace(tmp, path)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        print(f"{path}: không ghi được / cannot write: {err}", file=sys.stderr)
        return 2
    print(f"OK: đã đặt mật khẩu cho / password set for {args.username} in {path} "
          "(khởi động lại hub / restart the hub)")
    _forget_live_password(path, args.username)
    return 0


def _forget_live_password(path: Path, username: str) -> None:
    """A password set from the web page since is kept in the hub's store and put over the file's at start: drop
    it, so that the password just set is the one that works (an admin resetting a forgotten password)."""
    from queue_server.adapters.config_log import ConfigLog

    try:
        store = load_settings(path).store_path
    except ConfigError as err:
        print(f"  note: kho của hub không xác định được / the hub's store is not known ({err.message}): a password "
              f"set from the web page for {username}, if any, still applies", file=sys.stderr)
        return
    if not store.is_file():
        return
    log_ = ConfigLog(store)
    try:
        if log_.forget_credential(username):
            print(f"  mật khẩu đặt từ trang web của {username} đã bỏ / the password set from the web page for "
                  f"{username} is dropped ({store}): the one just set applies")
    finally:
        log_.close()


def cmd_bridge(args: argparse.Namespace) -> int:
    from firmware_bridge.__main__ import main as bridge_main

    return int(bridge_main(args.rest))


def cmd_kiosk(args: argparse.Namespace) -> int:
    from kiosk.__main__ import main as kiosk_main

    return int(kiosk_main(args.rest))


def cmd_voice(args: argparse.Namespace) -> int:
    """`motcua voice script|import|build|check|list`: the hall voice (displays/voice_pack.py, voice_import.py)."""
    from displays.voice_cli import main as voice_main

    return int(voice_main(args.rest))


def cmd_mock_main_system(args: argparse.Namespace) -> int:
    configure_logging("INFO")
    from queue_server.mock_main_system import run

    run(args.host, args.port, secret=args.secret, hub_url=args.hub_url, hub_secret=args.hub_secret,
        agency_code=args.agency_code, advance_every_s=args.advance_every_s)
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from datetime import datetime

    from queue_server.backup import BackupError, discover_stores, named_stores, take_backup

    settings = load_settings(args.config)
    destination = args.to or settings.store_path.parent / "backups"
    stores = discover_stores(settings.store_path, named_stores(settings))
    try:
        result = take_backup(stores, destination, settings.center.id, datetime.now().astimezone(), keep=args.keep,
                             copy_to=args.copy_to, compress=not args.no_compress)
    except BackupError as err:
        print(f"sao lưu thất bại / backup failed: {err}", file=sys.stderr)
        return 1
    print(f"OK: {result.path}")
    for entry in result.files:
        stored = f"{entry['bytes']} B → {entry['stored_bytes']} B gzip" if "stored_bytes" in entry else f"{entry['bytes']} B"
        print(f"  {entry['role']}: {entry['source']} ({stored}, integrity {entry['integrity']})")
    for old in result.removed:
        print(f"  rotated out: {old.name}")
    if result.copied_to:
        print(f"  copied to: {result.copied_to}")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from datetime import datetime

    from queue_server.backup import BackupError, named_stores, restore

    settings = load_settings(args.config)
    targets = {"hub": settings.store_path, **{k: v for k, v in named_stores(settings).items() if v is not None}}
    try:
        done = restore(args.backup, targets, settings.store_path.parent, datetime.now().astimezone(), force=args.force)
    except BackupError as err:
        print(f"khôi phục thất bại / restore failed: {err}", file=sys.stderr)
        return 1
    print(f"OK: restored {args.backup.name}")
    for role, path in done:
        print(f"  {role} → {path}")
    from queue_server.app.lease_hold import RESTORE_HOLD_S
    print(f"  Trong {RESTORE_HOLD_S:.0f} giây đầu sau khi hub khởi động, kiosk chưa được cấp khối số ngoại tuyến mới "
          f"(chờ các kiosk báo lại khối đang giữ) / for the first {RESTORE_HOLD_S:.0f} s after the hub starts, kiosks "
          "get no new offline number block (they re-report the blocks they hold first)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="motcua", description="motcua — queue and kiosk system (Bộ phận Một cửa)")
    sub = parser.add_subparsers(dest="command", required=True)

    hub = sub.add_parser("hub", help="run the hub")
    hub.add_argument("--config", required=True, type=Path)
    hub.add_argument("--host", default=None, help="override [http] host")
    hub.add_argument("--port", default=None, type=int, help="override [http] port (0 = any free port)")
    hub.add_argument("--lab", action="store_true",
                     help="a test bench only: start even with no [security] device_keys (kiosk writes unguarded)")
    hub.set_defaults(func=cmd_hub)

    demo = sub.add_parser("demo", help="broker + hub + a simulated morning")
    demo.add_argument("--duration", type=float, default=None, help="seconds (default: until Ctrl-C)")
    demo.add_argument("--port", type=int, default=None, help="HTTP port (default: a free one)")
    demo.add_argument("--config", type=Path, default=None, help="center config (default: deploy/center.example.toml)")
    demo.add_argument("--broker", choices=("auto", "mosquitto", "amqtt"), default="auto")
    demo.set_defaults(func=cmd_demo)

    config = sub.add_parser("config", help="config tools")
    config_sub = config.add_subparsers(dest="config_command", required=True)
    check = config_sub.add_parser("check", help="validate a config file: exit 0 only if its process would start")
    check.add_argument("file", type=Path)
    check.add_argument("--for", dest="role", choices=ROLES, default=None,
                       help="the process the file is for (default: from its tables)")
    check.add_argument("--lab", action="store_true", help="check for `motcua hub --lab` (no device keys needed)")
    check.set_defaults(func=cmd_config_check)
    export = config_sub.add_parser("export", help="write the live center (seed + admin changes) as TOML")
    export.add_argument("--config", required=True, type=Path, help="the hub's config file (the seed)")
    export.add_argument("--output", "-o", type=Path, default=None, help="file to write (default: stdout)")
    export.set_defaults(func=cmd_config_export)

    reports = sub.add_parser("reports", help="reporting read model tools")
    reports_sub = reports.add_subparsers(dest="reports_command", required=True)
    rebuild = reports_sub.add_parser("rebuild", help="rebuild the reports from the whole event log")
    rebuild.add_argument("--config", required=True, type=Path)
    rebuild.set_defaults(func=cmd_reports_rebuild)

    user = sub.add_parser("user", help="user tools")
    user_sub = user.add_subparsers(dest="user_command", required=True)
    hp = user_sub.add_parser("hash-password", help="print a werkzeug password hash")
    hp.add_argument("--stdin", action="store_true", help="read the password from standard input")
    hp.set_defaults(func=cmd_hash_password)
    sp = user_sub.add_parser("set-password", help="set an account's password in the hub's config file")
    sp.add_argument("--config", required=True, type=Path, help="the hub's config file (edited in place)")
    sp.add_argument("username", help="the [[users]] account's username")
    sp.add_argument("--stdin", action="store_true", help="read the password from standard input (one line)")
    sp.set_defaults(func=cmd_set_password)
    bridge = sub.add_parser("bridge", help="serial bridge for rating pads, LED displays and staff keypads",
                            add_help=False)
    bridge.add_argument("rest", nargs=argparse.REMAINDER, help="arguments of `python -m firmware_bridge`")
    bridge.set_defaults(func=cmd_bridge)

    kiosk = sub.add_parser("kiosk", help="the lobby kiosk (Kivy)", add_help=False)
    kiosk.add_argument("rest", nargs=argparse.REMAINDER, help="arguments of `python -m kiosk`")
    kiosk.set_defaults(func=cmd_kiosk)

    voice = sub.add_parser("voice", help="the hall voice: script to record, import a recording, build, check",
                           add_help=False)
    voice.add_argument("rest", nargs=argparse.REMAINDER, help="script | import REC.wav --dir DIR | build DIR | …")
    voice.set_defaults(func=cmd_voice)

    mock = sub.add_parser("mock-main-system", help="stand-in for the province's one-stop system")
    mock.add_argument("--host", default="127.0.0.1")
    mock.add_argument("--port", type=int, default=8090)
    mock.add_argument("--secret", default="", help="HMAC secret the hub's outbox signs with")
    mock.add_argument("--hub-url", default=None, help="push dossier updates to this hub (http://host:port)")
    mock.add_argument("--hub-secret", default=None, help="HMAC secret for pushes to the hub")
    mock.add_argument("--agency-code", default="000.00.12.H38")
    mock.add_argument("--advance-every-s", type=float, default=None,
                      help="every so often move one sample dossier on a status and push it")
    mock.set_defaults(func=cmd_mock_main_system)

    backup = sub.add_parser("backup", help="consistent copies of every store (safe while the hub runs)")
    backup.add_argument("--config", required=True, type=Path)
    backup.add_argument("--to", type=Path, default=None, help="backup directory (default: backups/ beside the store)")
    backup.add_argument("--keep", type=int, default=14, help="how many backups to keep (default 14)")
    backup.add_argument("--copy-to", default=None,
                        help="second destination: a mounted path, or an rsync target host:path / user@host:path")
    backup.add_argument("--no-compress", action="store_true",
                        help="plain copies, not gzipped (about 8x larger; a backup older releases can restore)")
    backup.set_defaults(func=cmd_backup)

    restore = sub.add_parser("restore", help="put a backup in place (stop the hub first)")
    restore.add_argument("backup", type=Path, help="a backup directory made by `motcua backup`")
    restore.add_argument("--config", required=True, type=Path, help="the config of the hub to restore into")
    restore.add_argument("--force", action="store_true", help="replace existing stores (they are kept, renamed)")
    restore.set_defaults(func=cmd_restore)

    # issue 17: `motcua province ...` and the `motcua deploy ...` group (province/cli.py)
    from province.cli import add_parsers as add_province_parsers

    add_province_parsers(sub)

    # issue 15 hook: motcua face init-key|purge|list|delete
    from queue_server.face_cli import add_face_commands

    add_face_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("bridge", "kiosk"):
        # their own parsers own every option (argparse cannot pass "--x" through a subcommand untouched)
        return int({"bridge": cmd_bridge, "kiosk": cmd_kiosk}[argv[0]](argparse.Namespace(rest=argv[1:])))
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ConfigError as err:
        print(f"config error: {err.message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
