"""Every answer the HubSpot connector reads, as the pydantic model it must fit before it is believed.

hubspot-api-client deserializes leniently (a missing field becomes None, an HTML page a model of Nones),
so the connector reads each answer as raw JSON (:meth:`HubSpotClient.read`) and checks it here with
:func:`connectors.answers.parse_answer`: a field HubSpot documents and the pull relies on is required, so
``{}`` for a search page, a pipeline list or an association batch is an ``UnexpectedAnswer`` naming the
call, never "nothing changed", "unknown stage" or "no such label". Fields the pull does not use are
ignored; ids may come as numbers or strings (HubSpot's v4 associations give numbers) and are kept as text.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, RootModel, StringConstraints, model_validator

from connectors.hubspot.normalize import RawDeal, StageMeta, parse_datetime

# The calls, as the messages name them (method and path, never a query string or a token).
LIST_DEALS = "GET /crm/v3/objects/deals"
SEARCH_DEALS = "POST /crm/v3/objects/deals/search"
READ_DEALS = "POST /crm/v3/objects/deals/batch/read"
READ_COMPANIES = "POST /crm/v3/objects/companies/batch/read"
READ_ASSOCIATIONS = "POST /crm/v4/associations/deals/companies/batch/read"
ASSOCIATION_LABELS = "GET /crm/v4/associations/deals/companies/labels"
PIPELINES = "GET /crm/v3/pipelines/deals"
COMPANY_PROPERTIES = "GET /crm/v3/properties/companies"
ACCOUNT_DETAILS = "GET /account-info/v3/details"
DAILY_LIMIT = "GET /integrations/v1/limit/daily"
TOKEN_INFO = "GET /oauth/v1/access-tokens/{token}"

Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Count = Annotated[int, Field(strict=True, ge=0)]


class Answer(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, coerce_numbers_to_str=True, populate_by_name=True)


# -- paging -------------------------------------------------------------------------------------------
class NextPage(Answer):
    after: Id


class Paging(Answer):
    next: NextPage | None = None


class Paged(Answer):
    paging: Paging | None = None
    """Absent on the last page."""

    @property
    def after(self) -> str | None:
        """The cursor of the next page (None: this is the last one)."""
        return self.paging.next.after if self.paging is not None and self.paging.next is not None else None


# -- deals and companies ------------------------------------------------------------------------------
class CrmObject(Answer):
    """A deal or company (HubSpot's SimplePublicObject): its id and the properties asked for."""

    id: Id
    properties: dict[str, str | None]
    archived: bool = False
    archived_at: str | None = Field(None, alias="archivedAt")
    updated_at: str | None = Field(None, alias="updatedAt")

    def raw_deal(self) -> RawDeal:
        return RawDeal(
            id=self.id,
            properties=self.properties,
            archived=self.archived,
            archived_at=parse_datetime(self.archived_at),
            updated_at=parse_datetime(self.updated_at),
        )


class ObjectPage(Paged):
    """``GET /crm/v3/objects/{type}``: one page of the list."""

    results: list[CrmObject]


class SearchPage(ObjectPage):
    """``POST /crm/v3/objects/{type}/search``: one page, and how many objects match in all."""

    total: Count

    @model_validator(mode="after")
    def _total_covers_the_page(self) -> SearchPage:
        if self.total < len(self.results):
            raise ValueError("total is smaller than the results on the page")
        return self


class BatchRead(Answer):
    """``POST /crm/v3/objects/{type}/batch/read`` (200, or 207 with ``errors`` for ids not found)."""

    status: str
    results: list[CrmObject]


# -- associations -------------------------------------------------------------------------------------
class AssociationType(Answer):
    category: str
    type_id: int = Field(alias="typeId")
    label: str | None = None


class Associated(Answer):
    to_object_id: Id = Field(alias="toObjectId")
    association_types: list[AssociationType] = Field(alias="associationTypes")


class AssociationFrom(Answer):
    id: Id


class AssociationResult(Paged):
    source: AssociationFrom = Field(alias="from")
    to: list[Associated]


class AssociationBatch(Answer):
    """``POST /crm/v4/associations/{from}/{to}/batch/read`` (207 with ``errors`` for deals without)."""

    status: str
    results: list[AssociationResult]


class AssociationLabels(Answer):
    """``GET /crm/v4/associations/{from}/{to}/labels``."""

    results: list[AssociationType]


# -- pipelines ----------------------------------------------------------------------------------------
class StageMetadata(Answer):
    """A deal stage's metadata: HubSpot gives both as strings (``"true"``, ``"0.2"``); a deal stage
    always has a probability from 0 to 1 (HubSpot requires it when a deal stage is made: see
    developers.hubspot.com/docs/api-reference/crm-pipelines-v3/guide, "Create a pipeline")."""

    is_closed: bool = Field(alias="isClosed")
    probability: float = Field(ge=0.0, le=1.0)


class Stage(Answer):
    id: Id
    label: str
    metadata: StageMetadata

    def meta(self) -> StageMeta:
        return StageMeta(
            label=self.label.strip() or self.id,
            is_closed=self.metadata.is_closed,
            probability=self.metadata.probability,
        )


class Pipeline(Answer):
    id: Id
    stages: list[Stage]


class Pipelines(Answer):
    """``GET /crm/v3/pipelines/deals``."""

    results: list[Pipeline]

    def stages(self) -> dict[str, StageMeta]:
        """Stage id (what a deal's ``dealstage`` holds) -> its metadata."""
        return {stage.id: stage.meta() for pipeline in self.results for stage in pipeline.stages}


# -- properties, account, limits, token ---------------------------------------------------------------
class Property(Answer):
    name: Id
    type: str
    field_type: str = Field(alias="fieldType")


class Properties(Answer):
    """``GET /crm/v3/properties/{type}``."""

    results: list[Property]


class AccountDetails(Answer):
    """``GET /account-info/v3/details``: which portal the token belongs to."""

    portal_id: Annotated[int, Field(gt=0)] = Field(alias="portalId")
    time_zone: str | None = Field(None, alias="timeZone")
    company_currency: str | None = Field(None, alias="companyCurrency")


class DailyLimit(Answer):
    """One entry of ``GET /integrations/v1/limit/daily`` (a list: one per limit)."""

    name: str
    usage_limit: Count = Field(alias="usageLimit")
    current_usage: Count = Field(alias="currentUsage")


class DailyLimits(RootModel[list[DailyLimit]]):
    model_config = ConfigDict(frozen=True)

    def api_calls(self) -> DailyLimit | None:
        """The daily API call allowance (``api-calls-daily``), None when HubSpot lists no such limit."""
        return next((limit for limit in self.root if limit.name == "api-calls-daily"), None)


class TokenInfo(Answer):
    """``GET /oauth/v1/access-tokens/{token}``: the portal and scopes of an OAuth access token."""

    hub_id: Annotated[int, Field(gt=0)]
    hub_domain: str | None = None
    scopes: list[str]
