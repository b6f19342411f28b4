"""Every API answer is checked before it is believed: one function that reads a decoded answer into its
pydantic model, and says what did not fit without repeating any value of the answer (which may hold
customer data or, in an echoed request, a secret)."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from connectors.errors import UnexpectedAnswer

M = TypeVar("M", bound=BaseModel)

_MAX_PROBLEMS = 3


def parse_answer(model: type[M], payload: Any, call: str) -> M:
    """``payload`` (decoded JSON) as ``model``; UnexpectedAnswer naming ``call`` and the first problems."""
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise UnexpectedAnswer(call, describe_problems(exc)) from None


def parse_json_answer(model: type[M], body: bytes | str, call: str) -> M:
    """A raw body as ``model``: a body that is not JSON (an HTML page, a cut-off answer) is
    UnexpectedAnswer too."""
    return parse_answer(model, decode_json(body, call), call)


def decode_json(body: bytes | str, call: str) -> Any:
    """``body`` decoded as JSON, or UnexpectedAnswer saying what it looked like instead."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        return json.loads(text)
    except ValueError:
        raise UnexpectedAnswer(call, f"the body is not JSON ({looks_like(text)})") from None


def looks_like(text: str) -> str:
    """What a non-JSON body looks like, in words (never its content)."""
    head = text.lstrip()[:15].lower()
    if not head:
        return "empty"
    if head.startswith(("<!doctype html", "<html")):
        return "an HTML page"
    if head.startswith("<"):
        return "XML or HTML"
    if head[0] in "{[":
        return f"JSON cut short after {len(text)} characters"
    return f"{len(text)} characters of text"


def describe_problems(exc: ValidationError, whole: str = "the answer") -> str:
    """Pydantic's errors as ``field path: message`` parts, without the input values; ``whole`` names a
    problem of the whole input (no field path)."""
    parts = []
    for error in exc.errors(include_input=False, include_url=False)[:_MAX_PROBLEMS]:
        where = ".".join(str(p) for p in error["loc"]) or whole
        message = error["msg"]
        parts.append(f"{where}: {message[:1].lower()}{message[1:]}")  # field names inside keep their case
    more = exc.error_count() - _MAX_PROBLEMS
    if more > 0:
        parts.append(f"{more} more problem(s)")
    return "; ".join(parts)
