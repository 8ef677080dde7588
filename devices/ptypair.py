"""A virtual serial cable: two linked ptys from ``socat`` for simulators, demos and adapter tests.

``socat -d -d pty,raw,echo=0 pty,raw,echo=0`` prints ``PTY is /dev/pts/N`` twice on stderr; we parse both paths
and wait until both exist. The caller owns the pair and must close() it (a context manager does it).
"""
from __future__ import annotations

import os
import re
import select
import shutil
import subprocess
import time
from typing import Self

_PTY_LINE = re.compile(rb"PTY is (\S+)")


class PtyPairError(RuntimeError):
    """socat is missing or did not produce two ptys in time."""


class PtyPair:
    def __init__(self, timeout: float = 5.0) -> None:
        exe = shutil.which("socat")
        if exe is None:
            raise PtyPairError("socat is not installed (apt-get install socat)")
        self.process = subprocess.Popen([exe, "-d", "-d", "pty,raw,echo=0", "pty,raw,echo=0"],
                                        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
        assert self.process.stderr is not None
        fd = self.process.stderr.fileno()
        seen = b""
        paths: list[str] = []
        deadline = time.monotonic() + timeout
        while len(paths) < 2:
            left = deadline - time.monotonic()
            if left <= 0 or self.process.poll() is not None:
                self.close()
                raise PtyPairError(f"socat gave no pty pair: {seen.decode(errors='replace')!r}")
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                chunk = os.read(fd, 4096)
                if not chunk:
                    continue
                seen += chunk
                paths = [m.decode() for m in _PTY_LINE.findall(seen)]
        self.a, self.b = paths[0], paths[1]
        while not (os.path.exists(self.a) and os.path.exists(self.b)):  # pragma: no cover - socat creates first
            if time.monotonic() > deadline:
                self.close()
                raise PtyPairError("pty paths did not appear")
            time.sleep(0.01)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        if self.process.stderr is not None:
            self.process.stderr.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
