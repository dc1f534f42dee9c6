"""Staff accounts of the web console: argon2id hashes (argon2-cffi), checked in constant
work whether or not the name exists, so a wrong name and a wrong password look alike."""

from __future__ import annotations

import re
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from inbox_bot.adapters.store import Store
from inbox_bot.errors import ActionRefused, NotFound

_HASHER = PasswordHasher()  # argon2id with the library's current recommended parameters
_NAME = re.compile(r"^[\w.@+-]{1,60}$")
MIN_PASSWORD = 10
# Verified when the name is unknown: the same work as for a real account.
_DUMMY = _HASHER.hash("no such user, no such password")


def add_user(store: Store, name: str, password: str, now: datetime) -> None:
    if not _NAME.match(name):
        raise ActionRefused("a user name is letters, digits and . _ @ + - (at most 60)")
    if len(password) < MIN_PASSWORD:
        raise ActionRefused(f"the password needs at least {MIN_PASSWORD} characters")
    store.set_staff_user(name, _HASHER.hash(password), now)


def remove_user(store: Store, name: str) -> None:
    if not store.remove_staff_user(name):
        raise NotFound(f"no staff user {name!r}")


def check_password(store: Store, name: str, password: str, now: datetime) -> bool:
    stored = store.staff_password_hash(name) if _NAME.match(name) else None
    try:
        _HASHER.verify(stored or _DUMMY, password)
    except (VerificationError, InvalidHashError):
        return False
    if stored is None:
        return False
    if _HASHER.check_needs_rehash(stored):
        store.set_staff_user(name, _HASHER.hash(password), now)
    return True
