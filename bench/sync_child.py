"""One ``partnerkpi sync`` of one connector in its own process, timed stage by stage.

Run by the benchmarks as ``python -m bench.sync_child --config C --connector N --out R.json``. It runs
``partnerkpi.pipeline.sync_connector`` (what ``partnerkpi sync`` runs) and splits the wall time by
wrapping, in this process only, the functions the pipeline calls:

- pull: time spent inside the connector's ``pull()`` iterator (HTTP, JSON/CSV parsing, normalizing);
- mirror: ``StateStore.apply_pull_batch`` (writing the batches into the state store);
- compute: ``compute_kpis`` (reading the mirror back and computing); snapshot: ``save_snapshot``;
- plan: ``plan_writeback``; apply: ``apply_plan`` (the write calls).

Its peak RSS is this process's high-water mark (``ru_maxrss``): the sandbox runs in another process.
Baselines: ``--full-refresh`` hands the connector no watermark (every deal every run, as full-refresh
tools do); ``--per-record-writes`` replaces the connector's batched write with one update call per
partner record (``sf.Account.update(id, values)`` / HubSpot's ``basic_api.update``).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from connectors.base import Connector, PullBatch
from connectors.fields import FieldSpec, FieldUpdate, RecordError, WriteResult
from partnerkpi import pipeline
from partnerkpi.config import load_config
from partnerkpi.state import StateStore

T = TypeVar("T")
STAGES = ("pull", "mirror", "compute", "snapshot", "plan", "apply")


class StageClock:
    def __init__(self) -> None:
        self.seconds = dict.fromkeys(STAGES, 0.0)

    def timed(self, stage: str, fn: Callable[..., T]) -> Callable[..., T]:
        def run(*args: Any, **kwargs: Any) -> T:
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[stage] += time.perf_counter() - start

        return run

    def pull(self, batches: Iterator[PullBatch]) -> Iterator[PullBatch]:
        while True:
            start = time.perf_counter()
            try:
                batch = next(batches)
            except StopIteration:
                self.seconds["pull"] += time.perf_counter() - start
                return
            self.seconds["pull"] += time.perf_counter() - start
            yield batch


def per_record_write(connector: Connector[Any]) -> Callable[..., list[WriteResult]]:
    """The naive writer other tools use: one update call per partner record, all fields at once."""

    def write(updates: Sequence[FieldUpdate], specs: Mapping[str, FieldSpec]) -> list[WriteResult]:
        results = []
        for update in updates:
            try:
                if connector.type_name == "salesforce":
                    values = {k: _plain(v) for k, v in update.values.items()}
                    client: Any = getattr(connector, "client")  # noqa: B009
                    client.call(
                        "per-record update", lambda sf, u=update, v=values: sf.Account.update(u.partner_id, v)
                    )
                else:
                    _hubspot_update(connector, update.partner_id, update.values, specs)
                results.append(WriteResult(update.partner_id, True))
            except Exception as exc:
                results.append(WriteResult(update.partner_id, False, (RecordError(str(exc)[:200], "ERROR"),)))
        return results

    return write


def _plain(value: Any) -> Any:
    from connectors.salesforce.write import json_value

    return json_value(value)


def _hubspot_update(
    connector: Any, company_id: str, values: Mapping[str, Any], specs: Mapping[str, FieldSpec]
) -> None:
    """One company per call (a batch update of one: the connector's client has no single-record API)."""
    from hubspot.crm.companies import BatchInputSimplePublicObjectBatchInput, SimplePublicObjectBatchInput

    from connectors.hubspot.write import format_value

    client = connector.client
    props = {k: format_value(v, specs.get(k)) for k, v in values.items()}
    body = BatchInputSimplePublicObjectBatchInput(
        inputs=[SimplePublicObjectBatchInput(id=company_id, properties=props)]
    )
    client.call(lambda: client.apis.companies_batch.update(body))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--connector", required=True)
    parser.add_argument("--as-of", default="2026-10-31")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--profile", type=Path, help="save a pyinstrument profile (text) here")
    parser.add_argument("--full-refresh", action="store_true")
    parser.add_argument("--per-record-writes", action="store_true")
    args = parser.parse_args(argv)

    clock = StageClock()
    opened = pipeline.open_connector

    def open_connector(config: Any) -> Connector[Any]:
        connector = opened(config)
        pull = connector.pull
        connector.pull = lambda watermark: clock.pull(pull(None if args.full_refresh else watermark))  # type: ignore[method-assign]
        if args.per_record_writes:
            connector.write_fields = per_record_write(connector)  # type: ignore[method-assign]
        return connector

    pipeline.open_connector = open_connector
    pipeline.compute_kpis = clock.timed("compute", pipeline.compute_kpis)
    pipeline.save_snapshot = clock.timed("snapshot", pipeline.save_snapshot)
    pipeline.plan_writeback = clock.timed("plan", pipeline.plan_writeback)
    setattr(pipeline, "apply_plan", clock.timed("apply", getattr(pipeline, "apply_plan")))  # noqa: B010, B009
    StateStore.apply_pull_batch = clock.timed("mirror", StateStore.apply_pull_batch)  # type: ignore[method-assign]

    cfg = load_config(args.config)
    store = StateStore.open(cfg.state.url)
    profiler: Any = None
    if args.profile is not None:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.005)
        profiler.start()
    start = time.perf_counter()
    run = pipeline.sync_connector(
        cfg, store, args.connector, pipeline_progress(), as_of=date.fromisoformat(args.as_of)
    )
    seconds = time.perf_counter() - start
    if profiler is not None:
        profiler.stop()
        args.profile.write_text(
            profiler.output_text(unicode=True, color=False, show_all=False), encoding="utf-8"
        )
    accounted = sum(clock.seconds.values())
    result = {
        "status": run.status,
        "message": run.message + (f" first failure: {run.failures[0]}" if run.failures else ""),
        "seconds": round(seconds, 3),
        "stages": {k: round(v, 3) for k, v in clock.seconds.items()}
        | {"other": round(seconds - accounted, 3)},
        "counts": run.counts,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0 if run.status == "ok" else 1


def pipeline_progress() -> Any:
    from bench.harness import quiet

    return quiet()


if __name__ == "__main__":
    sys.exit(main())
