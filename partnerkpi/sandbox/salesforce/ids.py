"""Salesforce record ids: 15 case-sensitive characters (key prefix, pod, counter) plus the 3-character
case-insensitive checksum suffix that makes the 18-character form the API returns."""

from __future__ import annotations

import re
import threading
from collections import Counter
from functools import lru_cache

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_POD = "Kj0"
_UPPER = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_ID_RE = re.compile(r"[a-zA-Z0-9]{15}(?:[A-Z0-5]{3})?")

PREFIXES: dict[str, str] = {
    "Account": "001",
    "Opportunity": "006",
    "OpportunityPartner": "00I",
    "User": "005",
    "Organization": "00D",
    "OpportunityStage": "01J",
    "CurrencyType": "01L",
    "DatedConversionRate": "04w",
    "CustomField": "00N",
    "PermissionSet": "0PS",
    "FieldPermissions": "01k",
    "PermissionSetAssignment": "0Pa",
    "QueryLocator": "01g",
    "Job": "750",
    "Batch": "751",
    "BatchResult": "752",
}


def checksum(id15: str) -> str:
    out = ""
    for start in (0, 5, 10):
        bits = 0
        for i in range(5):
            if id15[start + i] in _UPPER:
                bits |= 1 << i
        out += _SUFFIX[bits]
    return out


@lru_cache(maxsize=65_536)
def make_id(prefix: str, number: int) -> str:
    """The 18-character id of record ``number`` under ``prefix``; ids sort as their numbers do."""
    digits = []
    n = number
    while n:
        n, rem = divmod(n, 62)
        digits.append(_BASE62[rem])
    body = prefix + _POD + "".join(reversed(digits)).rjust(9, "0")
    return body + checksum(body)


def number_of(record_id: str) -> int | None:
    """The counter part of an id this module made (None for a malformed id)."""
    if not _ID_RE.fullmatch(record_id):
        return None
    n = 0
    for char in record_id[6:15]:
        n = n * 62 + _BASE62.index(char)
    return n


def normalize(record_id: str) -> str | None:
    """The 18-character form of a 15- or 18-character id; None when malformed."""
    if not _ID_RE.fullmatch(record_id):
        return None
    if len(record_id) == 15:
        return record_id + checksum(record_id)
    if checksum(record_id[:15]) != record_id[15:]:
        return None
    return record_id


class IdMinter:
    """The org's ids that are no table row (jobs, batches, result files, query cursors): one counter per
    key prefix that only grows, under a lock (handlers run on the server's threads). An id is never
    handed out twice, also after the thing it named was deleted; Bulk API 1.0 and 2.0 jobs share the
    ``750`` prefix and so one counter, as on a real org."""

    def __init__(self) -> None:
        self._last: Counter[str] = Counter()
        self._lock = threading.Lock()

    def next(self, prefix: str) -> str:
        with self._lock:
            self._last[prefix] += 1
            number = self._last[prefix]
        return make_id(prefix, number)
