"""What a client is told to read and where it wrote: Singer catalogs with streams selected, Airbyte
configured catalogs, dlt pipeline programs over the verified sources and the jsonl files they load."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.conformance.harness import ClientRun, Conformance


def select_singer_streams(
    catalog: dict[str, Any], streams: Iterable[str], **top_metadata: Any
) -> dict[str, Any]:
    """The catalog with ``streams`` (tap_stream_id) selected, as a user ticks them in a Singer UI: the
    stream's top-level metadata gets ``selected: true`` plus ``top_metadata`` (keyword names with ``_``
    for ``-``: ``replication_method="INCREMENTAL", replication_key="SystemModstamp"``); fields follow
    the tap's own defaults; every other stream is left out of the catalog."""
    extra = {k.replace("_", "-"): v for k, v in top_metadata.items()}
    wanted = set(streams)
    chosen = [s for s in catalog["streams"] if s["tap_stream_id"] in wanted]
    missing = wanted - {s["tap_stream_id"] for s in chosen}
    if missing:
        raise AssertionError(f"discover offered no stream(s) {sorted(missing)}")
    for stream in chosen:
        for entry in stream.get("metadata", []):
            if entry.get("breadcrumb") == []:
                entry["metadata"].update({"selected": True, **extra})
                break
        else:
            stream.setdefault("metadata", []).append(
                {"breadcrumb": [], "metadata": {"selected": True, **extra}}
            )
    return {**catalog, "streams": chosen}


def airbyte_configured_catalog(
    catalog: dict[str, Any], streams: Iterable[str], sync_mode: str = "incremental"
) -> dict[str, Any]:
    """A ConfiguredAirbyteCatalog for ``streams`` of a discovered catalog: ``sync_mode`` where the stream
    supports it (else full_refresh), the source's default cursor, destination_sync_mode append."""
    wanted = set(streams)
    chosen = [s for s in catalog["streams"] if s["name"] in wanted]
    missing = wanted - {s["name"] for s in chosen}
    if missing:
        raise AssertionError(f"discover offered no stream(s) {sorted(missing)}")
    configured = []
    for stream in chosen:
        mode = sync_mode if sync_mode in stream.get("supported_sync_modes", []) else "full_refresh"
        entry: dict[str, Any] = {"stream": stream, "sync_mode": mode, "destination_sync_mode": "append"}
        if mode == "incremental" and stream.get("default_cursor_field"):
            entry["cursor_field"] = stream["default_cursor_field"]
        if stream.get("source_defined_primary_key"):
            entry["primary_key"] = stream["source_defined_primary_key"]
        configured.append(entry)
    return {"streams": configured}


DLT_PROGRAM = """
import json, sys
sys.path.insert(0, {sources!r})
import dlt

pipeline = dlt.pipeline(
    pipeline_name="conformance",
    destination=dlt.destinations.filesystem(bucket_url={out!r}),
    dataset_name="crm",
    pipelines_dir={pipelines!r},
)


def report(info):
    print(json.dumps({{"type": "DLT_LOAD", "load_ids": list(info.loads_ids)}}), flush=True)

"""


def dlt_program(run: Conformance, body: str) -> str:
    """A dlt pipeline program: the verified sources importable (``from hubspot import hubspot``,
    ``from salesforce import salesforce_source``), ``pipeline`` loading into a filesystem destination
    (jsonl, ``run.root / "dlt-out"``), state kept in ``run.root / "dlt-pipelines"`` so the same program
    run again is the incremental run. ``body`` runs the pipeline and calls ``report(info)``."""
    head = DLT_PROGRAM.format(
        sources=str(dlt_sources_dir()),
        out=str(run.root / "dlt-out"),
        pipelines=str(run.root / "dlt-pipelines"),
    )
    return head + body


def dlt_loads(result: ClientRun) -> list[str]:
    """The load ids a dlt program reported (``report(info)``)."""
    ids = [i for m in result.messages if m.get("type") == "DLT_LOAD" for i in m["load_ids"]]
    if not ids:
        raise AssertionError(f"the dlt program reported no load: {result.stderr[-2000:]}")
    return ids


def dlt_sources_dir() -> Path:
    """dlt's verified sources (``sources/hubspot``, ``sources/salesforce`` of dlt-hub/verified-sources):
    ``PARTNERKPI_DLT_SOURCES`` when set (another checkout), else the copy vendored unmodified in
    ``tests/conformance/vendor/dlt-verified-sources`` (Apache-2.0, its LICENSE.txt beside it). They are not
    on PyPI, and ``dlt init`` copies them from GitHub, which a test may not reach (docs/sandbox.md)."""
    chosen = os.environ.get("PARTNERKPI_DLT_SOURCES", "")
    candidate = Path(chosen) if chosen else VENDORED_DLT_SOURCES
    if not ((candidate / "hubspot" / "__init__.py").exists() and (candidate / "salesforce").is_dir()):
        raise AssertionError(f"dlt's verified sources are not in {candidate} (PARTNERKPI_DLT_SOURCES)")
    return candidate


VENDORED_DLT_SOURCES = Path(__file__).resolve().parent / "vendor" / "dlt-verified-sources" / "sources"


def read_jsonl(directory: Path, table: str, load_ids: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """Rows dlt's filesystem destination wrote for ``table`` (``<dataset>/<table>/<load_id>.*.jsonl[.gz]``),
    only those of ``load_ids`` when given (one run's loads)."""
    import gzip

    loads = set(load_ids) if load_ids is not None else None
    rows: list[dict[str, Any]] = []
    for path in sorted(directory.rglob("*")):
        if path.parent.name != table or not path.is_file():
            continue
        if loads is not None and not any(path.name.startswith(f"{load}.") for load in loads):
            continue
        if path.name.endswith(".jsonl.gz") or path.name.endswith(".jsonl"):
            opener = gzip.open if path.name.endswith(".gz") else open
            with opener(path, "rt", encoding="utf-8") as handle:  # type: ignore[operator]
                rows.extend(json.loads(line) for line in handle if line.strip())
    return rows
