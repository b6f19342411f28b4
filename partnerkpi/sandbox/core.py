"""The sandbox's HTTPS server: routing, TLS with a throwaway CA, call counters, latency, injected 5xx and
dropped connections, and the admin API. What each CRM says (auth, limits, error bodies) lives in its
emulation package (``salesforce/``, ``hubspot/``, each routed by its ``emulation.py``); this module knows no
CRM.
"""

from __future__ import annotations

import abc
import contextlib
import json
import random
import re
import shutil
import socket
import ssl
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import trustme

ADMIN_PREFIX = "/__admin__"
VENDOR_HOSTS = (
    "login.salesforce.com",
    "test.salesforce.com",
    "*.salesforce.com",
    "*.my.salesforce.com",
    "*.sandbox.my.salesforce.com",
    "api.hubapi.com",
    "api.hubspot.com",
    "app.hubspot.com",
)
"""Names the sandbox certificate also carries, so a third-party client whose host names are merely
resolved to the sandbox (tests/conformance/wrapper) passes its own TLS checks against the sandbox CA."""


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Mapping[str, str]
    body: bytes
    raw_path: str = ""

    def param(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8")) if self.body else None

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lowered:
                return value
        return None


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    cut: str | None = None
    """An injected broken answer: ``truncated`` (half the body, then the connection closes) or ``reset``
    (half the body, then a TCP reset). The Content-Length always announces the whole body."""

    @classmethod
    def json(cls, payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        data = json.dumps(payload, separators=(",", ":"), default=str).encode()
        return cls(status, data, {"Content-Type": "application/json;charset=UTF-8", **(headers or {})})

    @classmethod
    def text(cls, text: str, status: int = 200, content_type: str = "text/plain", **headers: str) -> Response:
        return cls(status, text.encode(), {"Content-Type": content_type, **headers})


class DropConnection(Exception):
    """Raised by a handler (or the fault layer) to close the connection without answering."""


Handler = Callable[[Request, re.Match[str]], Response]


@dataclass
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    endpoint: str
    """Counter key, e.g. ``salesforce.query`` (stable: tests and benchmarks read it)."""


@dataclass
class Faults:
    """Knobs for one emulation, settable at start and live through the admin API."""

    latency_ms: float = 0.0
    latency_jitter_ms: float = 0.0
    error_rate: float = 0.0
    """Share of calls answered with a 5xx."""
    drop_rate: float = 0.0
    """Share of calls whose connection is dropped without an answer."""
    rate_limit_per_second: float = 0.0
    """0 = unlimited. Emulation-specific window semantics (HubSpot: per 10 s burst of 10x this)."""
    search_rate_per_second: float = 0.0
    daily_limit: int = 0
    """0 = the emulation's default daily allowance."""
    session_expiry_after_calls: int = 0
    """0 = never; else every session/token expires after this many authenticated calls."""
    record_failure_ids: list[str] = field(default_factory=list)
    record_failure_rate: float = 0.0
    record_failure_code: str = ""
    """Emulation-specific failure code for per-record write failures (e.g. UNABLE_TO_LOCK_ROW)."""
    record_failure_times: int = 0
    """0 = fail every time; N = each listed record fails on its first N write attempts, then succeeds."""
    answer_faults: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Broken answers, per endpoint (the counter key, e.g. ``salesforce.query``): the call is handled as
    usual (a write is applied), then its answer is replaced. Each value is ``{"kind": K, "body": B,
    "after": M, "times": N}``: K is ``json`` (a 200 carrying B, default ``{}``), ``html`` (a 200 HTML page),
    ``malformed`` (a 200 whose JSON is cut short), ``truncated`` or ``reset`` (the real answer, cut off half
    way); the first M matching calls pass untouched (default 0), then N calls are broken (0 = all)."""

    def update(self, values: Mapping[str, Any]) -> None:
        known = {f.name for f in fields(self)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown fault knob(s): {', '.join(sorted(unknown))}")
        for key, value in values.items():
            setattr(self, key, value)


class Emulation(abc.ABC):
    """One CRM's API. Subclasses give their routes and the CRM-specific shapes of errors and headers."""

    name: str
    prefixes: tuple[str, ...]

    def __init__(self) -> None:
        self.faults = Faults()
        self.rng = random.Random(0)
        self.lock = threading.RLock()
        self.answer_fault_calls: Counter[str] = Counter()
        """Calls seen per endpoint named in ``faults.answer_faults`` (cleared when those are set)."""

    @abc.abstractmethod
    def routes(self) -> list[Route]: ...

    def before(self, request: Request, route: Route) -> Response | None:
        """Auth, rate limits, session expiry: answer here to stop the call before its handler."""
        return None

    @abc.abstractmethod
    def server_error(self, request: Request) -> Response:
        """An injected 5xx, shaped as this CRM answers one."""

    def not_found(self, request: Request) -> Response:
        return Response.json({"message": f"no route for {request.method} {request.path}"}, 404)

    def decorate(self, request: Request, response: Response) -> None:  # noqa: B027 - optional hook
        """Headers every answer carries (e.g. ``Sforce-Limit-Info``, ``X-HubSpot-RateLimit-*``)."""

    def admin(self, action: str, payload: Any) -> Any:
        """Admin actions on records (``POST /__admin__/{name}/{action}``): change data as a CRM user would."""
        raise KeyError(action)


class Sandbox:
    """The server. ``with Sandbox([...]) as sb:`` serves on a free port until the block ends."""

    def __init__(
        self,
        emulations: list[Emulation],
        host: str = "127.0.0.1",
        port: int = 0,
        state_dir: Path | None = None,
        seed: int = 0,
    ) -> None:
        self.emulations = emulations
        self.host = host
        self._port = port
        self.counters: Counter[str] = Counter()
        self.unrouted: Counter[str] = Counter()
        """404s for paths no route knows, per ``emulation:METHOD path`` (not in ``counters``)."""
        self._counter_lock = threading.Lock()
        self._rng = random.Random(seed)
        self._ca = trustme.CA()
        self._cert = self._ca.issue_cert("127.0.0.1", "localhost", *VENDOR_HOSTS)
        self.state_dir = state_dir
        self._own_dir: Path | None = None
        self.ca_path: Path | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._routes = [(e, r) for e in emulations for r in e.routes()]

    # -- lifecycle -----------------------------------------------------------------------------------
    def start(self) -> Sandbox:
        import tempfile

        if self.state_dir is None:
            self._own_dir = Path(tempfile.mkdtemp(prefix="partnerkpi-sandbox-"))
        directory = self.state_dir or self._own_dir
        assert directory is not None
        directory.mkdir(parents=True, exist_ok=True)
        self.state_dir = directory
        self.ca_path = directory / "sandbox-ca.pem"
        self._ca.cert_pem.write_to_path(str(self.ca_path))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._cert.configure_cert(context)
        self._server = _Server((self.host, self._port), _RequestHandler, self, context)
        server = self._server
        self._thread = threading.Thread(
            target=lambda: server.serve_forever(poll_interval=0.05), name="sandbox", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._own_dir is not None:  # a directory we made ourselves: leave nothing behind in /tmp
            shutil.rmtree(self._own_dir, ignore_errors=True)
            self._own_dir = None
            self.state_dir = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("sandbox is not running")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    @property
    def instance(self) -> str:
        """``host:port``, the form simple-salesforce's ``instance`` argument takes."""
        return f"{self.host}:{self.port}"

    def emulation(self, name: str) -> Emulation:
        for e in self.emulations:
            if e.name == name:
                return e
        raise KeyError(name)

    # -- counters ------------------------------------------------------------------------------------
    def count(self, endpoint: str) -> None:
        with self._counter_lock:
            self.counters[endpoint] += 1

    def calls(self, prefix: str = "") -> int:
        """Calls counted under endpoints starting with ``prefix`` (e.g. ``salesforce.``)."""
        with self._counter_lock:
            return sum(n for k, n in self.counters.items() if k.startswith(prefix))

    def reset_counters(self) -> None:
        with self._counter_lock:
            self.counters.clear()
            self.unrouted.clear()

    # -- dispatch ------------------------------------------------------------------------------------
    def dispatch(self, request: Request) -> Response:
        if request.path.startswith(ADMIN_PREFIX):
            return self._admin(request)
        for emulation, route in self._routes:
            if route.method != request.method:
                continue
            match = route.pattern.fullmatch(request.path)
            if match is None:
                continue
            self.count(route.endpoint)
            faults = emulation.faults
            self._delay(faults)
            if faults.drop_rate and self._rng.random() < faults.drop_rate:
                self.count(f"{emulation.name}.fault.dropped")
                raise DropConnection
            if faults.error_rate and self._rng.random() < faults.error_rate:
                self.count(f"{emulation.name}.fault.5xx")
                response = emulation.server_error(request)
            else:
                response = emulation.before(request, route) or route.handler(request, match)
                response = self._broken_answer(emulation, route.endpoint, response)
            emulation.decorate(request, response)
            return response
        for emulation in self.emulations:
            if request.path.startswith(emulation.prefixes):
                self._count_unrouted(emulation.name, request)
                return emulation.not_found(request)
        self._count_unrouted("", request)
        return Response.json({"message": f"no route for {request.method} {request.path}"}, 404)

    def _count_unrouted(self, emulation: str, request: Request) -> None:
        """Calls no route answers, kept apart from ``counters`` (which count the emulated API only): what
        a third-party client asked for that the sandbox lacks (tests/conformance reads them)."""
        with self._counter_lock:
            self.unrouted[f"{emulation}:{request.method} {request.path}"] += 1

    def _broken_answer(self, emulation: Emulation, endpoint: str, response: Response) -> Response:
        """``response``, or the broken answer ``faults.answer_faults`` asks for on this call."""
        spec = emulation.faults.answer_faults.get(endpoint)
        if spec is None:
            return response
        with emulation.lock:
            emulation.answer_fault_calls[endpoint] += 1
            seen = emulation.answer_fault_calls[endpoint]
        after, times = int(spec.get("after", 0)), int(spec.get("times", 0))
        if seen <= after or (times and seen > after + times):
            return response
        self.count(f"{emulation.name}.fault.answer")
        kind = spec.get("kind", "json")
        if kind == "json":
            return Response.json(spec.get("body", {}), 200)
        if kind == "html":
            page = "<!DOCTYPE html><html><head><title>Maintenance</title></head><body>Back soon</body></html>"
            return Response.text(page, 200, "text/html; charset=UTF-8")
        if kind == "malformed":
            return Response(
                200, b'{"totalSize": 3, "records": [{"Id": ', {"Content-Type": "application/json"}
            )
        if kind in ("truncated", "reset"):
            body = response.body if len(response.body) > 1 else b'{"records": []}'
            return Response(response.status, body, dict(response.headers), cut=kind)
        raise ValueError(f"unknown answer fault kind {kind!r}")

    def _delay(self, faults: Faults) -> None:
        delay = faults.latency_ms
        if faults.latency_jitter_ms:
            delay += self._rng.uniform(0, faults.latency_jitter_ms)
        if delay > 0:
            time.sleep(delay / 1000.0)

    def _admin(self, request: Request) -> Response:
        parts = [p for p in request.path[len(ADMIN_PREFIX) :].split("/") if p]
        try:
            if parts == ["counters"] and request.method == "GET":
                with self._counter_lock:
                    return Response.json(dict(self.counters))
            if parts == ["counters", "reset"] and request.method == "POST":
                self.reset_counters()
                return Response.json({"ok": True})
            if len(parts) == 2 and parts[1] == "faults":
                emulation = self.emulation(parts[0])
                if request.method == "POST":
                    payload = request.json() or {}
                    emulation.faults.update(payload)
                    if "answer_faults" in payload:
                        emulation.answer_fault_calls.clear()
                return Response.json(asdict(emulation.faults))
            if len(parts) == 2 and request.method == "POST":
                return Response.json(self.emulation(parts[0]).admin(parts[1], request.json()))
        except KeyError as exc:
            return Response.json({"error": f"unknown: {exc.args[0]}"}, 404)
        except (ValueError, TypeError) as exc:
            return Response.json({"error": str(exc)}, 400)
        return Response.json({"error": f"no admin route {request.method} {request.path}"}, 404)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        sandbox: Sandbox,
        context: ssl.SSLContext,
    ) -> None:
        self.sandbox = sandbox
        self.context = context
        super().__init__(address, handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        # TLS handshake in the connection's own thread, so a slow client never blocks accept().
        try:
            tls = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            handler_class: Any = self.RequestHandlerClass
            handler_class(tls, client_address, self)
        finally:
            with contextlib.suppress(OSError):
                tls.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # client went away, TLS refused, ...: the client sees it; the server keeps serving.


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes: no 40 ms stalls
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _handle(self) -> None:
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = Request(
            method=self.command,
            path=split.path,
            query=parse_qs(split.query, keep_blank_values=True),
            headers=dict(self.headers.items()),
            body=body,
            raw_path=self.path,
        )
        try:
            response = self.server.sandbox.dispatch(request)
        except DropConnection:
            self._drop()
            return
        except Exception as exc:  # a sandbox bug must show as a 500, not hang the client
            response = Response.json(
                [{"message": f"sandbox error: {exc!r}", "errorCode": "UNKNOWN_EXCEPTION"}], 500
            )
        self.send_response(response.status)
        for key, value in response.headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if response.cut is not None:
            self.wfile.write(response.body[: len(response.body) // 2])
            self.wfile.flush()
            if response.cut == "reset":
                self._drop()
            self.close_connection = True
            return
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def _drop(self) -> None:
        self.close_connection = True
        try:
            raw = self.connection
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle
