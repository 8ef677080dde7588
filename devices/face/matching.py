"""1:N matching of a 128-d face template against a gallery held in memory: numpy brute force over one float32
matrix, with a distance threshold AND a margin over the second-best person. Pure: no I/O, no clock.

Why both: the dlib model is weaker on Asian faces (docs/face.md), so a wrong match must be rarer than a missed
one. A query is accepted only when its nearest person is closer than ``threshold`` and every other person is at
least ``margin`` further away; anything else is "uncertain" and the kiosk falls back to the dossier code or QR.
Why brute force: 100,000 × 128 float32 is 51 MB and one matrix-vector product (~4 ms on one core, bench/face.py);
an approximate index would add a dependency and a way to be wrong for nothing at a center's scale.
"""
from __future__ import annotations

import math
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from devices.face.port import EMBEDDING_DIM


class Verdict(StrEnum):
    MATCH = "match"
    UNCERTAIN = "uncertain"        # close to someone, but not clearly one person: fall back to code / QR
    NO_MATCH = "no_match"


@dataclass(frozen=True, slots=True)
class MatchPolicy:
    """Euclidean distance between dlib templates. dlib's own threshold is 0.6 (99.38 % on LFW); the default here is
    stricter (0.45) with a 0.08 margin, so two look-alikes never match each other by a hair."""

    threshold: float = 0.45
    margin: float = 0.08

    def __post_init__(self) -> None:
        if not (0.0 < self.threshold < 2.0) or not math.isfinite(self.threshold):
            raise ValueError(f"threshold: {self.threshold} must be between 0 and 2 (Euclidean distance)")
        if not (0.0 <= self.margin < 2.0) or not math.isfinite(self.margin):
            raise ValueError(f"margin: {self.margin} must be between 0 and 2")


@dataclass(frozen=True, slots=True)
class MatchResult:
    verdict: Verdict
    subject: str | None              # set only for MATCH
    distance: float | None           # to the nearest person
    second_distance: float | None    # to the nearest other person (None with a one-person gallery)


def decide(best: tuple[str, float] | None, second: float | None, policy: MatchPolicy) -> MatchResult:
    """The rule on its own, for tests and for reading: nearest person, distance to the next other person."""
    if best is None:
        return MatchResult(Verdict.NO_MATCH, None, None, None)
    subject, distance = best
    if distance >= policy.threshold:
        # far from everyone: not enrolled (or a very different photo); the same polite fallback
        verdict = Verdict.UNCERTAIN if distance < policy.threshold + policy.margin else Verdict.NO_MATCH
        return MatchResult(verdict, None, distance, second)
    if second is not None and second - distance < policy.margin:
        return MatchResult(Verdict.UNCERTAIN, None, distance, second)
    return MatchResult(Verdict.MATCH, subject, distance, second)


def check_template(vector: np.ndarray | Iterable[float]) -> np.ndarray:
    """A template as a finite float32 vector of EMBEDDING_DIM values, or ValueError saying what is wrong."""
    arr = np.asarray(vector, dtype=np.float32).reshape(-1)
    if arr.shape != (EMBEDDING_DIM,):
        raise ValueError(f"a face template has {EMBEDDING_DIM} numbers, got {arr.size}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("a face template must hold finite numbers")
    return arr


class TemplateIndex:
    """Templates in one growing float32 matrix (rows), each row labelled with a person (subject id). Several
    templates per person are allowed (enrolment may keep a few frames). Thread-safe."""

    def __init__(self, capacity: int = 1024, policy: MatchPolicy | None = None) -> None:
        self.policy = policy or MatchPolicy()
        self._lock = threading.Lock()
        self._matrix = np.zeros((max(capacity, 1), EMBEDDING_DIM), dtype=np.float32)
        self._sq = np.zeros(max(capacity, 1), dtype=np.float32)     # squared norms, for |a-b|² = |a|²+|b|²-2a·b
        self._owner = np.zeros(max(capacity, 1), dtype=np.int64)    # row -> subject number
        self._n = 0
        self._numbers: dict[str, int] = {}
        self._names: dict[int, str] = {}
        self._next = 0

    def __len__(self) -> int:
        return self._n

    @property
    def subjects(self) -> int:
        return len(self._numbers)

    @property
    def nbytes(self) -> int:
        return int(self._matrix.nbytes + self._sq.nbytes + self._owner.nbytes)

    def add(self, subject: str, vector: np.ndarray | Iterable[float]) -> None:
        row = check_template(vector)
        with self._lock:
            if self._n == len(self._matrix):
                self._grow(len(self._matrix) * 2)
            number = self._numbers.get(subject)
            if number is None:
                number = self._numbers[subject] = self._next
                self._names[number] = subject
                self._next += 1
            self._matrix[self._n] = row
            self._sq[self._n] = float(row @ row)
            self._owner[self._n] = number
            self._n += 1

    def add_many(self, subjects: list[str], matrix: np.ndarray) -> None:
        """Bulk load (start-up, bench): one row per subject entry."""
        matrix = np.asarray(matrix, dtype=np.float32)
        if matrix.ndim != 2 or matrix.shape[1] != EMBEDDING_DIM or len(subjects) != len(matrix):
            raise ValueError("add_many: one row of 128 numbers per subject")
        with self._lock:
            need = self._n + len(matrix)
            if need > len(self._matrix):
                self._grow(max(need, len(self._matrix) * 2))
            numbers = np.empty(len(subjects), dtype=np.int64)
            for i, subject in enumerate(subjects):
                number = self._numbers.get(subject)
                if number is None:
                    number = self._numbers[subject] = self._next
                    self._names[number] = subject
                    self._next += 1
                numbers[i] = number
            self._matrix[self._n:need] = matrix
            self._sq[self._n:need] = np.einsum("ij,ij->i", matrix, matrix)
            self._owner[self._n:need] = numbers
            self._n = need

    def remove(self, subject: str) -> int:
        """Drop every template of a person (withdrawal, purge); returns how many rows went."""
        with self._lock:
            number = self._numbers.pop(subject, None)
            if number is None:
                return 0
            del self._names[number]
            keep = self._owner[: self._n] != number
            kept = int(keep.sum())
            removed = self._n - kept
            self._matrix[:kept] = self._matrix[: self._n][keep]
            self._sq[:kept] = self._sq[: self._n][keep]
            self._owner[:kept] = self._owner[: self._n][keep]
            self._matrix[kept: self._n] = 0.0     # no copy of a withdrawn template lingers in the spare rows
            self._n = kept
            return removed

    def __contains__(self, subject: object) -> bool:
        return subject in self._numbers

    def nearest(self, query: np.ndarray | Iterable[float]) -> tuple[tuple[str, float] | None, float | None]:
        """(nearest person, distance) and the distance to the nearest *other* person."""
        q = check_template(query)
        with self._lock:
            n = self._n
            if n == 0:
                return None, None
            d2 = self._matrix[:n] @ q                  # one pass over the matrix, then in place
            d2 *= -2.0
            d2 += self._sq[:n]
            d2 += float(q @ q)
            # the nearest few rows hold the best person and, unless one person owns all of them, the next one;
            # argpartition is a single O(n) pass, cheaper than masking every row of the best person
            k = min(n, 8)
            near = np.argpartition(d2, k - 1)[:k] if n > k else np.arange(n)
            near = near[np.argsort(d2[near])]
            best = int(near[0])
            owner = int(self._owner[best])
            best_d = math.sqrt(max(float(d2[best]), 0.0))
            second = None
            other_rows = near[self._owner[near] != owner]
            if other_rows.size:
                second = math.sqrt(max(float(d2[int(other_rows[0])]), 0.0))
            elif n > k:
                others = self._owner[:n] != owner        # one person owns all k nearest rows: look further
                if others.any():
                    second = math.sqrt(max(float(d2[others].min()), 0.0))
            return (self._names[owner], best_d), second

    def match(self, query: np.ndarray | Iterable[float], policy: MatchPolicy | None = None) -> MatchResult:
        """The decision for a query under ``policy`` (default: the index's own, from config)."""
        best, second = self.nearest(query)
        return decide(best, second, policy or self.policy)

    @staticmethod
    def check(vector: np.ndarray | Iterable[float]) -> np.ndarray:
        return check_template(vector)

    def _grow(self, capacity: int) -> None:
        for name in ("_matrix", "_sq", "_owner"):
            old = getattr(self, name)
            new = np.zeros((capacity, *old.shape[1:]), dtype=old.dtype)
            new[: len(old)] = old
            setattr(self, name, new)
