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
        # No closing formula: the last lines of the mail are its signature all the same.
        or (None if body.signature else _listed_org_line(_last_lines(body.text)))
    )


def _last_lines(text: str, count: int = 4) -> list[str]:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-count:]


def _org_for(email: str | None, ctx: Context) -> str | None:
    domain = domain_of(email)
    if not domain or ctx.directory.is_freemail(domain):
        return None
    return ctx.directory.name_for(domain)


def _signature_org(signature: Iterable[str]) -> str | None:
    lines = list(signature)
    return _listed_org_line(lines) or _org_line_anywhere(lines)


def _org_line_anywhere(lines: list[str]) -> str | None:
    """A line that names an organisation somewhere ("pro Ruhrgebiet e.V.", "Westfälische
    Hochschule"), not a department, function, address or contact line."""
    for line in lines[:10]:
        text = line.split("|")[0].strip()
        if rules.NOT_ORGANIZATION_LINE.search(text) or len(text.split()) > 8:
            continue
        if rules.ORGANIZATION_ANYWHERE.search(text):
            return text.split(" – ")[0].split(" - ")[0].strip(" ,")
    return None


def _listed_org_line(lines: list[str]) -> str | None:
    for line in lines:
        # "Organisation: Stadt Unna", "Dienststelle: ...": the label is not the name
        line = re.sub(
            r"^(?:organisation|organization|dienststelle|firma|behörde)\s*:\s*",
            "",
            line,
            flags=re.I,
        )
        line = re.split(r"\s[|·•]\s|\|", line)[0].strip()
        if re.search(r"\d{4,}", line):
            continue
        if re.search(rules.LEGAL_FORM_END, line) and rules.ORGANIZATION_LINE.fullmatch(line):
            return line  # "Wuppertal Institut für Klima, Umwelt, Energie gGmbH"
        # "Stadt Unna, Fachbereich 3", "Chair of Business Informatics, Universität Siegen"
        for part in line.split(","):
            if rules.ORGANIZATION_LINE.fullmatch(part.strip()):
                return part.strip()
    return None


def _text_org(text: str) -> str | None:
    match = rules.ORGANIZATION_IN_TEXT.search(text)
    if not match:
        return None
    org = (match.group(1) or match.group(2)).strip().rstrip(".,;")
    # "bin bei der stadt lünen": written in lower case, listed as "Stadt Lünen".
    return " ".join(w[:1].upper() + w[1:] for w in org.split()) if org.islower() else org
