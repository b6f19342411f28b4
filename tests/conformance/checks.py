"""Cross-checks of a client's records against the sandbox's own data, with messages that say what differs.

Cursor semantics (what "the changed records and only those" allows): a client whose cursor is inclusive
(tap-salesforce's ``SystemModstamp >= bookmark``, most Singer taps) re-reads the records that sit exactly
on its saved bookmark; pass those as ``boundary`` to ``assert_incremental``. Nothing else may come back.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Any


def instant(value: object) -> datetime:
    """A timestamp of any of the forms clients and the sandbox write (``...Z``, ``+00:00``, six or three
    fractional digits, a space for the ``T``), as an aware datetime (naive = UTC)."""
    text = str(value).strip().replace("Z", "+00:00")
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def ids_of(records: Iterable[Mapping[str, Any]], key: str = "Id") -> list[str]:
    """The ``key`` of each record as a string (HubSpot ids are numbers in some clients' output)."""
    out = []
    for record in records:
        if key not in record or record[key] is None:
            raise AssertionError(f"a record has no {key!r}: {dict(record)!r:.300}")
        out.append(str(record[key]))
    return out


def live(records: Iterable[Mapping[str, Any]], deleted_key: str = "IsDeleted") -> list[Mapping[str, Any]]:
    """Records not flagged deleted (``queryAll`` / Bulk ``queryAll`` also return the recycle bin)."""
    return [r for r in records if not r.get(deleted_key)]


def _sample(values: Iterable[str], n: int = 5) -> str:
    items = sorted(values)
    more = f" (+{len(items) - n} more)" if len(items) > n else ""
    return ", ".join(items[:n]) + more


def assert_same_ids(
    records: Iterable[Mapping[str, Any]], expected: Iterable[str], key: str = "Id", what: str = "records"
) -> None:
    """Exactly the sandbox's ids, each once: no record missing, none extra, none duplicated."""
    got = ids_of(records, key)
    want = {str(e) for e in expected}
    counts = Counter(got)
    duplicated = {i for i, n in counts.items() if n > 1}
    missing = want - counts.keys()
    extra = counts.keys() - want
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing ({_sample(missing)})")
    if extra:
        problems.append(f"{len(extra)} not in the sandbox ({_sample(extra)})")
    if duplicated:
        problems.append(f"{len(duplicated)} emitted more than once ({_sample(duplicated)})")
    if problems:
        raise AssertionError(
            f"{what}: {len(got)} emitted, the sandbox has {len(want)}: " + "; ".join(problems)
        )


def assert_incremental(
    records: Iterable[Mapping[str, Any]],
    changed: Iterable[str],
    key: str = "Id",
    boundary: Iterable[str] = (),
    what: str = "incremental run",
) -> None:
    """Every changed record is there, and nothing else but the ``boundary`` records an inclusive cursor
    re-reads (duplicates allowed only for those: a client may emit a record twice across pages)."""
    got = set(ids_of(records, key))
    want = {str(c) for c in changed}
    allowed = want | {str(b) for b in boundary}
    missing = want - got
    extra = got - allowed
    problems = []
    if missing:
        problems.append(f"{len(missing)} changed record(s) missing ({_sample(missing)})")
    if extra:
        problems.append(f"{len(extra)} unchanged record(s) re-read ({_sample(extra)})")
    if problems:
        raise AssertionError(
            f"{what}: {len(got)} distinct ids, {len(want)} changed"
            + (f", {len(allowed) - len(want)} on the bookmark" if len(allowed) > len(want) else "")
            + ": "
            + "; ".join(problems)
        )


def at_bookmark(truth: Iterable[Mapping[str, Any]], cursor: str, bookmark: str, key: str = "Id") -> set[str]:
    """Ids of sandbox records whose ``cursor`` is at or after ``bookmark`` (same instant, any precision):
    what an inclusive cursor legitimately re-reads on the next run."""
    mark = instant(bookmark)
    return {str(r[key]) for r in truth if r.get(cursor) and instant(str(r[cursor])) >= mark}
