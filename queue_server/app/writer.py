"""The one writer: serialises every command of a center's queue and group-commits them.

Commands that arrive while a commit is in flight are queued, applied one by one in arrival order (read state →
pure ``decide`` → ``evolve`` → projector rows), written with their projections in ONE transaction through the
EventStore port, and only then is each caller released. Listeners get the committed envelopes in seq order
after the commit, on the writer thread (so they see every event once, in order; a listener must not block for
long). Readers take ``lock``, which the writer holds while it applies AND commits a batch, so no query ever sees
a change that is not yet durable. Must not: talk MQTT or HTTP, or read the wall clock (the Clock port does).
"""
from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contracts.errors import ErrorCode, MotcuaError
from contracts.messages import VN_TZ, Envelope, event_id, format_at
from queue_server.app.help_requests import HELP_EVENTS, OpenHelpRequests
from queue_server.app.ports import Clock, EventListener, EventStore
from queue_server.app.projector import Projections, collect_rows, day_start
from queue_server.app.views import counter_state, event_data
from queue_server.domain import numbering
from queue_server.domain import transitions as tr
from queue_server.domain.model import CenterDef, Counter
from queue_server.domain.transitions import QueueState

log = logging.getLogger(__name__)

_BATCH_MAX = 512


class Reply:
    """What a caller waits for: set once by the writer, then ``result()`` returns it or raises.

    A pre-acquired lock that the writer releases: one futex wake per caller, where a Future's Condition takes
    a fresh lock, a waiter list and two lock round trips (it showed as ~16 % of the writer's time).
    """

    __slots__ = ("_error", "_gate", "_set", "_value")

    def __init__(self) -> None:
        self._gate = threading.Lock()
        self._gate.acquire()
        self._set = False
        self._value: Any = None
        self._error: BaseException | None = None

    def done(self) -> bool:
        return self._set

    def set_result(self, value: Any) -> None:
        if not self._set:
            self._set = True
            self._value = value
            self._gate.release()

    def set_exception(self, error: BaseException) -> None:
        if not self._set:
            self._set = True
            self._error = error
            self._gate.release()

    def result(self) -> Any:
        self._gate.acquire()
        self._gate.release()       # stays open: a second result() returns at once
        if self._error is not None:
            raise self._error
        return self._value


@dataclass(frozen=True, slots=True)
class External:
    """An event decided outside the queue (a rating, a device fault): it only needs a place in the log."""

    type: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class AskHelp(External):
    """``help.requested`` for ``data["kiosk"]``, unless that kiosk's request today is still unanswered: then nothing
    is written and the answer is that open HelpRequest (one open request per kiosk)."""


@dataclass(frozen=True, slots=True)
class Reconfigure:
    """A new center definition (an admin's live change) and its ``config.changed`` event: swapped in by the
    writer between two commands, in the same commit as the event, so no command sees half a change.
    ``applied`` runs under the writer's lock once the event is durable (the hub swaps its settings there)."""

    center: CenterDef
    data: dict[str, Any]
    applied: Any = None
    # checked against the live state under the writer's lock before anything is written (raises MotcuaError):
    # e.g. a service removed while citizens still wait for it
    guard: Any = None


@dataclass(slots=True)
class _Job:
    command: tr.Command | External | Reconfigure
    future: Reply


class Writer:
    """Owns the live state, the last seq and the listeners; ``submit`` runs a command and returns its answer."""

    def __init__(self, center: CenterDef, store: EventStore, clock: Clock) -> None:
        self.center = center
        self.store = store
        self.clock = clock
        self.lock = threading.RLock()
        self.state: QueueState = store.load_state(center, numbering.working_day(clock.now()))
        self.last_seq = store.last_seq
        self.help = self._load_help()
        self._listeners: list[EventListener] = []
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self.closed = False
        # False while commits fail on a full disk; ``on_storage(ok)`` hears each change (the board's alert)
        self.storage_ok = True
        self.on_storage: Callable[[bool], None] | None = None
        self._thread = threading.Thread(target=self._run, name="motcua-writer", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------------------------ lifecycle
    def add_listener(self, fn: EventListener) -> None:
        with self.lock:
            self._listeners.append(fn)

    def remove_listener(self, fn: EventListener) -> None:
        with self.lock:
            if fn in self._listeners:
                self._listeners.remove(fn)

    def close(self) -> None:
        """Finish queued commands, stop the writer thread, close the store."""
        if self.closed:
            return
        self.closed = True
        self._jobs.put(None)
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=30)
        self.store.close()

    def now(self) -> datetime:
        # whole seconds: the wire format has no fractions, and replay must give back exactly this state
        return self.clock.now().astimezone(VN_TZ).replace(microsecond=0)

    def _storage(self, ok: bool | None) -> None:
        if ok is None or ok == self.storage_ok:
            return
        self.storage_ok = ok
        if ok:
            log.warning("store: commits succeed again (disk space is back)")
        if self.on_storage is not None:
            try:
                self.on_storage(ok)
            except Exception:
                log.exception("storage listener failed")

    def reload(self) -> None:
        """Make memory equal to the store again (after a failed commit or a bug half-way through a batch)."""
        with self.lock:
            self.state = self.store.load_state(self.center, numbering.working_day(self.clock.now()))
            self.last_seq = self.store.last_seq
            self.help = self._load_help()

    def roll(self, now: datetime) -> QueueState:
        """Move the live state to ``now``'s working day (the caller holds ``lock``). On a new day the estimate's prior
        is read again from the store, as a restart would read it: a hub that runs for weeks learns from the days it
        ran through, and gives the same estimates as one restarted that morning."""
        state = self.state
        day = numbering.working_day(now)
        if state.day is None or day > state.day:
            state.roll_to(day)
            state.prior = self.store.history_prior(day)
        return state

    def _load_help(self) -> OpenHelpRequests:
        # the unanswered "Cần hỗ trợ" of today, from the log: a hub restart must not silently drop them
        return OpenHelpRequests(self.store.events_since(day_start(numbering.working_day(self.clock.now())),
                                                        HELP_EVENTS))

    def rebuild(self) -> None:
        """Rebuild the store's projections from the event log and reload the live state from them."""
        with self.lock:   # the writer commits under this lock, so nothing is written meanwhile
            self.store.rebuild(self.center)
            self.reload()

    # ----------------------------------------------------------------------------------- the writer
    def submit(self, command: tr.Command | External | Reconfigure) -> Any:
        if self.closed:
            raise MotcuaError(ErrorCode.INTERNAL, "the queue service is closed")
        job = _Job(command, Reply())
        if threading.current_thread() is self._thread:
            # a listener issuing a command: run it now, as its own batch (waiting would deadlock)
            self._process([job])
        else:
            self._jobs.put(job)
        return job.future.result()

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            batch = [job]
            stop = False
            while len(batch) < _BATCH_MAX:
                try:
                    more = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                batch.append(more)
            try:
                self._process(batch)
            except Exception:   # never let the writer die: fail the batch, reload, keep serving
                log.exception("writer: batch of %d failed; reloading state from the store", len(batch))
                self.reload()
                for j in batch:
                    if not j.future.done():
                        j.future.set_exception(MotcuaError(ErrorCode.INTERNAL, "internal error"))
            if stop:
                return

    def _process(self, batch: list[_Job]) -> None:
        # a center swap is a commit of its own: the commands before it are decided under the old center, those
        # after it under the new one
        start = 0
        for i, job in enumerate(batch):
            if isinstance(job.command, Reconfigure):
                if i > start:
                    self._process_commands(batch[start:i])
                self._reconfigure(job)
                start = i + 1
        if start < len(batch):
            self._process_commands(batch[start:])

    def _process_commands(self, batch: list[_Job]) -> None:
        envelopes: list[Envelope] = []
        rows = Projections()
        done: list[tuple[_Job, Any]] = []
        with self.lock:
            state = self.state
            seq = self.last_seq
            for job in batch:
                now = self.now()
                if isinstance(job.command, External):
                    if isinstance(job.command, AskHelp):
                        # one open request per kiosk: pressing again while nobody has answered writes nothing and
                        # answers with the first press (a stuck button or a script cannot flood the log)
                        already = self.help.open_request(str(job.command.data.get("kiosk")),
                                                         numbering.working_day(now), envelopes)
                        if already is not None:
                            done.append((job, already))
                            continue
                    seq += 1
                    envelope = Envelope(event_id(now), seq, job.command.type, self.center.id, format_at(now),
                                        job.command.data)
                    envelopes.append(envelope)
                    done.append((job, envelope))
                    continue
                assert not isinstance(job.command, Reconfigure)     # _process runs those on their own
                self.roll(now)
                try:
                    decision = tr.decide(state, job.command, now)
                except MotcuaError as err:
                    job.future.set_exception(err)
                    continue
                except Exception as err:
                    log.exception("command %r failed", job.command)
                    job.future.set_exception(err)
                    continue
                for event in decision.events:
                    before = dict(state.counters)
                    tr.evolve(state, event)
                    collect_rows(state, event, before, rows)
                    seq += 1
                    current = None
                    if event.counter is not None and event.counter.current is not None:
                        current = state.tickets.get(event.counter.current)
                    data = event_data(self.center, event, seq, current)
                    if event.ticket is not None:
                        rows.ticket_json[event.ticket.id] = data["ticket"]
                    envelopes.append(Envelope(event_id(event.at), seq, str(event.type), self.center.id,
                                              format_at(event.at), data))
                done.append((job, self._answer(decision.result, seq)))
            if envelopes:
                try:
                    self.store.commit(envelopes, rows, self.center, seq)
                except Exception as err:
                    full = isinstance(err, MotcuaError) and err.code == ErrorCode.STORAGE_FULL
                    if full:
                        log.critical("store commit of %d events refused: the disk is full (%s)", len(envelopes), err)
                    else:
                        log.exception("store commit of %d events failed; reloading state", len(envelopes))
                    self.reload()
                    self._storage(False if full else None)
                    failure = err if full and isinstance(err, MotcuaError) else MotcuaError(
                        ErrorCode.INTERNAL, f"could not store the change: {err}")
                    for job, _ in done:
                        job.future.set_exception(failure)
                    return
                self.last_seq = seq
                self._storage(True)
                for envelope in envelopes:      # under the lock, like last_seq: a snapshot never sees one without the other
                    self.help.apply(envelope)
            listeners = list(self._listeners)
        for job, answer in done:
            job.future.set_result(answer)
        if envelopes:
            for fn in listeners:
                try:
                    fn(envelopes)
                except Exception:
                    log.exception("event listener %r failed on seq %d..%d", fn, envelopes[0].seq,
                                  envelopes[-1].seq)

    def _reconfigure(self, job: _Job) -> None:
        cmd = job.command
        assert isinstance(cmd, Reconfigure)
        with self.lock:
            now = self.now()
            if cmd.guard is not None:
                try:
                    cmd.guard(self.roll(now))
                except MotcuaError as err:
                    job.future.set_exception(err)
                    return
            seq = self.last_seq + 1
            envelope = Envelope(event_id(now), seq, "config.changed", self.center.id, format_at(now), cmd.data)
            try:
                self.store.commit([envelope], Projections(), cmd.center, seq)
            except Exception as err:
                log.exception("store commit of config.changed failed; the center stays as it was")
                job.future.set_exception(MotcuaError(ErrorCode.INTERNAL, f"could not store the change: {err}"))
                return
            self.last_seq = seq
            self.center = cmd.center
            self.state.center = cmd.center
            self.state.__post_init__()          # counters and queues the new center adds
            if cmd.applied is not None:
                cmd.applied()
        job.future.set_result(envelope)
        for fn in list(self._listeners):
            try:
                fn([envelope])
            except Exception:
                log.exception("event listener %r failed on config.changed seq %d", fn, seq)

    def _answer(self, result: tr.Result, seq: int) -> Any:
        if isinstance(result, Counter):
            current = self.state.tickets.get(result.current) if result.current is not None else None
            return counter_state(self.center, result, seq, current, self.state.day)
        if isinstance(result, tuple):
            return list(result)
        return result
