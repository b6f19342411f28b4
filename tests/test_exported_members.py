"""Each package's public surface is its ``__all__`` (as httpx's tests/test_exported_members.py guards
httpx's; kpi_core's is tests/kpi_core/test_exported_members.py): the names are listed here by hand, so a
name leaving or joining a package's surface fails a test until this list says so too."""

from __future__ import annotations

import importlib
import types

import pytest

EXPORTED: dict[str, list[str]] = {
    "connectors": [
        "AuthError",
        "BudgetExhausted",
        "CheckResult",
        "CheckStatus",
        "ConnectionFailed",
        "Connector",
        "ConnectorConfig",
        "ConnectorError",
        "FieldKind",
        "FieldSpec",
        "FieldUpdate",
        "FieldValue",
        "FieldWriter",
        "ProvisionAction",
        "ProvisionError",
        "ProvisionResult",
        "PullBatch",
        "RecordError",
        "UnexpectedAnswer",
        "WriteResult",
    ],
    "writeback": [
        "ApplyOutcome",
        "ConnectorWriteback",
        "FieldChange",
        "FieldMapping",
        "MassChange",
        "MassChangeGuard",
        "Plan",
        "Reason",
        "WriteFailure",
        "WritebackConfig",
        "apply_plan",
        "canonical",
        "desired_values",
        "make_plan",
        "mass_change",
    ],
    "partnerkpi": ["__version__"],  # the application: its modules are its surface, the package exports none
}


@pytest.mark.parametrize("package", sorted(EXPORTED))
def test_the_package_exports_exactly_the_listed_names(package: str) -> None:
    assert importlib.import_module(package).__all__ == EXPORTED[package]


@pytest.mark.parametrize("package", sorted(EXPORTED))
def test_every_public_name_of_the_package_is_in_all_and_every_name_in_all_exists(package: str) -> None:
    module = importlib.import_module(package)
    public = {
        name
        for name, member in vars(module).items()
        if not name.startswith("_") and not isinstance(member, types.ModuleType)
    }
    assert public == {name for name in module.__all__ if not name.startswith("__")}
    assert all(hasattr(module, name) for name in module.__all__)
