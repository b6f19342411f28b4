"""connectors.salesforce.failures.translate: a simple-salesforce error becomes the connector error that names it."""

from __future__ import annotations

from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceRefusedRequest

from connectors.errors import BudgetExhausted
from connectors.salesforce.failures import translate
from tests.connectors.salesforce_samples import error


def test_request_limit_becomes_budget_exhausted() -> None:
    exc = error(
        SalesforceRefusedRequest,
        403,
        [{"errorCode": "REQUEST_LIMIT_EXCEEDED", "message": "TotalRequests Limit exceeded."}],
    )
    assert isinstance(translate(exc, "reading"), BudgetExhausted)
    other = translate(
        error(SalesforceMalformedRequest, 400, [{"errorCode": "INVALID_FIELD", "message": "No such column"}]),
        "reading X",
    )
    assert "INVALID_FIELD" in str(other) and "reading X" in str(other) and "No such column" in str(other)
