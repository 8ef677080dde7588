"""``motcua province ...`` (serve, migrate, check) and ``motcua deploy ...`` (broker): argparse wiring only.

``deploy`` is a group so later deployment helpers (broker passwords and ACLs, certificates) join as options of
``deploy broker`` or as siblings; each writes files and starts nothing.
"""
from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path
from typing import Any


def cmd_province_serve(args: argparse.Namespace) -> int:
    from province.config import ConfigError, load_config
    from province.web import ProvinceServer

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = load_config(args.config)
    except ConfigError as err:
        print(f"config error: {err}", file=sys.stderr)
        return 2
    import psycopg

    try:
        server = ProvinceServer(config)
    except psycopg.OperationalError as err:
        print(f"cannot reach the province database: {str(err).strip()}", file=sys.stderr)
        return 1
    port = server.start(args.port)
    logging.getLogger("province").info("province: serving on http://%s:%s/board", config.host, port)
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    stop.wait()
    server.stop()
    return 0


def cmd_province_migrate(args: argparse.Namespace) -> int:
    import psycopg

    from province.config import ConfigError, load_config
    from province.schema import current_version, migrate

    try:
        config = load_config(args.config)
        with psycopg.connect(config.dsn, autocommit=True, connect_timeout=5) as conn:
            applied = migrate(conn)
            version = current_version(conn)
    except ConfigError as err:
        print(f"config error: {err}", file=sys.stderr)
        return 2
    except psycopg.OperationalError as err:
        print(f"cannot reach the province database: {str(err).strip()}", file=sys.stderr)
        return 1
    print(f"schema version {version}" + (f" (applied now: {applied})" if applied else " (up to date)"))
    return 0


def cmd_province_check(args: argparse.Namespace) -> int:
    from province.config import ConfigError, load_config

    try:
        config = load_config(args.config)
    except ConfigError as err:
        print(f"config error: {err}", file=sys.stderr)
        return 2
    print(f"ok: {len(config.centers)} center(s), {len(config.users)} user(s), listening on "
          f"{config.host}:{config.port}")
    return 0


def cmd_province_replay(args: argparse.Namespace) -> int:
    from province.config import ConfigError, load_config
    from province.replay import ReplayError, request_replay

    try:
        config = load_config(args.config)
    except ConfigError as err:
        print(f"config error: {err}", file=sys.stderr)
        return 2
    center = config.center(args.center)
    if center is None or not center.hub_url:
        print(f"replay: center {args.center!r} is not configured with a hub_url", file=sys.stderr)
        return 2
    try:
        answer = request_replay(center.hub_url, center.key, args.from_seq)
    except ReplayError as err:
        print(f"replay: {err}", file=sys.stderr)
        return 1
    print(f"{args.center}: replaying from seq {answer.get('from_seq')}")
    return 0


def cmd_deploy_center_broker(args: argparse.Namespace) -> int:
    """``deploy broker --config center.toml``: passwords, ACL, Mosquitto config and (TLS) a local CA (issue 11)."""
    from queue_server.config import ConfigError, load_settings
    from queue_server.deploy_broker import write_center_broker

    try:
        settings = load_settings(args.config)
    except (ConfigError, OSError) as err:
        print(f"deploy broker: {err}", file=sys.stderr)
        return 2
    if settings.broker is None:
        print(f"deploy broker: {args.config}: no [broker] table (list the center's bridges, kiosks and displays "
              "as [[broker.clients]]; see deploy/center.example.toml)", file=sys.stderr)
        return 2
    out = args.out_dir or Path("broker")
    from province.bridge import BridgeConfigError, BridgeSettings, bridge_conf, persistence_lines

    try:
        persistence, section = None, ""
        if args.province_host:
            # the site's bridge to the province in the same file (Mosquitto refuses persistence set twice)
            password = (Path(args.remote_password_file).read_text(encoding="utf-8").strip()
                        if args.remote_password_file else "")
            bridge = BridgeSettings(
                site=settings.center.id, remote_host=args.province_host, remote_port=args.province_port,
                persistence_dir=args.persistence_dir, cafile=args.cafile, remote_username=args.remote_username,
                remote_password=password, power_loss_safe=args.power_loss_safe is not False)
            persistence, section = persistence_lines(bridge), bridge_conf(bridge, with_persistence=False)
        files = write_center_broker(
            settings.broker, out, tls=args.tls, lan_port=args.lan_port, local_port=args.local_port,
            hostnames=tuple(args.hostname or ["localhost"]), install_dir=args.install_dir,
            persistence_dir=args.persistence_dir, persistence=persistence, province_bridge=section)
    except (OSError, ValueError, BridgeConfigError) as err:
        print(f"deploy broker: {err}", file=sys.stderr)
        return 2
    print(f"wrote {files.conf}, {files.passwd}, {files.acl}" + (f", {files.ca.parent}/" if files.ca else ""))
    print(f"passwords (mode 0600, never commit): {files.secrets_dir}/<user>.password for "
          + ", ".join(settings.broker.users))
    return 0


def cmd_deploy_device_keys(args: argparse.Namespace) -> int:
    """``deploy device-keys --config center.toml``: an HTTP key per kiosk (from [broker]) and per --device."""
    from queue_server.config import ConfigError, load_settings
    from queue_server.deploy_broker import write_device_keys

    try:
        settings = load_settings(args.config)
    except (ConfigError, OSError) as err:
        print(f"deploy device-keys: {err}", file=sys.stderr)
        return 2
    devices = [c.user for c in settings.broker.clients if c.role == "kiosk"] if settings.broker else []
    devices += [d for d in (args.device or []) if d not in devices]
    if not devices:
        # a center config from before [broker] (first releases) names no kiosk: say how to name them
        print("deploy device-keys: cấu hình chưa liệt kê kiosk nào trong [[broker.clients]] / names no kiosk in "
              "[[broker.clients]]: thêm mỗi kiosk bằng / name each kiosk with --device <id> (the `id` in its "
              "kiosk.toml, e.g. --device kiosk-1), or list them in [[broker.clients]] (deploy/center.example.toml)",
              file=sys.stderr)
        return 2
    env = write_device_keys(devices, args.out_dir)
    print(f"wrote {len(devices)} device keys in {env.parent}/<device>.device-key (mode 0600, never commit) and "
          f"{env} for the hub's EnvironmentFile")
    return 0


def cmd_deploy_broker(args: argparse.Namespace) -> int:
    from province.bridge import BridgeConfigError, BridgeSettings, bridge_conf, province_broker_conf, write

    try:
        if args.role == "province":
            text = province_broker_conf(args.persistence_dir, power_loss_safe=args.power_loss_safe)
        else:
            if not args.site or not args.province_host:
                print("deploy broker: --site and --province-host are required for a site bridge", file=sys.stderr)
                return 2
            password = ""
            if args.remote_password_file:
                password = Path(args.remote_password_file).read_text(encoding="utf-8").strip()
            text = bridge_conf(BridgeSettings(
                site=args.site, remote_host=args.province_host, remote_port=args.province_port,
                persistence_dir=args.persistence_dir, cafile=args.cafile, remote_username=args.remote_username,
                remote_password=password, power_loss_safe=args.power_loss_safe))
    except (BridgeConfigError, ValueError, OSError) as err:
        print(f"deploy broker: {err}", file=sys.stderr)
        return 2
    if args.out is None:
        sys.stdout.write(text)
    else:
        write(text, args.out)
        print(f"wrote {args.out}")
    return 0


def add_parsers(sub: Any) -> None:
    province = sub.add_parser("province", help="the province service: events of every center, board, reports")
    psub = province.add_subparsers(dest="province_command", required=True)
    serve = psub.add_parser("serve", help="run the province service")
    serve.add_argument("--config", required=True, type=Path)
    serve.add_argument("--port", type=int, default=None, help="override [province] port")
    serve.set_defaults(func=cmd_province_serve)
    mig = psub.add_parser("migrate", help="apply the database schema migrations")
    mig.add_argument("--config", required=True, type=Path)
    mig.set_defaults(func=cmd_province_migrate)
    chk = psub.add_parser("check", help="validate a province config file")
    chk.add_argument("config", type=Path)
    chk.set_defaults(func=cmd_province_check)

    rep = psub.add_parser("replay", help="ask a hub (its hub_url) to re-send its events from a seq")
    rep.add_argument("--config", required=True, type=Path)
    rep.add_argument("--center", required=True)
    rep.add_argument("--from-seq", required=True, type=int)
    rep.set_defaults(func=cmd_province_replay)

    deploy = sub.add_parser("deploy", help="write deployment files (nothing is started)")
    dsub = deploy.add_subparsers(dest="deploy_command", required=True)
    broker = dsub.add_parser("broker", help="Mosquitto settings: a site's bridge to the province, or the province")
    broker.add_argument("--config", type=Path, default=None,
                        help="a center config with [[broker.clients]]: write its users, ACL, Mosquitto config and CA")
    broker.add_argument("--out-dir", type=Path, default=None, help="with --config: the directory to write")
    broker.add_argument("--install-dir", type=Path, default=None,
                        help="with --config: where the files will live on the broker (paths in motcua.conf)")
    broker.add_argument("--tls", action=argparse.BooleanOptionalAction, default=True,
                        help="with --config: TLS on the LAN listener, with a local CA (default on)")
    broker.add_argument("--hostname", action="append", help="with --config: a name or address the server "
                        "certificate carries (repeat)")
    broker.add_argument("--lan-port", type=int, default=8883)
    broker.add_argument("--local-port", type=int, default=1883)
    broker.add_argument("--role", choices=("site", "province"), default="site")
    broker.add_argument("--site", default="", help="the hub's [center] id (role site)")
    broker.add_argument("--province-host", default="", help="the province broker's host name (with --config: "
                        "the site's bridge to it goes into motcua.conf)")
    broker.add_argument("--province-port", type=int, default=8883)
    broker.add_argument("--cafile", default="", help="the province CA (TLS); required off loopback")
    broker.add_argument("--remote-username", default="", help="this site's user at the province broker")
    broker.add_argument("--remote-password-file", default="", help="a file holding that user's password")
    broker.add_argument("--persistence-dir", default="/var/lib/mosquitto/",
                        help="a directory the mosquitto user can write")
    broker.add_argument("--power-loss-safe", action=argparse.BooleanOptionalAction, default=None,
                        help="autosave the queue after every change (default: on for a site, off for the province)")
    broker.add_argument("--out", type=Path, default=None, help="write here (e.g. /etc/mosquitto/conf.d/"
                        "motcua-bridge.conf) instead of standard output")
    broker.set_defaults(func=_deploy_broker_defaults)
    keys = dsub.add_parser("device-keys", help="HTTP device keys for kiosks and rating tablets (files, mode 0600)")
    keys.add_argument("--config", required=True, type=Path)
    keys.add_argument("--out-dir", type=Path, default=Path("broker"))
    keys.add_argument("--device", action="append", help="another device (a rating tablet), repeat")
    keys.set_defaults(func=cmd_deploy_device_keys)


def _deploy_broker_defaults(args: argparse.Namespace) -> int:
    if args.config is not None:
        return cmd_deploy_center_broker(args)
    if args.power_loss_safe is None:
        args.power_loss_safe = args.role == "site"
    return cmd_deploy_broker(args)
