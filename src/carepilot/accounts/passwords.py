"""Argon2id password hashing (argon2-cffi defaults follow RFC 9106's recommendations)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()

# Verified against when an email is unknown, so a login takes the same time either way.
_DUMMY_HASH = _hasher.hash("not-a-real-password-carepilot")


def use_hasher(hasher: PasswordHasher) -> None:
    """Swap the hashing parameters (tests use cheap ones; never lower them in production).

    Existing hashes keep verifying: argon2 stores its parameters inside each hash.
    """
    global _hasher, _DUMMY_HASH
    _hasher = hasher
    _DUMMY_HASH = hasher.hash("not-a-real-password-carepilot")


def hash_password(password: str) -> str:
    """Hash a password with argon2id and a random salt."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; constant work for unknown users (hash None)."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and (
            password_hash is not None
        )
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's defaults."""
    return _hasher.check_needs_rehash(password_hash)
