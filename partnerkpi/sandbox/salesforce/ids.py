"""Salesforce record ids: 15 case-sensitive characters (key prefix, pod, counter) plus the 3-character
case-insensitive checksum suffix that makes the 18-character form the API returns."""

from __future__ import annotations

import re
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
