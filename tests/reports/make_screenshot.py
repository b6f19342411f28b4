"""Regenerate docs/img/scorecard.png: the HTML report of the sandbox data (40 partners, 8,000
opportunities, 12 monthly snapshots) in headless Chromium.

    .venv/bin/python -m tests.reports.make_screenshot [OUT.png] [--html OUT.html]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from partnerkpi.reports.history import report_history
from partnerkpi.reports.html import render_html
from tests.reports import chromium
from tests.reports.sandbox_sample import CONNECTOR, Sample, open_store

DEFAULT_OUT = Path(__file__).resolve().parents[2] / "docs" / "img" / "scorecard.png"


def render_sample(directory: Path) -> str:
    sample = Sample(partners=40, opportunities_=8000)
    store = open_store(directory)
    try:
        sample.fill_store(store, 12)
        run = store.runs(limit=1, connector=CONNECTOR)[0]
        last_run = {
            "id": run.id,
            "started_at": run.started_at,
            "ended_at": run.ended_at,
            "status": run.status,
        }
        document = sample.document(sample.result(), last_run)
        return render_html(document, report_history(store, [CONNECTOR]))
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", nargs="?", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--html", type=Path, help="Also keep the HTML here.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "scorecard.html"
        page.write_text(render_sample(Path(tmp)), encoding="utf-8")
        if args.html:
            args.html.write_text(page.read_text(encoding="utf-8"), encoding="utf-8")
        args.out.parent.mkdir(parents=True, exist_ok=True)
        chromium.screenshot(page, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
