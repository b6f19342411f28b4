"""Connector classes by type name: the built-ins plus the entry-point group ``partnerkpi.connectors``."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import import_module
from importlib.metadata import PackageNotFoundError, entry_points, version
from typing import Any

from connectors.base import Connector

ENTRY_POINT_GROUP = "partnerkpi.connectors"

_BUILTINS = {
    "file": "connectors.file:FileConnector",
    "salesforce": "connectors.salesforce:SalesforceConnector",
    "hubspot": "connectors.hubspot:HubSpotConnector",
}


class UnknownConnectorType(KeyError):
    def __str__(self) -> str:
        return f"unknown connector type {self.args[0]!r} (known: {', '.join(sorted(available()))})"


def _load(target: str) -> type[Connector[Any]]:
    module_name, _, attr = target.partition(":")
    cls = getattr(import_module(module_name), attr)
    if not (isinstance(cls, type) and issubclass(cls, Connector)):
        raise TypeError(f"{target} is not a Connector subclass")
    return cls


@cache
def available() -> dict[str, str]:
    """Type name -> import target, built-ins first; an entry point may not shadow a built-in."""
    found = dict(_BUILTINS)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(ep.name, ep.value)
    return found


def get(type_name: str) -> type[Connector[Any]]:
    try:
        target = available()[type_name]
    except KeyError:
        raise UnknownConnectorType(type_name) from None
    return _load(target)


@dataclass(frozen=True, slots=True)
class InstalledType:
    """A connector type this installation can run: where it comes from, and that package's version."""

    type_name: str
    target: str
    package: str
    version: str
    builtin: bool


def _version_of(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "unknown"


def installed() -> list[InstalledType]:
    """Every connector type, built-ins first (from partnerkpi itself), then the entry-point plugins by
    name, each with its distribution's version; a plugin that reuses a built-in's name is not listed (it
    is never used)."""
    own = _version_of("partnerkpi")
    found = [InstalledType(name, target, "partnerkpi", own, True) for name, target in _BUILTINS.items()]
    plugins = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name not in _BUILTINS]
    for ep in sorted(plugins, key=lambda ep: ep.name):
        package = ep.dist.name if ep.dist is not None else "unknown"
        found.append(InstalledType(ep.name, ep.value, package, _version_of(package), False))
    return found
