"""Secrets out of every text we emit: log lines, error messages, the run history, alerts.

Secrets are SecretStr everywhere; this is the second line of defence. Every secret value the config
holds is registered here (at config load) and replaced by MASK wherever it shows up, raw or in the
escaped forms an echo gives it: inside a JSON body or a Python repr (quotes, backslashes, newlines,
non-ASCII as ``\\uXXXX``), as bytes (``b'...'``, ``\\xNN``), percent-encoded in a URL or a form (either
hex case, ``+`` for a space), HTML-escaped, and those nested two deep (JSON inside a repr, a URL inside
JSON). Matching is by plain substring, so a secret full of regex metacharacters is just text.

A value shorter than MIN_LENGTH characters is not masked: replacing every ``abc`` in every line would
garble the output and the positions of the masks would give the secret away; the config loader warns
about such a secret instead. Each line of a multi-line secret (a PEM key) is registered as well."""

from __future__ import annotations

import html
import json
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import quote, quote_plus

from pydantic import BaseModel, SecretStr

MASK = "**********"
MIN_LENGTH = 4

_lock = threading.Lock()
_secrets: set[str] = set()
_forms: tuple[str, ...] = ()
"""Every registered secret in every form, longest first (so a longer form is masked whole)."""

_URL_SAFE_SETS = ("", "/", "~", "/:@!$&'()*+,;=~", "!$&'()*+,;=:@/?~")
"""Characters left unescaped by the encoders a secret may pass through: urllib's quote (with its
default "/" and with nothing), requests' form and query encoding, httpx's query (RFC 3986 sub-delims)."""


def _url_forms(text: str) -> set[str]:
    forms = {quote(text, safe=safe) for safe in _URL_SAFE_SETS} | {quote_plus(text, safe="~")}
    return forms | {_lower_hex(f) for f in forms}


def _lower_hex(encoded: str) -> str:
    parts = encoded.split("%")
    return parts[0] + "".join(p[:2].lower() + p[2:] for p in parts[1:])


_ENCODERS: tuple[Callable[[str], Iterable[str]], ...] = (
    lambda s: (json.dumps(s)[1:-1], json.dumps(s, ensure_ascii=False)[1:-1]),
    lambda s: (repr(s)[1:-1], repr(s + "'")[1:-2], repr(s + '"')[1:-2]),  # either quote style
    lambda s: (repr(s.encode("utf-8"))[2:-1], s.encode("unicode_escape").decode("ascii")),
    _url_forms,
    lambda s: (html.escape(s), html.escape(s, quote=False)),
)


def forms_of(secret: str) -> set[str]:
    """The texts an echo of ``secret`` may show: itself and its escaped forms, nested two deep."""
    first = {secret} | {form for encode in _ENCODERS for form in encode(secret)}
    second = {form for f in first for encode in _ENCODERS for form in encode(f)}
    return {f for f in first | second if len(f) >= MIN_LENGTH}


def register_secrets(values: Iterable[str]) -> None:
    """Mask these values (and their escaped forms) from now on; short or empty ones are skipped."""
    fresh: set[str] = set()
    for value in values:
        parts = [value, *(line.strip() for line in value.splitlines())] if "\n" in value else [value]
        fresh.update(p for p in parts if len(p) >= MIN_LENGTH)
    with _lock:
        fresh -= _secrets
        if not fresh:
            return
        global _forms
        _secrets.update(fresh)
        new_forms = {form for secret in fresh for form in forms_of(secret)}
        _forms = tuple(sorted(set(_forms) | new_forms, key=len, reverse=True))


def redact(text: str) -> str:
    """``text`` with every registered secret, in any of its forms, replaced by MASK."""
    forms = _forms
    for form in forms:
        if form in text:
            text = text.replace(form, MASK)
    return text


def secrets_of(model: Any) -> Iterator[str]:
    """Every SecretStr value in a config tree (pydantic models, lists, tuples, dicts)."""
    if isinstance(model, SecretStr):
        yield model.get_secret_value()
    elif isinstance(model, BaseModel):
        for name in type(model).model_fields:
            yield from secrets_of(getattr(model, name))
    elif isinstance(model, (list, tuple)):
        for item in model:
            yield from secrets_of(item)
    elif isinstance(model, dict):
        for item in model.values():
            yield from secrets_of(item)
