"""The sandbox in its own process, driven over stdin/stdout, so a sync's memory and CPU are its own.

``python -m bench.sandbox_process --opportunities N [--hubspot]`` builds and starts the sandbox, prints
one JSON line (its URL, CA and the connector entries pointing at it), then answers one JSON line per
command line: ``counters``, ``reset``, ``change CRM FRACTION``, ``faults CRM {json}``, ``quit``.
:class:`SandboxProcess` is the parent's side.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from types import TracebackType
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def serve(args: argparse.Namespace) -> int:
    from bench.harness import change_deals
    from partnerkpi.demo import sandbox_connectors
    from partnerkpi.sandbox.app import build_sandbox

    sandbox = build_sandbox(
        seed=args.seed, partners=args.partners, opportunities=args.opportunities, hubspot=args.hubspot
    )
    with sandbox:
        hello = {"url": sandbox.url, "ca": str(sandbox.ca_path), "connectors": sandbox_connectors(sandbox)}
        print(json.dumps(hello), flush=True)
        tally = Tally(sandbox)
        for line in sys.stdin:
            word, _, rest = line.strip().partition(" ")
            answer: Any = {"ok": True}
            if word == "counters":
                with sandbox._counter_lock:
                    answer = dict(sandbox.counters)
            elif word == "tally":
                answer = tally.report()
            elif word == "reset":
                sandbox.reset_counters()
                tally.reset()
            elif word == "change":
                crm, fraction = rest.split()
                answer = {"changed": change_deals(sandbox, crm, float(fraction))}
            elif word == "faults":
                crm, _, knobs = rest.partition(" ")
                sandbox.emulation(crm).faults.update(json.loads(knobs))
            elif word == "quit":
                print(json.dumps(answer), flush=True)
                break
            else:
                answer = {"error": f"unknown command {word!r}"}
            print(json.dumps(answer), flush=True)
    return 0


FROM = re.compile(r"\bFROM\s+(\w+)", re.IGNORECASE)


class Tally:
    """What the sandbox's endpoint counters do not say: the object each Salesforce query reads (a query's
    later pages count as ``query_more``), the status of every answer, and when each 429 came."""

    def __init__(self, sandbox: Any) -> None:
        self.lock = threading.Lock()
        self.reset()
        dispatch = sandbox.dispatch

        def counted(request: Any) -> Any:
            response = dispatch(request)
            key = _object_key(request)
            with self.lock:
                if key:
                    self.objects[key] += 1
                emulation = (
                    "hubspot" if "/crm/" in request.path or "/oauth/" in request.path else "salesforce"
                )
                self.statuses[f"{emulation}.{response.status}"] += 1
                if response.status == 429:
                    self.too_many.append(round(time.monotonic() - self.started, 3))
            return response

        sandbox.dispatch = counted

    def reset(self) -> None:
        with self.lock:
            self.objects: Counter[str] = Counter()
            self.statuses: Counter[str] = Counter()
            self.too_many: list[float] = []
            self.started = time.monotonic()

    def report(self) -> dict[str, Any]:
        with self.lock:
            return {"objects": dict(self.objects), "statuses": dict(self.statuses), "429_at": self.too_many}


def _object_key(request: Any) -> str | None:
    path = request.path
    if "/query" in path and path.startswith("/services/data"):
        soql = request.param("q")
        if soql:
            found = FROM.search(soql)
            return f"query:{found.group(1) if found else '?'}"
        return "query_more"
    return None


class SandboxProcess:
    """``with SandboxProcess(opportunities=...) as sb: sb.connectors; sb.command("counters")``."""

    def __init__(self, opportunities: int, partners: int = 500, seed: int = 42, hubspot: bool = True) -> None:
        command = [sys.executable, "-m", "bench.sandbox_process", "--opportunities", str(opportunities)]
        command += ["--partners", str(partners), "--seed", str(seed)] + (["--hubspot"] if hubspot else [])
        self.process = subprocess.Popen(
            command, cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
        )
        hello = self._read()
        self.url: str = hello["url"]
        self.connectors: list[dict[str, Any]] = hello["connectors"]

    def _read(self) -> Any:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the sandbox process ended without answering")
        return json.loads(line)

    def command(self, text: str) -> Any:
        assert self.process.stdin is not None
        self.process.stdin.write(text + "\n")
        self.process.stdin.flush()
        return self._read()

    def counters(self, prefix: str = "") -> dict[str, int]:
        return {k: v for k, v in self.command("counters").items() if k.startswith(prefix)}

    def close(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(OSError, RuntimeError, ValueError):
                self.command("quit")
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> SandboxProcess:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--opportunities", type=int, required=True)
    parser.add_argument("--partners", type=int, default=500)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--hubspot", action="store_true")
    return serve(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
