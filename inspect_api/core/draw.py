"""The verifiable draw's primitives, shared by the inspection draw (sampling) and the assessment's
survey draw: a secret seed whose SHA-256 is published first (commit), a counter-mode SHA-256 stream
read from it (draw), the canonical JSON every digest is taken over (verify), and the problems a
draw reports. Pure: no Flask, no database, no clock."""

from __future__ import annotations

import hashlib
import hmac
import json
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field

UnitId = int | str


@dataclass(frozen=True)
class Problem:
    code: str
    message_zh: str
    unit_id: UnitId | None = None
    details: Mapping = field(default_factory=dict)


def seed_commitment(seed: str) -> str:
    """What the office publishes before the draw: SHA-256 (lower-case hex) of the seed's UTF-8
    bytes, exactly as given (no trimming, no Unicode normalisation, no trailing newline)."""
    return hashlib.sha256(seed.encode("utf-8")).hexdigest()


def check_commitment(seed: str, commitment: str) -> bool:
    return hmac.compare_digest(seed_commitment(seed), commitment.strip().lower())


_TWO64 = 1 << 64
_BLOCK = struct.Struct(">4Q")


class SeedStream:
    """Counter-mode SHA-256: block i = SHA-256(root ‖ label ‖ 0x00 ‖ i as 8 bytes big-endian), read
    as four big-endian unsigned 64-bit integers, used in order."""

    __slots__ = ("_base", "_counter", "_buf", "_pos")

    def __init__(self, root: bytes, label: str):
        self._base = hashlib.sha256(root + label.encode("ascii") + b"\x00")
        self._counter = 0
        self._buf: tuple[int, ...] = ()
        self._pos = 4

    def u64(self) -> int:
        if self._pos == 4:
            h = self._base.copy()
            h.update(self._counter.to_bytes(8, "big"))
            self._counter += 1
            self._buf = _BLOCK.unpack(h.digest())
            self._pos = 0
        value = self._buf[self._pos]
        self._pos += 1
        return value

    def below(self, n: int) -> int:
        """Uniform in [0, n) without modulo bias: values at or above the largest multiple of n that
        fits in 64 bits are rejected and the next one is taken."""
        limit = _TWO64 - _TWO64 % n
        while True:
            value = self.u64()
            if value < limit:
                return value % n

    def shuffle(self, items: list) -> None:
        """Fisher–Yates from the end: for i = len-1 … 1 swap items[i] with items[below(i + 1)]."""
        for i in range(len(items) - 1, 0, -1):
            j = self.below(i + 1)
            items[i], items[j] = items[j], items[i]


def canonical(value) -> str:
    """Sorted keys, no spaces, UTF-8 kept: the encoding every digest is taken over."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
