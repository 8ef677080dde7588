"""The hold on new offline leases after a restore: a hub started on a store put back from an earlier backup has
forgotten the blocks it granted after that backup, and learns them back only when each holder re-reports (kiosk
upkeep after a new ``boot`` id, domain.transitions._adopt). Granting a new block before then could hand another kiosk
the same numbers. So for ``RESTORE_HOLD_S`` after such a start, POST /leases is refused with ``leases_on_hold``
(503, Retry-After; the kiosk tries again at a later upkeep); re-reports and hand-ins go through. Then the restore
mark is cleared, so a later restart grants at once.

Why a fixed time and not "until every holder re-reported": the hub cannot know which leases it lost. Kiosks run
their upkeep every 10 s (kiosk ``[offline] maintain_every_s``) and re-report in the round that first sees the new
boot id, before they ask for any block themselves; 60 s leaves room for a kiosk to miss five rounds (a hub still
starting, a slow answer) and still re-report before anyone is granted a block.

Must not: read the wall clock (the Clock port) or touch SQLite itself (the RestoreMarks port).
"""
from __future__ import annotations

import logging
import math
import threading
from datetime import datetime, timedelta

from contracts.errors import ErrorCode, MotcuaError
from queue_server.app.ports import Clock, RestoreMarks

log = logging.getLogger(__name__)

RESTORE_HOLD_S = 60.0


class LeasesOnHold(MotcuaError):
    """503 ``leases_on_hold`` with how long to wait; the error handler adds ``Retry-After``."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(ErrorCode.LEASES_ON_HOLD, message)
        self.retry_after_s = retry_after_s


class LeaseHold:
    """Built once per hub start: holds new leases until ``hold_s`` after it when the store carries a restore mark."""

    def __init__(self, marks: RestoreMarks, clock: Clock, hold_s: float = RESTORE_HOLD_S) -> None:
        self._marks = marks
        self._clock = clock
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.backup = marks.restored()
        self.until: datetime | None = None
        if self.backup is not None:
            self.until = clock.now() + timedelta(seconds=hold_s)
            log.warning("store restored from backup %s: no new offline number block until %s, while the kiosks "
                        "re-report the blocks granted after that backup / kho dữ liệu vừa được khôi phục: tạm chưa "
                        "cấp khối số ngoại tuyến mới đến %s", self.backup, f"{self.until:%H:%M:%S}",
                        f"{self.until:%H:%M:%S}")

    @property
    def active(self) -> bool:
        return self.until is not None

    def check(self) -> None:
        """Raise LeasesOnHold while the hold lasts; once it is over, clear the mark (once) and let grants through."""
        if self.until is None:
            return
        left = (self.until - self._clock.now()).total_seconds()
        if left > 0:
            seconds = max(1, math.ceil(left))
            raise LeasesOnHold(f"Máy chủ vừa được khôi phục từ bản sao lưu: chưa cấp khối số ngoại tuyến mới trong "
                               f"{seconds} giây nữa, xin thử lại sau / the hub was just restored from a backup: no new "
                               f"offline block for another {seconds} s while kiosks re-report theirs; retry later",
                               seconds)
        self.release()

    def release_if_over(self) -> bool:
        """For a periodic caller: clear the mark once the hold is over. True when there is no hold any more."""
        try:
            self.check()
        except LeasesOnHold:
            return False
        return True

    def start(self, every_s: float = 5.0) -> None:
        """Clear the mark when the hold is over even if no kiosk asks for a block then (a restart after the hold
        must not hold again)."""
        if self.until is None or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, args=(every_s,), name="restore-lease-hold", daemon=True)
        self._thread.start()

    def _run(self, every_s: float) -> None:
        while not self._stop.wait(every_s):
            if self.release_if_over():
                return

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5.0)
            self._thread = None

    def release(self) -> None:
        with self._lock:
            if self.until is None:
                return
            self.until = None
            try:
                self._marks.clear()
            except Exception:
                # the hold has done its work: grants go on; the mark left behind only holds the next start again
                log.exception("restore hold over but its mark could not be cleared (the next start holds again)")
                return
        log.info("restore hold over: offline number blocks are granted again / đã cấp lại khối số ngoại tuyến")
