"""Pydantic's errors as config problems: each error's location is mapped back to the YAML path that was
written (dropping pydantic's union tags) and to its line; a misspelt key gets a suggestion."""

from __future__ import annotations

import difflib
import re
import types
from collections.abc import Iterator
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, RootModel, ValidationError

from partnerkpi.config.errors import PathKey, Problem, YamlPath, format_path
from partnerkpi.config.yamlsource import Document

_PREFIXES = ("Value error, ", "Assertion failed, ")
_SUGGESTION = "unknown key (did you mean "
_PATH_PREFIX = re.compile(r"((?:[A-Za-z_]\w*|\[\d+\])(?:\.[A-Za-z_]\w*|\[\d+\])*): (.+)\Z", re.S)
_PATH_PART = re.compile(r"([A-Za-z_]\w*)|\[(\d+)\]")


def written_path(data: Any, loc: tuple[PathKey, ...], missing: bool = False) -> YamlPath:
    """The part of ``loc`` that names what the YAML holds: elements that do not lead anywhere in
    ``data`` (union member tags, ``root``) are dropped, except the last key of a ``missing`` field."""
    path: list[PathKey] = []
    node = data
    for i, key in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(node, dict) and isinstance(key, str):
            if key in node:
                path.append(key)
                node = node[key]
            elif last and missing:
                path.append(key)
        elif isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
            path.append(key)
            node = node[key]
    return tuple(path)


def unwrap_type(tp: Any) -> Iterator[Any]:
    """The types a field annotation may hold (Optional, Annotated and unions opened up)."""
    origin = get_origin(tp)
    if origin is Annotated:
        yield from unwrap_type(get_args(tp)[0])
    elif origin is Union or origin is types.UnionType:
        for arg in get_args(tp):
            yield from unwrap_type(arg)
    else:
        yield tp


def _step(tp: Any, key: PathKey) -> Any | None:
    for option in unwrap_type(tp):
        origin = get_origin(option)
        if isinstance(option, type) and issubclass(option, RootModel):
            return _step(option.model_fields["root"].annotation, key)
        if isinstance(option, type) and issubclass(option, BaseModel) and isinstance(key, str):
            field = option.model_fields.get(key)
            if field is not None:
                return field.annotation
        elif origin in (list, tuple, set, frozenset) and isinstance(key, int):
            return get_args(option)[0] if get_args(option) else None
        elif origin is dict and isinstance(key, str):
            args = get_args(option)
            return args[1] if len(args) == 2 else None
    return None


def known_keys(model: type[BaseModel], path: YamlPath) -> list[str]:
    """The field names the model accepts at ``path`` (a mapping's path), when they can be told."""
    tp: Any = model
    for key in path:
        tp = _step(tp, key)
        if tp is None:
            return []
    for option in unwrap_type(tp):
        if isinstance(option, type) and issubclass(option, BaseModel) and not issubclass(option, RootModel):
            return list(option.model_fields)
    return []


def _message(error: Any, model: type[BaseModel], relative: YamlPath) -> str:
    kind = error["type"]
    if kind == "missing":
        return "field required"
    if kind == "extra_forbidden":
        key = relative[-1] if relative else ""
        close = difflib.get_close_matches(str(key), known_keys(model, relative[:-1]), n=1, cutoff=0.6)
        return f"{_SUGGESTION}{close[0]}?)" if close else "unknown key"
    text = str(error["msg"])
    for prefix in _PREFIXES:
        if text.startswith(prefix):
            text = text[len(prefix) :]
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text


def _exists(data: Any, path: YamlPath) -> bool:
    node = data
    for key in path:
        in_mapping = isinstance(node, dict) and isinstance(key, str) and key in node
        in_list = isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node)
        if not (in_mapping or in_list):
            return False
        node = node[key]
    return True


def refine(data: Any, loc: tuple[PathKey, ...], message: str) -> tuple[tuple[PathKey, ...], str]:
    """A validator's ``"targets[0].period: not one of periods"`` raised at ``kpi``: point at
    ``kpi.targets[0].period`` itself when the document has it, and keep the rest as the message."""
    match = _PATH_PREFIX.match(message)
    if not match:
        return loc, message
    inner: list[PathKey] = [name or int(index) for name, index in _PATH_PART.findall(match.group(1))]
    base = loc[:-1] if loc and inner[0] == loc[-1] else loc
    if not _exists(data, (*base, inner[0])):
        return loc, message
    return (*base, *inner), match.group(2)


def problems_from(
    exc: ValidationError, model: type[BaseModel], data: Any, prefix: YamlPath, doc: Document
) -> list[Problem]:
    """One problem per distinct error, located in the document (``data`` sits at ``prefix``)."""
    found: list[Problem] = []
    misspelt: set[YamlPath] = set()
    for error in exc.errors(include_url=False, include_input=False, include_context=False):
        loc = tuple(error["loc"])
        is_missing = error["type"] == "missing"
        message = _message(error, model, written_path(data, loc, is_missing))
        if error["type"] == "value_error":
            loc, message = refine(data, loc, message)
        relative = written_path(data, loc, is_missing)
        full = (*prefix, *relative)
        if message.startswith(_SUGGESTION):
            misspelt.add((*full[:-1], message[len(_SUGGESTION) : -2]))
        problem = Problem(format_path(full), message, doc.line_of(full))
        if problem not in found:
            found.append(problem)
    # a misspelt key is one mistake: keep "unknown key (did you mean x?)", drop "x: field required"
    meant = {format_path(path) for path in misspelt}
    return [p for p in found if not (p.message == "field required" and p.path in meant)]
