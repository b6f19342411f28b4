"""The connector protocol: the seam that makes CRMs pluggable (docs/connectors.md).

A connector is a class registered under a name (``type`` in the YAML), with its own pydantic config
model. Every connector is a source (check, pull); one that can write KPI fields back is also a
``FieldWriter`` (read fields, write fields, stored values, provision fields).
"""

from __future__ import annotations

import abc
import dataclasses
import enum
import typing
from collections.abc import Generator, Iterator, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationInfo

from connectors.errors import ConnectorError
from connectors.fields import FieldSpec, FieldUpdate, FieldValue, ProvisionResult, WriteResult
from connectors.watermark import Watermark
from kpi_core.schema import Opportunity, Partner

if TYPE_CHECKING:
    from typing_extensions import Self  # typing.Self from Python 3.11; the project runs on 3.10 too


def resolve_config_path(value: Path, info: ValidationInfo) -> Path:
    """A path from the YAML: ``~`` expanded, a relative one taken from the config file's directory (the
    loader passes it as the validation context ``config_dir``; without it, the working directory)."""
    value = value.expanduser()
    base = info.context.get("config_dir") if isinstance(info.context, dict) else None
    if not value.is_absolute() and isinstance(base, Path):
        value = base / value
    return value


def existing_ca_bundle(value: Path | None, info: ValidationInfo) -> Path | None:
    """A ``ca_bundle`` setting: resolved, and a file that exists (a typo must not fall back to other CAs)."""
    if value is None:
        return None
    path = resolve_config_path(value, info)
    if not path.is_file():
        raise ValueError(f"CA bundle {path} does not exist")
    return path


class ConnectorConfig(BaseModel):
    """Base of every connector's config model. Subclasses add their own fields; extra keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    type: str


@dataclass(frozen=True, slots=True)
class PullBatch:
    """A slice of a pull. ``watermark`` is safe to persist once this batch (and all before it) is stored:
    it never passes data that has not been handed over."""

    opportunities: Sequence[Opportunity] = ()
    partners: Sequence[Partner] = ()
    deleted_opportunity_ids: Sequence[str] = ()
    watermark: str | None = None
    expected: int | None = None
    """How many opportunities the whole pull will hand over, when the source knows it before reading
    them (Salesforce's COUNT(), HubSpot's live-deal count on a first pull; on the first page's batch); the progress bar's total. A hint, never a
    check."""


def with_expected(batches: Generator[PullBatch, None, None], expected: int | None) -> Iterator[PullBatch]:
    """``batches`` with ``expected`` (the pull's total, when the source knows it) on the first one; the
    pages behind ``batches`` are closed when the pull is (``yield from`` passes the close on)."""
    with closing(batches):
        for number, batch in enumerate(batches):
            yield dataclasses.replace(batch, expected=expected) if number == 0 else batch


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One line of ``partnerkpi check``: what was checked, how it went, what to do about it."""

    name: str
    status: CheckStatus
    message: str
    error: ConnectorError | None = None
    """For a failure an error caused (credentials refused, the CRM unreachable): the error, so that
    ``partnerkpi check`` exits with the code ``sync`` would (partnerkpi/exit_codes.py); None is 1
    (something to fix)."""


@dataclass
class ConnectorStats:
    """Counters a connector keeps for the run history."""

    api_calls: int = 0
    retries: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


class CheckStatus(str, enum.Enum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


C = TypeVar("C", bound=ConnectorConfig)


class Connector(abc.ABC, Generic[C]):
    """Base class of every connector: a source (check, pull). A connector that can also write KPI fields
    back mixes in ``FieldWriter``; one that does not is read-only, and the config refuses a writeback
    section for it.

    A subclass declares its config model as the type argument (``Connector[MyConfig]``); ``config_model``
    and ``type_name`` (the ``type: Literal[...]`` of that model, what users write as ``type:``) derive
    from it unless the class sets them."""

    type_name: ClassVar[str]
    config_model: ClassVar[type[ConnectorConfig]]
    watermark_model: ClassVar[type[Watermark] | None] = None
    """The model of the watermarks this connector hands and reads back (connectors/watermark.py); None:
    an opaque text of its own, or none."""
    full_refresh: ClassVar[bool] = False
    """True when every pull is the whole data set (a file export): whatever it does not yield is deleted."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "config_model" not in cls.__dict__:
            model = _declared_config_model(cls)
            if model is not None:
                cls.config_model = model
        if "type_name" not in cls.__dict__ and "config_model" in cls.__dict__:
            name = _literal_type_name(cls.config_model)
            if name is not None:
                cls.type_name = name

    def __init__(self, config: C) -> None:
        self.config = config
        self.stats = ConnectorStats()

    @property
    def name(self) -> str:
        return self.config.name

    @abc.abstractmethod
    def check(self, specs: Sequence[FieldSpec] = ()) -> list[CheckResult]:
        """Credentials, permissions, the fields of ``specs`` (the writeback's mapped fields: present with a
        compatible type?) and API budget, each as a line an ops engineer can act on."""

    @abc.abstractmethod
    def pull(self, watermark: str | None) -> Iterator[PullBatch]:
        """Changes since ``watermark`` (None: everything), normalized, in batches."""

    def instance_id(self) -> str | None:
        """The CRM instance this connector reaches, as the CRM itself names it (Salesforce org id,
        HubSpot portal id, the file's resolved path): the state keeps one instance per connector name and
        refuses a pull from another. None (the default): not tracked."""
        return None

    def close(self) -> None:
        """Release connections."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class FieldWriter(abc.ABC):
    """The optional capability of a connector to write KPI fields on partner records (writeback):
    ``class MyConnector(Connector[MyConfig], FieldWriter)``."""

    @abc.abstractmethod
    def read_fields(
        self, partner_ids: Sequence[str], fields: Sequence[str]
    ) -> dict[str, dict[str, FieldValue]]:
        """Current values of ``fields`` on the given partner records (for verify_live plans)."""

    @abc.abstractmethod
    def write_fields(
        self, updates: Sequence[FieldUpdate], specs: Mapping[str, FieldSpec]
    ) -> list[WriteResult]:
        """Write values in as few calls as the CRM allows; one result per update, never raising for a
        record-level failure. Values arrive as the CRM will hold them (stored_values, then rounded): write
        them as they are. Refuse the whole call (raise) when a target is not one of the fields the
        connector found on the CRM with the expected type."""

    def stored_values(
        self, updates: Sequence[FieldUpdate], specs: Mapping[str, FieldSpec]
    ) -> dict[str, dict[str, FieldValue]]:
        """The values as the CRM will hold them, from writeback's exact values (e.g. converted into a
        record's own currency), not rounded: writeback rounds the result once, then plans, writes and
        records it, so live values read back compare with what we wrote. Default: unchanged."""
        return {u.partner_id: dict(u.values) for u in updates}

    @abc.abstractmethod
    def provision_fields(self, specs: Sequence[FieldSpec]) -> list[ProvisionResult]:
        """Create the fields that are missing; leave matching ones alone; refuse incompatible ones."""


def writes_fields(connector_class: type[Connector[Any]]) -> bool:
    """Whether connectors of this class can be a writeback's target."""
    return issubclass(connector_class, FieldWriter)


def _declared_config_model(cls: type) -> type[ConnectorConfig] | None:
    """The config model a class names as ``Connector[Model]``, if it names one."""
    for base in getattr(cls, "__orig_bases__", ()):
        if typing.get_origin(base) is Connector:
            (argument,) = typing.get_args(base)
            if isinstance(argument, type) and issubclass(argument, ConnectorConfig):
                return argument
    return None


def _literal_type_name(model: type[ConnectorConfig]) -> str | None:
    """The one value of the model's ``type: Literal["..."]``, if it declares one."""
    annotation = model.model_fields["type"].annotation
    values = typing.get_args(annotation) if typing.get_origin(annotation) is Literal else ()
    return values[0] if len(values) == 1 and isinstance(values[0], str) else None
