"""Staff accounts of the web console: a name and a password hash (app/console_users.py
hashes and checks; the password itself is never stored)."""

from __future__ import annotations

from datetime import datetime

from inbox_bot.adapters.store.base import Base
from inbox_bot.adapters.store.records import iso


class StaffUsers(Base):
    def staff_user_names(self) -> list[str]:
        return [str(r[0]) for r in self._all("SELECT name FROM staff_users ORDER BY name")]

    def staff_password_hash(self, name: str) -> str | None:
        row = self._one("SELECT password_hash FROM staff_users WHERE name = ?", (name,))
        return str(row[0]) if row is not None else None

    def set_staff_user(self, name: str, password_hash: str, now: datetime) -> None:
        self._change(
            "INSERT INTO staff_users (name, password_hash, created_at) VALUES (?, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET password_hash = excluded.password_hash",
            (name, password_hash, iso(now)),
        )

    def remove_staff_user(self, name: str) -> bool:
        return self._change("DELETE FROM staff_users WHERE name = ?", (name,)) > 0
