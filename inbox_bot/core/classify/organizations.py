"""Which organisation a mail domain belongs to (data shipped in inbox_bot/data)."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True)
class Directory:
    domains: Mapping[str, str]
    freemail: frozenset[str]

    def name_for(self, domain: str) -> str | None:
        """The organisation of a domain or of its nearest listed parent domain."""
        parts = domain.lower().strip(".").split(".")
        for start in range(len(parts) - 1):
            found = self.domains.get(".".join(parts[start:]))
            if found:
                return found
        return None

    def is_freemail(self, domain: str) -> bool:
        return domain.lower() in self.freemail


def load_directory(extra: Mapping[str, str] | None = None) -> Directory:
    text = resources.files("inbox_bot").joinpath("data/organizations.toml").read_text("utf-8")
    data = tomllib.loads(text)
    domains = {k.lower(): v for k, v in data["domains"].items()}
    domains.update({k.lower(): v for k, v in (extra or {}).items()})
    return Directory(domains=domains, freemail=frozenset(data["freemail"]["domains"]))
