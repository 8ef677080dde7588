"""The ``motcua`` command: argument parsing, logging configuration and process lifecycle; nothing else.

  motcua hub --config FILE            run the hub (HTTP API + MQTT) until SIGTERM / Ctrl-C
  motcua demo [--duration S] [--port P] [--config FILE] [--broker auto|mosquitto|amqtt]
  motcua config check FILE            validate a config file, print a summary (exit 2 when invalid)
  motcua user hash-password           print a password hash for [[users]] password_hash
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

from queue_server.config import ConfigError, load_settings

log = logging.getLogger("motcua")


def configure_logging(level: str = "INFO") -> None:
    logging.basicConfig(level=getattr(logging, level.upper(), logging.INFO),
                        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s", stream=sys.stderr)
    # third-party chatter: amqtt logs every state transition at INFO
    for noisy in ("amqtt", "transitions", "waitress.queue"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def cmd_hub(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    configure_logging(settings.log_level)
    log.info("config: %s", json.dumps(settings.redacted(), ensure_ascii=False))
    from queue_server.wiring import build_hub

    hub = build_hub(settings)
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
    from queue_server.demo import run_demo

    return run_demo(duration=args.duration, port=args.port, config=args.config, broker=args.broker)


def cmd_config_check(args: argparse.Namespace) -> int:
    settings = load_settings(args.file)
    c = settings.center
    print(f"OK: {c.name} ({c.id})")
    print(f"  {len(c.services)} services: " + ", ".join(f"{s.prefix} {s.name}" for s in c.services))
    print(f"  {len(c.counters)} counters; {len(c.priorities)} priority categories; policy {c.policy.kind}")
    print("  " + json.dumps(settings.redacted(), ensure_ascii=False))
    return 0


def cmd_hash_password(args: argparse.Namespace) -> int:
    from werkzeug.security import generate_password_hash

    if args.stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            print("the two passwords differ", file=sys.stderr)
            return 2
    if len(password) < 8:
        print("use at least 8 characters", file=sys.stderr)
        return 2
    print(generate_password_hash(password))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="motcua", description="motcua — queue and kiosk system (Bộ phận Một cửa)")
    sub = parser.add_subparsers(dest="command", required=True)

    hub = sub.add_parser("hub", help="run the hub")
    hub.add_argument("--config", required=True, type=Path)
    hub.add_argument("--host", default=None, help="override [http] host")
    hub.add_argument("--port", default=None, type=int, help="override [http] port (0 = any free port)")
    hub.set_defaults(func=cmd_hub)

    demo = sub.add_parser("demo", help="broker + hub + a simulated morning")
    demo.add_argument("--duration", type=float, default=None, help="seconds (default: until Ctrl-C)")
    demo.add_argument("--port", type=int, default=None, help="HTTP port (default: a free one)")
    demo.add_argument("--config", type=Path, default=None, help="center config (default: deploy/center.example.toml)")
    demo.add_argument("--broker", choices=("auto", "mosquitto", "amqtt"), default="auto")
    demo.set_defaults(func=cmd_demo)

    config = sub.add_parser("config", help="config tools")
    config_sub = config.add_subparsers(dest="config_command", required=True)
    check = config_sub.add_parser("check", help="validate a config file")
    check.add_argument("file", type=Path)
    check.set_defaults(func=cmd_config_check)

    user = sub.add_parser("user", help="user tools")
    user_sub = user.add_subparsers(dest="user_command", required=True)
    hp = user_sub.add_parser("hash-password", help="print a werkzeug password hash")
    hp.add_argument("--stdin", action="store_true", help="read the password from standard input")
    hp.set_defaults(func=cmd_hash_password)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ConfigError as err:
        print(f"config error: {err.message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
