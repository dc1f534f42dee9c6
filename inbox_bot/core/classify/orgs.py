"""The organisation of a person: the mail domain, the display name, the signature, the text."""

from __future__ import annotations

import re
from collections.abc import Iterable

from inbox_bot.core.classify import rules
from inbox_bot.core.classify.context import Context, _Body
from inbox_bot.core.model import Address
from inbox_bot.core.names import domain_of


def _organization(address: Address, body: _Body, ctx: Context) -> str | None:
    bracket = re.search(r"\(([^)]+)\)", address.name or "")
    return (
        _org_for(address.email, ctx)
        or (bracket.group(1).strip() if bracket else None)
        or _signature_org(body.signature)
        or _text_org(body.text)
        or _text_org("\n".join(body.signature))
    )


def _org_for(email: str | None, ctx: Context) -> str | None:
    domain = domain_of(email)
    if not domain or ctx.directory.is_freemail(domain):
        return None
    return ctx.directory.name_for(domain)


def _signature_org(signature: Iterable[str]) -> str | None:
    for line in signature:
        # "Organisation: Stadt Unna", "Dienststelle: ...": the label is not the name
        line = re.sub(
            r"^(?:organisation|organization|dienststelle|firma|behörde)\s*:\s*",
            "",
            line,
            flags=re.I,
        )
        if rules.ORGANIZATION_LINE.fullmatch(line) and not re.search(r"\d{4,}", line):
            return line.split("|")[0].split(",")[0].strip()
    return None


def _text_org(text: str) -> str | None:
    match = rules.ORGANIZATION_IN_TEXT.search(text)
    if not match:
        return None
    org = (match.group(1) or match.group(2)).strip().rstrip(".,;")
    # "bin bei der stadt lünen": written in lower case, listed as "Stadt Lünen".
    return " ".join(w[:1].upper() + w[1:] for w in org.split()) if org.islower() else org
