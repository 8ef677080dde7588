"""``motcua voice …`` / ``python -m displays.voice_cli …``: build, check, list, script and import voice packs.

The command line only: the espeak-ng build lives in displays/voice_pack.py, the import of a recorded announcer in
displays/voice_import.py, the levels in displays/loudness.py.
"""
from __future__ import annotations

import argparse
import sys

from displays.announcements import ALL_CLIPS, clip_texts
from displays.voice_import import import_recording, script_text
from displays.voice_pack import DEFAULT_SPEED, DEFAULT_VOICE, VoicePack, VoicePackError, build


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="motcua voice", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="set up the espeak-ng fallback (chime, voice and speed; calls are then "
                                     "synthesised whole when first needed)")
    b.add_argument("dir")
    b.add_argument("--voice", default=DEFAULT_VOICE, help="espeak-ng voice (vi+f3, vi, vi-vn-x-south …)")
    b.add_argument("--speed", type=int, default=DEFAULT_SPEED, help="words per minute")
    b.add_argument("--force", action="store_true", help="remake clips that already exist")
    b.add_argument("--words", action="store_true", help="also make the old per-word espeak-ng clips")
    c = sub.add_parser("check", help="list clips a (recorded) pack lacks")
    c.add_argument("dir")
    sub.add_parser("list", help="print every clip name and what it must say")
    sub.add_parser("script", help="print what the center's announcer reads, one line per clip")
    imp = sub.add_parser("import", help="cut a recording of the script into a normalised, checked voice pack")
    imp.add_argument("recording")
    imp.add_argument("--dir", required=True, help="where the pack goes ([display] recorded_voice_dir)")
    imp.add_argument("--prefixes", default="", help="ticket prefixes to check, e.g. ABCDT (default: none)")
    imp.add_argument("--counters", default="", help="counter ids to check, comma-separated")
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            made = build(args.dir, voice=args.voice, speed=args.speed, force=args.force, words=args.words)
            print(f"voice pack {args.dir}: {len(made)} clips made (espeak-ng -v {args.voice} -s {args.speed}; "
                  f"each call is synthesised whole when first needed)")
        elif args.command == "check":
            missing = VoicePack.from_dirs(args.dir).missing()
            for clip in missing:
                print(f"missing {clip}.wav")
            print(f"{len(ALL_CLIPS) - len(missing)}/{len(ALL_CLIPS)} clips present")
            return 1 if missing else 0
        elif args.command == "script":
            print(script_text(), end="")
        elif args.command == "import":
            counters = [c for c in args.counters.split(",") if c.strip()]
            report = import_recording(args.recording, args.dir, prefixes=list(args.prefixes), counters=counters)
            print(f"voice pack {args.dir}: {report.clips} clips, loudness spread {report.spread_db:.2f} dB")
        else:
            texts = clip_texts()
            for clip in ALL_CLIPS:
                print(f"{clip}.wav\t{texts.get(clip, '(chime: a short two-tone sound)')}")
    except VoicePackError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0




if __name__ == "__main__":
    sys.exit(main())
