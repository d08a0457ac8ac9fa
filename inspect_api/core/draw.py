"""The verifiable draw, shared by the inspection draw (sampling) and the assessment's survey draw:
a secret seed whose SHA-256 is published first (commit), joined after the commitment to a public
value; a counter-mode SHA-256 stream read from it (draw); the canonical JSON every digest is taken
over and the checks a re-run makes (verify); the seed itself published afterwards (reveal: the
features store it and say when). Pure: no Flask, no database, no clock."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
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


def new_seed() -> str:
    """A secret seed: 256 random bits as hex (a guessable one could be found from its commitment)."""
    return secrets.token_hex(32)


def effective_seed(seed: str, public_entropy: str | None) -> str:
    """The committed seed, joined with the public value fixed after the commitment when one is given
    (so not even the office could choose the seed knowing the outcome)."""
    return seed + (f":{public_entropy}" if public_entropy else "")


def commit(record, now) -> bool:
    """Fix a draft draw record's secret seed and publish its commitment (`seed`, `seed_commitment`,
    `status`, `committed_at`); False, changing nothing, when it was committed before (committing
    again answers the same commitment)."""
    if record.status != "draft":
        return False
    record.seed = new_seed()
    record.seed_commitment = seed_commitment(record.seed)
    record.status, record.committed_at = "committed", now
    return True


def seed_commitment(seed: str) -> str:
    """What the office publishes before the draw: SHA-256 (lower-case hex) of the seed's UTF-8
    bytes, exactly as given (no trimming, no Unicode normalisation, no trailing newline)."""
    return hashlib.sha256(seed.encode("utf-8")).hexdigest()


def check_commitment(seed: str, commitment: str) -> bool:
    return hmac.compare_digest(seed_commitment(seed), commitment.strip().lower())


def stream_root(algorithm: str, seed: str) -> bytes:
    """The root every stream of a draw is read from: SHA-256(algorithm ‖ 0x00 ‖ seed), so the
    published commitment SHA-256(seed) reveals nothing about the draw."""
    return hashlib.sha256(algorithm.encode("ascii") + b"\x00" + seed.encode("utf-8")).digest()


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


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def digest(value) -> str:
    """SHA-256 (lower-case hex) of the value's canonical JSON."""
    return sha256_text(canonical(value))


# --- verify -------------------------------------------------------------------------------------


def commitment_problems(seed: str, commitment: str | None) -> list[str]:
    if commitment is not None and not check_commitment(seed, commitment):
        return [f"种子与公布的承诺值不符 (seed does not match the commitment {commitment})"]
    return []


def record_problems(*, seed: str, commitment: str | None, algorithm: str, recorded_algorithm: str,
                    inputs_digest: str, recorded_inputs_digest: str) -> list[str]:
    """What a re-run says before comparing results: whether the seed matches the commitment, the
    algorithm is the one that drew, and the inputs are the ones the draw used."""
    diffs = commitment_problems(seed, commitment)
    if recorded_algorithm != algorithm:
        diffs.append(f"算法版本不同 (algorithm): 记录为 {recorded_algorithm}，本程序为 {algorithm}")
    if inputs_digest != recorded_inputs_digest:
        diffs.append(f"输入已变化 (inputs changed): 现为 {inputs_digest}，记录为 {recorded_inputs_digest}")
    return diffs


def stored_problems(*, inputs_text: str, inputs, result_text: str, result_json: str, result_digest: str,
                    recorded_result_digest: str) -> list[str]:
    """What a stored draw says of itself: its inputs in canonical form, its result matching its digest."""
    problems = []
    if canonical(inputs) != inputs_text:
        problems.append("存储的输入不是规范形式 (stored inputs altered)")
    if result_digest != recorded_result_digest or result_json != result_text:
        problems.append("抽取结果与其摘要不符 (stored result altered)")
    return problems


def stored_seed_problems(seed: str, commitment: str) -> list[str]:
    """The stored secret seed against the commitment published before the draw."""
    return [] if check_commitment(seed, commitment) else ["种子与公布的承诺值不符 (seed does not match the commitment)"]


def capped(lines: list[str], limit: int) -> list[str]:
    """At most `limit` lines, then one saying how many more there were."""
    if len(lines) > limit:
        return lines[:limit] + [f"…… 另有 {len(lines) - limit} 处不同 (more differences)"]
    return lines
