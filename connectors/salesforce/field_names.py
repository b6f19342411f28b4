"""Which Salesforce field names partnerkpi may write: its own custom fields on the partner Account, never a
standard field (Name, OwnerId, Phone, ...) and never another package's field.

The rules, from Salesforce's Object Reference ("Custom Fields": a custom field's API name ends in two
underscores and a ``c``, as in ``Hire_Date__c``) and its naming rules for API names (begins with a
letter; letters, digits and single underscores; no trailing underscore; at most 40 characters before the
suffix). API names are case-insensitive: ``PK_Score__c`` and ``pk_score__C`` are one field.

Plain functions on strings, importable by the connector (write time) and by the config (load time)."""

from __future__ import annotations

import re

CUSTOM_SUFFIX = "__c"
MAX_NAME_LENGTH = 40
"""Characters of a custom field's name before ``__c`` (Salesforce's limit for a field name)."""

_PART = r"[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*"
_NAME = re.compile(_PART)
_NAMESPACED = re.compile(f"{_PART}__{_PART}")
"""``namespace__Name``: a managed package's field (the namespace prefix and two underscores)."""


def field_key(name: str) -> str:
    """How Salesforce compares API names: case-insensitively."""
    return name.casefold()


def is_custom_field(name: str) -> bool:
    """True for a custom field's API name (``..__c``, in any case)."""
    return field_key(name).endswith(CUSTOM_SUFFIX) and len(name) > len(CUSTOM_SUFFIX)


def writeback_field_problem(name: str) -> str | None:
    """Why partnerkpi must not write the Account field ``name``, or None when it is a valid name of a
    custom field of the org's own (no namespace prefix)."""
    if not is_custom_field(name):
        return (
            f"{name!r} is not a custom field: partnerkpi writes only custom fields, whose API names end "
            f"in {CUSTOM_SUFFIX} (e.g. PK_{_stem(name)}{CUSTOM_SUFFIX}); standard fields such as Name, "
            "OwnerId or Phone are never written"
        )
    stem = name[: -len(CUSTOM_SUFFIX)]
    if _NAMESPACED.fullmatch(stem):
        prefix = stem.split("__", 1)[0]
        return (
            f"{name!r} belongs to the managed package with namespace {prefix!r}: partnerkpi writes only "
            "its own custom fields (no namespace prefix)"
        )
    if not _NAME.fullmatch(stem):
        return (
            f"{name!r} is not a valid Salesforce API name: it must begin with a letter and hold only "
            "letters, digits and single underscores, with no underscore before __c"
        )
    if len(stem) > MAX_NAME_LENGTH:
        return (
            f"{name!r} is too long: a custom field's name has at most {MAX_NAME_LENGTH} characters before __c"
        )
    return None


def _stem(name: str) -> str:
    """A custom-field-looking suggestion for a standard name: ``Phone`` -> ``Phone``."""
    cleaned = re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_")
    return cleaned if cleaned and cleaned[0].isalpha() else "Score"
