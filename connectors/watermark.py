"""A connector's watermark as a declared model, stored as JSON (as dlt declares an incremental cursor).

The protocol hands watermarks across as text (``PullBatch.watermark``, ``Connector.pull(watermark)``):
the state store keeps that text and never looks inside. A connector that reads its watermark back
declares what it holds as a subclass of :class:`Watermark`, hands ``mark.dump()`` and reads the stored
text with ``Model.load(text)``, so a stored value that is not its own (malformed, another connector
kind's, a naive time) stops the pull with a ConnectorError that says to reset it, never with a pydantic
traceback. Text stored before the connector had a model goes to its ``from_legacy`` hook.

Declare every field without a default (``int | None`` when it may be unknown): a watermark then has to
carry every key of its own kind and no other (``extra="forbid"``), so one of another kind is refused
both ways.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from connectors.answers import describe_problems
from connectors.errors import ConnectorError

W = TypeVar("W", bound="Watermark")

RESET_ADVICE = "reset it to pull everything again (partnerkpi state reset --connector NAME)"
"""What every refused watermark's message ends with: the one way to replace a stored watermark."""


class Watermark(BaseModel):
    """Base of a connector's watermark model: frozen, no extra keys, every time aware and in UTC."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    connector_kind: ClassVar[str] = "connector"
    """The CRM's name as error messages say it (``"Salesforce"``)."""

    @field_validator("*", mode="after")
    @classmethod
    def _utc(cls, value: Any) -> Any:
        """Times in UTC (one instant, one text); a naive time is refused (AwareDatetime fields refuse it
        first, this catches a subclass that declared a plain datetime)."""
        if isinstance(value, datetime):
            if value.tzinfo is None or value.utcoffset() is None:
                raise ValueError("a watermark time needs a time zone")
            return value.astimezone(timezone.utc)
        return value

    def dump(self) -> str:
        """The text to hand over as ``PullBatch.watermark``: compact JSON."""
        return self.model_dump_json()

    @classmethod
    def load(cls: type[W], text: str | None) -> W | None:
        """The stored ``text`` read back: None when there is none (a first pull), a JSON object validated
        against the model, anything else through ``from_legacy``. ConnectorError when it does not fit."""
        if text is None or not text.strip():
            return None
        try:
            if not text.lstrip().startswith("{"):
                return cls.from_legacy(text)
            return cls.model_validate_json(text)
        except ValidationError as exc:  # a legacy text that parsed into values the model refuses too
            raise cls.refused(
                text, f"is not a {cls.connector_kind} watermark ({describe_problems(exc, 'the text')})"
            ) from None

    @classmethod
    def from_legacy(cls: type[W], text: str) -> W:
        """A watermark stored before this model, in the connector's older text format. The default knows
        none: subclasses that replaced a text format override it."""
        raise cls.refused(text, "is not JSON")

    @classmethod
    def refused(cls, text: str, problem: str) -> ConnectorError:
        """The error for a stored ``text`` that cannot be read: names the connector kind, says reset."""
        return ConnectorError(f"stored {cls.connector_kind} watermark {text!r} {problem}; {RESET_ADVICE}")
