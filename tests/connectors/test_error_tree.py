"""The connector errors' tree (connectors/errors.py): what went wrong is in the type, retryable or not is
in the type, and the exit code is decided once, at the application's edge (partnerkpi/exit_codes.py)."""

from __future__ import annotations

import inspect

import pytest

import connectors.errors as errors
from connectors.errors import (
    AuthError,
    BudgetExhausted,
    ConnectionFailed,
    ConnectorError,
    ProvisionError,
    UnexpectedAnswer,
)
from connectors.salesforce.auth import LoginUnavailable
from partnerkpi.exit_codes import ExitCode, exit_code_of

ALL = (AuthError, BudgetExhausted, ConnectionFailed, ConnectorError, ProvisionError, UnexpectedAnswer)


def test_a_connection_failure_is_not_a_refused_password() -> None:
    assert not issubclass(ConnectionFailed, AuthError)
    assert not issubclass(UnexpectedAnswer, AuthError)
    assert not issubclass(AuthError, ConnectionFailed)


def test_both_are_connection_class_exit_3_by_the_one_table() -> None:
    assert exit_code_of(AuthError("refused")) is ExitCode.CONNECTION
    assert exit_code_of(ConnectionFailed("cannot resolve crm.example")) is ExitCode.CONNECTION
    assert exit_code_of(LoginUnavailable("login down")) is ExitCode.CONNECTION


@pytest.mark.parametrize(
    ("kind", "retryable"),
    [
        (ConnectorError, False),
        (AuthError, False),
        (ConnectionFailed, True),
        (UnexpectedAnswer, True),
        (LoginUnavailable, True),
        (BudgetExhausted, False),
        (ProvisionError, False),
    ],
)
def test_retryable_or_not_is_in_the_type(kind: type[ConnectorError], retryable: bool) -> None:
    assert kind.retryable is retryable


def test_connector_errors_carry_no_exit_code() -> None:
    for kind in ALL:
        assert not hasattr(kind, "exit_code"), kind


def test_the_module_docstring_draws_every_error_of_the_tree() -> None:
    doc = inspect.getdoc(errors) or ""
    for kind in ALL:
        assert kind.__name__ in doc, kind
    assert "├── ConnectionFailed" in doc and "└── UnexpectedAnswer" in doc
