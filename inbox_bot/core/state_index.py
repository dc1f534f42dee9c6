"""Lookups on an allocation state without scanning it (pure).

Who holds this address or name, the waitlist in arrival order, the lowest free seat,
how many places an address or a domain holds: every decision asks these, and asked by
scanning every attendee they made deciding mail number N cost O(N), a whole inbox
O(N²). The index answers each from dicts and sorted lists. It is built once from a
state's attendees and then carried from state to state by applying the changed
attendees to copies of its containers (C-speed copies, no Python loop over the
attendees), so deciding mail 10,000 costs about what mail 10 costs.

Addresses are compared by `address_key` (the domain lowercased and the whole
casefolded, as `same_address` compares them), computed once per attendee.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from inbox_bot.core.model import Attendee, Status
from inbox_bot.core.names import address_key, domain_of, name_tokens

Order = tuple[datetime, int, int]
K = TypeVar("K")


@dataclass(frozen=True, kw_only=True)
class StateIndex:
    capacity: int
    # Active attendees (confirmed or waitlisted) by the key of their own address, by the
    # key of any address tied to them (own, contact, registering From), and by name.
    emails: dict[str, frozenset[str]]
    addresses: dict[str, frozenset[str]]
    names: dict[frozenset[str], frozenset[str]]
    waiting: list[tuple[Order, str]]  # waitlisted, in queue order
    seats: dict[int, int]  # seat -> confirmed attendees holding it
    free: list[int]  # seats 1..capacity nobody confirmed holds, ascending
    per_registrant: dict[str, int]  # active places by the From address that made them
    per_domain: dict[str, int]  # ... and by its domain
    position: dict[str, int]  # id -> place in the state's attendee order

    @classmethod
    def build(cls, capacity: int, attendees: Mapping[str, Attendee]) -> StateIndex:
        index = _empty(capacity)
        for n, attendee in enumerate(attendees.values()):
            index.position[attendee.id] = n
            _add(index, attendee)
        return index

    def changed(self, pairs: Iterable[tuple[Attendee | None, Attendee]]) -> StateIndex:
        """The index after each (old, new) change; `old` is None for a new attendee."""
        index = StateIndex(
            capacity=self.capacity,
            emails=dict(self.emails),
            addresses=dict(self.addresses),
            names=dict(self.names),
            waiting=list(self.waiting),
            seats=dict(self.seats),
            free=list(self.free),
            per_registrant=dict(self.per_registrant),
            per_domain=dict(self.per_domain),
            position=dict(self.position),
        )
        for old, new in pairs:
            if old is not None:
                _remove(index, old)
            else:
                index.position.setdefault(new.id, len(index.position))
            _add(index, new)
        return index

    def free_seat(self) -> int | None:
        if len(self.seats) >= self.capacity or not self.free:
            return None
        return self.free[0]

    def waitlist_position(self, attendee: Attendee) -> int | None:
        if attendee.status is not Status.WAITLISTED:
            return None
        entry = (attendee.queue_order, attendee.id)
        at = bisect.bisect_left(self.waiting, entry)
        found = at < len(self.waiting) and self.waiting[at] == entry
        return at + 1 if found else None

    def in_order(self, ids: Iterable[str]) -> list[str]:
        """The ids in the state's attendee order (the order a scan would meet them)."""
        return sorted(ids, key=lambda i: self.position.get(i, len(self.position)))


def _empty(capacity: int) -> StateIndex:
    return StateIndex(
        capacity=capacity,
        emails={},
        addresses={},
        names={},
        waiting=[],
        seats={},
        free=list(range(1, capacity + 1)),
        per_registrant={},
        per_domain={},
        position={},
    )


def _tied_addresses(a: Attendee) -> set[str]:
    return {address_key(x) for x in (a.email, a.contact, a.registrant) if x}


def _add(index: StateIndex, a: Attendee) -> None:
    if a.status is Status.CONFIRMED and a.seat is not None:
        index.seats[a.seat] = index.seats.get(a.seat, 0) + 1
        if index.seats[a.seat] == 1 and a.seat <= index.capacity:
            at = bisect.bisect_left(index.free, a.seat)
            if at < len(index.free) and index.free[at] == a.seat:
                del index.free[at]
    if a.status is Status.WAITLISTED:
        bisect.insort(index.waiting, (a.queue_order, a.id))
    if not a.active:
        return
    if a.email:
        _put(index.emails, address_key(a.email), a.id)
    for key in _tied_addresses(a):
        _put(index.addresses, key, a.id)
    tokens = name_tokens(a.name)
    if tokens:
        _put(index.names, tokens, a.id)
    registrant = address_key(a.registrant)
    index.per_registrant[registrant] = index.per_registrant.get(registrant, 0) + 1
    domain = domain_of(a.registrant)
    index.per_domain[domain] = index.per_domain.get(domain, 0) + 1


def _remove(index: StateIndex, a: Attendee) -> None:
    if a.status is Status.CONFIRMED and a.seat is not None and a.seat in index.seats:
        index.seats[a.seat] -= 1
        if index.seats[a.seat] <= 0:
            del index.seats[a.seat]
            if 1 <= a.seat <= index.capacity:
                bisect.insort(index.free, a.seat)
    if a.status is Status.WAITLISTED:
        entry = (a.queue_order, a.id)
        at = bisect.bisect_left(index.waiting, entry)
        if at < len(index.waiting) and index.waiting[at] == entry:
            del index.waiting[at]
    if not a.active:
        return
    if a.email:
        _drop(index.emails, address_key(a.email), a.id)
    for key in _tied_addresses(a):
        _drop(index.addresses, key, a.id)
    tokens = name_tokens(a.name)
    if tokens:
        _drop(index.names, tokens, a.id)
    _count_down(index.per_registrant, address_key(a.registrant))
    _count_down(index.per_domain, domain_of(a.registrant))


def _put(table: dict[K, frozenset[str]], key: K, value: str) -> None:
    table[key] = table.get(key, frozenset()) | {value}


def _drop(table: dict[K, frozenset[str]], key: K, value: str) -> None:
    left = table.get(key, frozenset()) - {value}
    if left:
        table[key] = left
    else:
        table.pop(key, None)


def _count_down(table: dict[str, int], key: str) -> None:
    left = table.get(key, 0) - 1
    if left > 0:
        table[key] = left
    else:
        table.pop(key, None)
