"""Connector classes by type name: the built-ins plus the entry-point group ``partnerkpi.connectors``."""

from __future__ import annotations

from functools import cache
from importlib import import_module
from importlib.metadata import entry_points
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
