"""Argon2id password hashing (memory-hard), with the cost taken from the settings."""

from __future__ import annotations

import contextlib

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app


def _hasher() -> PasswordHasher:
    cfg = current_app.config
    key = ("inspect_hasher", cfg["INSPECT_ARGON2_MEMORY_KIB"], cfg["INSPECT_ARGON2_TIME_COST"])
    cache = current_app.extensions.setdefault("inspect_hashers", {})
    if key not in cache:
        cache[key] = PasswordHasher(memory_cost=key[1], time_cost=key[2], parallelism=1)
    return cache[key]


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    hasher = _hasher()
    if stored_hash is None:
        # Spend the same time for an unknown user name, so timing does not reveal accounts.
        _burn(hasher, password)
        return False
    try:
        return hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _dummy_hash() -> str:
    cache = current_app.extensions.setdefault("inspect_hashers", {})
    if "dummy" not in cache:
        cache["dummy"] = _hasher().hash("dummy-password-for-timing")
    return cache["dummy"]


def _burn(hasher: PasswordHasher, password: str) -> None:
    with contextlib.suppress(VerificationError, InvalidHashError):
        hasher.verify(_dummy_hash(), password)
