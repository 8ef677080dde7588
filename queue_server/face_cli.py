"""``motcua face ...``: create the master key (0600, never overwritten), run the retention purge, list enrolled
citizens (no template), delete one (a written withdrawal handed in at a counter). Added to the CLI by one hook in
queue_server/__main__.py."""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _face_config(path: Path) -> Any:
    from queue_server.config import load_settings

    settings = load_settings(path)
    if settings.face is None:
        print("this config has no [face] section: face lookup is off", file=sys.stderr)
        return None
    return settings.face


def cmd_init_key(args: argparse.Namespace) -> int:
    from queue_server.adapters.face_gallery import create_key_file

    cfg = _face_config(args.config)
    if cfg is None:
        return 2
    if create_key_file(cfg.key_path):
        print(f"created {cfg.key_path} (mode 600). Keep it, and the .ring file beside it, out of backups "
              f"(docs/face.md).")
    else:
        print(f"{cfg.key_path} already exists; left as it is")
    return 0


def _with_service(args: argparse.Namespace, work: Callable[[Any], int]) -> int:
    """Open the face service of ``args.config``'s [face] (exit 2 without one), run ``work`` on it, close it."""
    from queue_server.adapters.face_gallery import FaceGallery
    from queue_server.app.ports import SystemClock
    from queue_server.face_wiring import new_face_service

    cfg = _face_config(args.config)
    if cfg is None:
        return 2
    service = new_face_service(FaceGallery(cfg.gallery_path, cfg.key_path), SystemClock(), policy=cfg.policy,
                               retention=cfg.retention)
    try:
        return work(service)
    finally:
        service.close()


def cmd_purge(args: argparse.Namespace) -> int:
    def purge(service: Any) -> int:
        print(f"purged {len(service.purge())} citizen(s)")
        return 0

    return _with_service(args, purge)


def cmd_list(args: argparse.Namespace) -> int:
    def list_subjects(service: Any) -> int:
        print(json.dumps(service.subjects(), ensure_ascii=False, indent=1))
        return 0

    return _with_service(args, list_subjects)


def cmd_delete(args: argparse.Namespace) -> int:
    from contracts.errors import MotcuaError

    def delete(service: Any) -> int:
        try:
            service.delete(args.subject, actor=args.by)
        except MotcuaError as err:
            print(str(err), file=sys.stderr)
            return 1
        print(f"deleted {args.subject}")
        return 0

    return _with_service(args, delete)


def add_face_commands(sub: Any) -> None:
    face = sub.add_parser("face", help="face lookup tools (key, purge, list, delete)")
    face_sub = face.add_subparsers(dest="face_command", required=True)
    for name, func, text in (("init-key", cmd_init_key, "create the [face] key_path master key (mode 600)"),
                             ("purge", cmd_purge, "delete templates past the retention rule now"),
                             ("list", cmd_list, "list enrolled citizens (ids, codes, consent; no template)"),
                             ("delete", cmd_delete, "delete one citizen's face data at once")):
        p = face_sub.add_parser(name, help=text)
        p.add_argument("--config", required=True, type=Path)
        if name == "delete":
            p.add_argument("subject")
            p.add_argument("--by", required=True, help="the staff member doing it (audit trail)")
        p.set_defaults(func=func)
