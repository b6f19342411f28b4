"""What crosses the seam between writeback and a connector's FieldWriter: the fields writeback needs
(``FieldSpec``, of a ``FieldKind``), the values it writes (``FieldUpdate``), and the CRM's answers
(``WriteResult``, ``ProvisionResult``)."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


class FieldKind(str, enum.Enum):
    """What kind of CRM field a KPI lands in; each connector maps it to its own field type.

    Writeback works out each value exactly in the field's unit: CURRENCY a Decimal in the reporting
    currency, PERCENT a Decimal in percentage points (63.15 for a rate of 0.6315, as a Salesforce Percent
    field holds it), NUMBER a Decimal, DATETIME an aware datetime, TEXT a str. It hands those exact values
    to ``FieldWriter.stored_values`` (where a connector whose field holds another currency converts them),
    rounds the result once, half-up, to ``FieldSpec.scale``, and writes exactly that. Connectors never
    rescale and never round.
    """

    CURRENCY = "currency"
    PERCENT = "percent"
    NUMBER = "number"
    DATETIME = "datetime"
    TEXT = "text"


class ProvisionAction(str, enum.Enum):
    CREATED = "created"
    UNCHANGED = "unchanged"
    REFUSED = "refused"


FieldValue = Decimal | float | int | str | datetime | None
"""A value written to (or read from) a CRM field; None clears the field."""


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """A custom field on the partner record that writeback needs."""

    name: str
    label: str
    kind: FieldKind
    description: str = ""
    precision: int = 18
    scale: int = 2
    length: int = 255


@dataclass(frozen=True, slots=True)
class ProvisionResult:
    field: str
    action: ProvisionAction
    message: str = ""


@dataclass(frozen=True, slots=True)
class RecordError:
    message: str
    code: str = ""
    field: str | None = None
    retryable: bool = False


@dataclass(frozen=True, slots=True)
class WriteResult:
    """The CRM's answer for one partner record of a write batch."""

    partner_id: str
    ok: bool
    errors: tuple[RecordError, ...] = ()


@dataclass(frozen=True, slots=True)
class FieldUpdate:
    partner_id: str
    values: Mapping[str, FieldValue]
