"""Was the From address vouched for by our own mail server? (RFC 8601, pure)

A From address is forged with one line of SMTP; the receiving border server records
what it checked (SPF, DKIM, DMARC) in an Authentication-Results header at the top of
the mail. Only those count: the topmost run of fields whose authserv-id is one of ours
(`[authenticity] trusted_authserv_ids`); a field further down, or with another id, may
have been written by the sender and is ignored. Exchange Online writes its field
without an authserv-id: with `exchange_online = true` the topmost such field counts.

The verdict is DMARC's (it ties the checks to the From domain); where there is none,
Exchange's composite `compauth`. pass -> "pass", fail -> "fail"; anything else (no
field of ours, none, temperror, permerror, policy, neutral) -> "unknown".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class Verdict(StrEnum):
    PASS = "pass"  # noqa: S105 - a DMARC result, not a password
    FAIL = "fail"
    UNKNOWN = "unknown"


@dataclass(frozen=True, kw_only=True)
class Authenticity:
    verdict: Verdict
    evidence: str  # e.g. "dmarc=fail (mx.dortmund.de)", for staff


UNKNOWN = Authenticity(verdict=Verdict.UNKNOWN, evidence="")

_COMMENT = re.compile(r"\([^()]*\)")
_METHOD = re.compile(r"(?:^|;)\s*([a-z0-9-]+)\s*=\s*([a-z]+)", re.IGNORECASE)


def judge(
    fields: tuple[str, ...], trusted: frozenset[str], *, exchange_online: bool = False
) -> Authenticity:
    """The verdict from the Authentication-Results fields, topmost first."""
    if not trusted and not exchange_online:
        return UNKNOWN
    ours = _ours(fields, {t.lower() for t in trusted}, exchange_online)
    results: dict[str, str] = {}
    for server, text in ours:
        for method, result in _METHOD.findall(text):
            results.setdefault(method.lower(), f"{result.lower()}|{server}")
    for method in ("dmarc", "compauth"):
        if method in results:
            result, server = results[method].split("|", 1)
            evidence = f"{method}={result} ({server})"
            if result == "pass":
                return Authenticity(verdict=Verdict.PASS, evidence=evidence)
            if result == "fail":
                return Authenticity(verdict=Verdict.FAIL, evidence=evidence)
            return Authenticity(verdict=Verdict.UNKNOWN, evidence=evidence)
    return UNKNOWN


def _ours(
    fields: tuple[str, ...], trusted: set[str], exchange_online: bool
) -> list[tuple[str, str]]:
    """(authserv-id, results) of the topmost run of fields our servers wrote."""
    found: list[tuple[str, str]] = []
    for field in fields:
        text = _COMMENT.sub(" ", " ".join(field.split()))
        head, _, rest = text.partition(";")
        server = head.strip().split(" ")[0].lower() if head.strip() else ""
        if "=" in server:  # no authserv-id: Exchange Online's form
            if not (exchange_online and not found):
                break
            found.append(("Exchange Online", text))
            break  # Exchange writes one; anything below it came with the mail
        if server not in trusted:
            break
        found.append((server, rest))
    return found
