"""A virtual device = a socat pty pair + the firmware (firmware_bridge.firmware.run) in a child process.

The bridge opens ``stable_path``, a symlink to the pair's bridge end, like a udev by-id link. ``unplug()``
kills socat (both ptys hang up, the firmware process exits as a real device loses power); ``replug()``
starts a new pair, re-points the symlink and boots the firmware again. The firmware's display and LED
output arrive as lines (``show A023|blink``) that :meth:`wait_for` waits on, with a timeout.
"""
from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Self

_PTY = re.compile(r"PTY is (\S+)")


class PtyPair:
    """``socat -d -d pty,raw,echo=0 pty,raw,echo=0``; the two /dev/pts paths are parsed from its stderr."""

    def __init__(self, timeout: float = 10.0) -> None:
        self.process = subprocess.Popen(["socat", "-d", "-d", "pty,raw,echo=0", "pty,raw,echo=0"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        paths: list[str] = []
        deadline = time.monotonic() + timeout
        assert self.process.stderr is not None
        while len(paths) < 2:
            if time.monotonic() > deadline:
                self.close()
                raise TimeoutError("socat did not report two ptys")
            line = self.process.stderr.readline()
            if not line:
                raise RuntimeError(f"socat exited with {self.process.wait()}")
            m = _PTY.search(line)
            if m:
                paths.append(m.group(1))
        self.device_end, self.bridge_end = paths
        # Keep draining stderr so socat never blocks on a full pipe.
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.process.stderr is not None
        for _ in self.process.stderr:
            pass

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(5)


class VirtualDevice:
    def __init__(self, kind: str, device_id: str, stable_path: str | Path, heartbeat_ms: int = 300) -> None:
        self.kind = kind
        self.device_id = device_id
        self.stable_path = Path(stable_path)
        self.heartbeat_ms = heartbeat_ms
        self.pair: PtyPair | None = None
        self.firmware: subprocess.Popen[str] | None = None
        self.lines: queue.Queue[str] = queue.Queue()
        self.history: list[str] = []

    # --- power ----------------------------------------------------------------------------------------
    def plug(self) -> Self:
        self.pair = PtyPair()
        tmp = self.stable_path.with_name(self.stable_path.name + ".new")
        if tmp.is_symlink() or tmp.exists():
            tmp.unlink()
        os.symlink(self.pair.bridge_end, tmp)
        os.replace(tmp, self.stable_path)   # atomic re-point, like udev replacing a by-id link
        self.boot()
        return self

    def boot(self) -> None:
        assert self.pair is not None
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.firmware = subprocess.Popen(
            [sys.executable, "-m", "firmware_bridge.firmware.run", "--kind", self.kind, "--port",
             self.pair.device_end, "--id", self.device_id, "--heartbeat-ms", str(self.heartbeat_ms)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, bufsize=1)
        threading.Thread(target=self._read, args=(self.firmware,), daemon=True).start()
        self.wait_for(f"ready {self.device_id}")

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            line = line.rstrip("\n")
            self.history.append(line)
            self.lines.put(line)

    def unplug(self) -> None:
        """Pull the cable: the pty pair disappears and the device loses power."""
        if self.pair is not None:
            self.pair.close()
            self.pair = None
        if self.firmware is not None:
            try:
                self.firmware.wait(5)
            except subprocess.TimeoutExpired:
                self.firmware.kill()
                self.firmware.wait(5)
            self.firmware = None

    def replug(self) -> None:
        self.unplug()
        self.plug()

    def stop(self) -> None:
        if self.firmware is not None and self.firmware.poll() is None:
            self.control("quit")
        self.unplug()
        if self.stable_path.is_symlink():
            self.stable_path.unlink()

    # --- the firmware's control stream ----------------------------------------------------------------
    def control(self, line: str) -> None:
        assert self.firmware is not None and self.firmware.stdin is not None
        self.firmware.stdin.write(line + "\n")
        self.firmware.stdin.flush()

    def press(self, key: str) -> None:
        self.control(f"press {key}")

    def clear(self) -> None:
        while True:
            try:
                self.lines.get_nowait()
            except queue.Empty:
                return

    def wait_for(self, prefix: str, timeout: float = 20.0) -> str:
        """The next output line starting with ``prefix``; TimeoutError naming what was seen instead."""
        deadline = time.monotonic() + timeout
        seen: list[str] = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{self.device_id}: no {prefix!r} within {timeout}s; saw {seen[-10:]}")
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            if line.startswith(prefix):
                return line
            seen.append(line)

    def __enter__(self) -> Self:
        return self.plug()

    def __exit__(self, *exc: object) -> None:
        self.stop()
