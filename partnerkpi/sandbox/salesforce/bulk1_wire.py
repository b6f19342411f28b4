"""Bulk API 1.0's wire formats: JobInfo / BatchInfo / result lists / errors as XML or JSON, request
bodies read from either, and JSON query records with dates as epoch milliseconds.

Which format answers (Bulk API Developer Guide, "Content Type Header" and the JobInfo/BatchInfo
references; seen in the clients): a request with a body is answered in the body's format (tap-salesforce
2.8.1 creates a CSV job with a JSON body and reads ``resp.json()["id"]``); a read of a job or batch is
answered in the job's format, JSON for JSON jobs and XML for XML and CSV jobs (tap-salesforce parses
batch info of its CSV jobs with ``xmltodict``; simple-salesforce 1.12 ``bulk.py`` reads ``.json()`` of its
JSON jobs). Errors follow the request's Content-Type, and a JSON error is ``{"exceptionCode",
"exceptionMessage"}`` under Content-Type ``application/json`` exactly (tap-salesforce's ``job_exists``
compares that header to the string)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import datetime, time, timezone
from typing import Any
from xml.sax.saxutils import escape

from partnerkpi.sandbox.core import Request, Response
from partnerkpi.sandbox.salesforce.query import json_converter
from partnerkpi.sandbox.salesforce.schema import FieldDef, format_datetime
from partnerkpi.sandbox.salesforce.tables import ms_of

NAMESPACE = "http://www.force.com/2009/06/asyncapi/dataload"
JSON_TYPE = "application/json"
XML_TYPE = "application/xml"


class Bulk1Error(Exception):
    """An answer in Bulk 1.0's own error body; HTTP 400 unless said (the guide's status codes: 200,
    400, 405, 415, 500; jsforce's ``isSessionExpired`` expects 400 with InvalidSessionId)."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.status = code, message, status


def wants_json(request: Request) -> bool:
    return "json" in (request.header("Content-Type") or "").lower()


def body_fields(request: Request) -> dict[str, str]:
    """The top-level fields of a JobInfo request body, JSON or XML (``<jobInfo xmlns=...>``)."""
    text = request.body.decode("utf-8", "replace").strip()
    if not text:
        return {}
    if wants_json(request) or text.startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise Bulk1Error("InvalidJob", f"Unable to parse the JSON request body: {exc.msg}") from None
        if not isinstance(data, dict):
            raise Bulk1Error("InvalidJob", "The JSON request body must be an object")
        return {k: "" if v is None else str(v) for k, v in data.items()}
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise Bulk1Error("InvalidXML", f"Unable to parse the XML request body: {exc}") from None
    return {child.tag.rpartition("}")[2]: (child.text or "").strip() for child in root}


def _xml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return escape(str(value))


def _xml_element(tag: str, fields: dict[str, Any], namespace: bool = True) -> str:
    attrs = f' xmlns="{NAMESPACE}"' if namespace else ""
    inner = "".join(f"<{k}>{_xml_value(v)}</{k}>" for k, v in fields.items() if v is not None)
    return f"<{tag}{attrs}>{inner}</{tag}>"


def xml_response(tag: str, fields: dict[str, Any], status: int = 200) -> Response:
    text = '<?xml version="1.0" encoding="UTF-8"?>' + _xml_element(tag, fields)
    return Response.text(text, status, XML_TYPE)


def json_response(payload: Any, status: int = 200) -> Response:
    return Response(status, json.dumps(payload, separators=(",", ":")).encode(), {"Content-Type": JSON_TYPE})


def info_response(tag: str, fields: dict[str, Any], as_json: bool, status: int = 200) -> Response:
    """JobInfo / BatchInfo: XML dates end in ``Z``, JSON dates in ``+0000`` (the guide's samples)."""
    if as_json:
        return json_response(fields, status)
    xml_fields = {
        k: v.replace("+0000", "Z") if k.endswith(("Date", "Modstamp")) else v for k, v in fields.items()
    }
    return xml_response(tag, xml_fields, status)


def batch_list_response(batches: list[dict[str, Any]], as_json: bool) -> Response:
    if as_json:
        return json_response({"batchInfo": batches})
    inner = "".join(
        _xml_element(
            "batchInfo",
            {k: v.replace("+0000", "Z") if k.endswith(("Date", "Modstamp")) else v for k, v in b.items()},
            namespace=False,
        )
        for b in batches
    )
    text = f'<?xml version="1.0" encoding="UTF-8"?><batchInfoList xmlns="{NAMESPACE}">{inner}</batchInfoList>'
    return Response.text(text, 200, XML_TYPE)


def result_list_response(result_ids: list[str], as_json: bool) -> Response:
    """``<result-list><result>752...</result></result-list>`` or a JSON array of result ids."""
    if as_json:
        return json_response(result_ids)
    inner = "".join(f"<result>{r}</result>" for r in result_ids)
    text = f'<?xml version="1.0" encoding="UTF-8"?><result-list xmlns="{NAMESPACE}">{inner}</result-list>'
    return Response.text(text, 200, XML_TYPE)


def error_response(request: Request, error: Bulk1Error) -> Response:
    fields = {"exceptionCode": error.code, "exceptionMessage": error.message}
    if wants_json(request):
        return json_response(fields, error.status)
    return xml_response("error", fields, error.status)


def stamp(moment: datetime) -> str:
    return format_datetime(moment)


def epoch_converter(fdef: FieldDef) -> Callable[[Any], Any]:
    """Bulk 1.0 JSON query results carry dates and datetimes as epoch milliseconds
    (simple-salesforce issue #290: ``'CreatedDate': 1546659665000``)."""
    if fdef.type == "datetime":
        return lambda v: None if v is None else ms_of(v)
    if fdef.type == "date":
        return lambda v: None if v is None else ms_of(datetime.combine(v, time(), timezone.utc))
    return json_converter(fdef)


def _xml_record(tag: str, record: dict[str, Any]) -> str:
    inner = f"<type>{escape(record['attributes']['type'])}</type>"
    for key, value in record.items():
        if key == "attributes":
            continue
        if isinstance(value, dict):
            inner += _xml_record(key, value)
        elif value is None:
            inner += f'<{key} xsi:nil="true"/>'
        else:
            inner += f"<{key}>{_xml_value(value)}</{key}>"
    return f'<{tag} xsi:type="sObject">{inner}</{tag}>'


def xml_records(records: list[dict[str, Any]]) -> str:
    """An XML job's query result: ``<queryResult><records xsi:type="sObject"><type>...`` (the guide's
    "Get Results for a Batch" sample); nulls are ``xsi:nil``, parents nest as sObjects."""
    body = "".join(_xml_record("records", r) for r in records)
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><queryResult xmlns="{NAMESPACE}" '
        f'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">{body}</queryResult>'
    )
