"""Secrets are redacted in every error text whatever they contain: hostile secrets (regex metacharacters,
quotes, backslashes, newlines, non-ASCII, percent signs, URL and HTML syntax, the shortest masked length)
never show in a log line, the CLI's output, the run history or an alert body, neither raw nor in the
escaped forms an echo gives them (JSON, a Python or bytes repr, a URL query as urllib, requests and httpx
encode it, HTML). A secret file with a second line is a config error that names the file and never shows
its content; a secret shorter than the masked minimum, or written as plain text in the YAML, is a
warning naming the key."""

from __future__ import annotations

import html
import json
import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus, urlencode, urlsplit

import httpx
import pytest
import requests
import yaml

from partnerkpi.logs import setup_logging
from partnerkpi.redaction import MASK, MIN_LENGTH, redact, register_secrets
from partnerkpi.sandbox.app import build_sandbox
from partnerkpi.sandbox.core import Request, Response, Sandbox
from partnerkpi.sandbox.hubspot import auth as hubspot_auth
from partnerkpi.sandbox.hubspot.errors import error
from partnerkpi.state import StateStore
from tests.reliability.harness import (
    OPPORTUNITIES,
    PARTNERS,
    SEED,
    connector_doc,
    run_cli,
)
from tests.reliability.test_secrets_tls_concurrency import webhook_receiver

HOSTILE = [
    r"re.gex*+?[a-z]{2}(x)|^$\d-1",
    'it\'s "quoted" `tick`-2',
    "back\\slash\\n\\t\\\\end-3",
    "pässwörd-☃-😀-ü-4",
    "100%25 %20 real%-5",
    "a&b=c?d#e/f+g h;i,j:k@l-6",
    '{"k": "v", \'x\': 1}-7',
    "<b>&amp;</b>-8",
    "wxyz",  # exactly MIN_LENGTH characters
    "tab\there-10",
]
MULTILINE = "line-one-11\nline-two-11"


def escaped_forms(secret: str) -> list[str]:
    """How real libraries write ``secret`` when it is echoed: each form without its wrapping quotes."""
    forms = [
        secret,
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        repr(secret)[1:-1],
        repr(secret.encode("utf-8"))[2:-1],
        quote(secret),
        quote(secret, safe=""),
        quote_plus(secret),
        urlencode({"t": secret})[2:],
        httpx.URL("https://crm.example/x", params={"t": secret}).query.decode()[2:],
        urlsplit(requests.Request("GET", "https://crm.example/x", params={"t": secret}).prepare().url).query[
            2:
        ],  # type: ignore[arg-type]
        html.escape(secret),
        json.dumps(json.dumps(secret))[3:-3],
        json.dumps({"url": "https://x/?" + urlencode({"t": secret})})[len('{"url": "https://x/?t=') : -2],
        repr({"body": json.dumps({"token": secret})})[len("{'body': '{\"token\": \"") : -4],
    ]
    return sorted({f for f in forms if f}, key=len, reverse=True)


def leaks(text: str, secrets: list[str]) -> list[str]:
    return [form for s in secrets for form in escaped_forms(s) if form in text]


@pytest.fixture(autouse=True, scope="module")
def _registered() -> None:
    register_secrets([*HOSTILE, MULTILINE])


@pytest.mark.parametrize("secret", [*HOSTILE, MULTILINE], ids=range(len(HOSTILE) + 1))
def test_every_escaped_form_of_a_hostile_secret_is_masked(secret: str) -> None:
    forms = escaped_forms(secret)
    text = " | ".join(f"before {form} after" for form in forms)
    cleaned = redact(text)
    assert not leaks(cleaned, [secret]), leaks(cleaned, [secret])
    assert cleaned.count(MASK) >= len(forms)
    assert cleaned.count("before ") == len(forms) and cleaned.count(" after") == len(forms)  # only it


def test_text_without_a_secret_is_left_as_it_is() -> None:
    text = 'regex.*+ "quotes" back\\slash 100% a&b=c <b> {"k": 1} line-one wxy'
    assert redact(text) == text


def test_a_secret_shorter_than_the_minimum_is_not_masked() -> None:
    register_secrets(["xyz"])
    assert MIN_LENGTH == 4
    assert redact("xyz and wxyz") == f"xyz and {MASK}"


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_log_lines_never_carry_a_secret(fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging("debug", fmt)
    log = logging.getLogger("partnerkpi.test")
    try:
        for secret in [*HOSTILE, MULTILINE]:
            log.warning(
                "calling %s with %r", f"https://crm.example/?{urlencode({'t': secret})}", {"t": secret}
            )
            log.info(json.dumps({"echo": secret, "nested": json.dumps({"t": secret})}))
            try:
                raise ValueError(f"Invalid header value {('Bearer ' + secret).encode()!r}")
            except ValueError:
                log.exception("request failed for %s", secret)
            log.warning("stack", stack_info=True, extra={"connector": secret})
    finally:
        setup_logging("info", "text")
    err = capsys.readouterr().err
    assert err.count(MASK) > 4 * len(HOSTILE)
    assert not leaks(err, [*HOSTILE, MULTILINE]), leaks(err, [*HOSTILE, MULTILINE])


# -- through the real CLI, against the sandbox ---------------------------------------------------------
def _echoing_check(original: Any) -> Any:
    """The sandbox's HubSpot, refusing the token the way a careless API would: echoing it, escaped."""

    def check(self: Any, request: Request, expiry_after_calls: int) -> Response | None:
        refused = original(self, request, expiry_after_calls)
        if refused is None or refused.status != 401:
            return refused
        token = hubspot_auth.bearer(request) or ""
        echo = f"token {json.dumps(token)} q={quote(token)} {token.encode()!r}"
        return error(401, "INVALID_AUTHENTICATION", f"Authentication failed for {echo}"[:290])

    return check


@pytest.fixture
def echoing_sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    monkeypatch.setattr(hubspot_auth.Auth, "check", _echoing_check(hubspot_auth.Auth.check))
    sandbox = build_sandbox(seed=SEED, partners=PARTNERS, opportunities=OPPORTUNITIES)
    sandbox.emulation("hubspot").auth.private_tokens = ("the-right-token",)  # type: ignore[attr-defined]
    sandbox.start()
    try:
        yield sandbox
    finally:
        sandbox.stop()


@pytest.mark.slow
def test_hostile_secrets_reach_no_sink_of_a_failing_sync(tmp_path: Path, echoing_sandbox: Sandbox) -> None:
    secrets = [*HOSTILE, MULTILINE]
    with webhook_receiver() as (webhook, received):

        def one(i: int) -> tuple[int, str]:
            work = tmp_path / f"s{i}"
            work.mkdir()
            doc = connector_doc(echoing_sandbox, "hubspot")
            doc["auth"] = {"flow": "private_app", "token": "${HS_TOKEN}"}
            config = {
                "version": 1,
                "state": {"url": f"sqlite:///{work / 'state.sqlite'}"},
                "connectors": [doc],
                "alerts": {"webhooks": [{"url": webhook, "format": "json", "events": ["failed"]}]},
            }
            path = work / "partnerkpi.yaml"
            path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
            text = ""
            for options in (["--log-format", "text"], ["--log-format", "json", "--verbose"]):
                done = run_cli(path, *options, "sync", HS_TOKEN=secrets[i])
                assert done.returncode in (1, 3), done.stdout + done.stderr
                if "--verbose" not in options:  # verbose logs an internal error's traceback, by design
                    assert "Traceback" not in done.stderr
                text += done.stdout + done.stderr
            store = StateStore.open(f"sqlite:///{work / 'state.sqlite'}")
            try:
                runs = store.runs(limit=10)
                assert runs and all(r.status == "failed" for r in runs)
                text += " ".join(r.message + json.dumps(r.failures) for r in runs)
            finally:
                store.close()
            return i, text

        with ThreadPoolExecutor(max_workers=4) as pool:
            outputs = list(pool.map(one, range(len(secrets))))
        bodies = [r.decode("utf-8", "replace") for r in received]
    echoed = 0
    for i, text in outputs:
        assert not leaks(text, [secrets[i]]), (i, leaks(text, [secrets[i]]))
        echoed += MASK in text
    assert echoed >= len(HOSTILE) - 2  # the sandbox did echo them (those a header can carry), masked
    assert bodies, "the failed runs sent alerts"
    for body in bodies:
        assert not leaks(body, secrets), leaks(body, secrets)


# -- secret files and warnings ---------------------------------------------------------------------------
def _hubspot_config(tmp_path: Path, auth: dict[str, str]) -> Path:
    path = tmp_path / "partnerkpi.yaml"
    doc = {
        "version": 1,
        "state": {"url": f"sqlite:///{tmp_path / 'state.sqlite'}"},
        "connectors": [{"name": "hs", "type": "hubspot", "auth": {"flow": "private_app", **auth}}],
    }
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "content", ["first-line-secret\nsecond-line\n", "first-line-secret\n\n", "first-line-secret\r\nx"]
)
def test_a_secret_file_with_a_second_line_is_a_config_error_naming_it(tmp_path: Path, content: str) -> None:
    secret_file = tmp_path / "token.txt"
    secret_file.write_bytes(content.encode())
    done = run_cli(_hubspot_config(tmp_path, {"token_file": str(secret_file)}), "config", "validate")
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "connectors[0].auth.token_file" in lines[0] and str(secret_file) in lines[0]
    assert "more than one line" in lines[0] and "(partnerkpi.yaml:" in lines[0]
    assert "first-line-secret" not in done.stdout + done.stderr and "second-line" not in done.stderr


def test_a_secret_file_with_one_trailing_newline_loads(tmp_path: Path) -> None:
    secret_file = tmp_path / "token.txt"
    secret_file.write_text("pat-na1-from-a-file\n")
    done = run_cli(_hubspot_config(tmp_path, {"token_file": str(secret_file)}), "config", "validate")
    assert done.returncode == 0, done.stderr
    assert "warning" not in done.stderr.lower()


def test_a_pem_key_file_keeps_its_lines(tmp_path: Path) -> None:
    from partnerkpi.config import load_config

    key = tmp_path / "key.pem"
    key.write_text("-----BEGIN PRIVATE KEY-----\nMIIBVQIBADANBg\nkqhkiG9w0BAQEF\n-----END PRIVATE KEY-----\n")
    path = tmp_path / "partnerkpi.yaml"
    doc = {
        "version": 1,
        "connectors": [
            {
                "name": "sf",
                "type": "salesforce",
                "auth": {"flow": "jwt", "username": "u@x", "consumer_key": "k", "private_key_file": str(key)},
            }
        ],
    }
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    cfg = load_config(path)
    value = cfg.connectors[0].auth.private_key.get_secret_value()  # type: ignore[attr-defined]
    assert value.splitlines()[1] == "MIIBVQIBADANBg"
    assert redact("echo kqhkiG9w0BAQEF") == f"echo {MASK}"  # each line of it is masked too


def test_a_literal_secret_in_the_yaml_is_a_warning_naming_the_key(tmp_path: Path) -> None:
    config = _hubspot_config(tmp_path, {"token": "pat-na1-literal-0000"})
    done = run_cli(config, "config", "validate")
    assert done.returncode == 0, done.stderr  # still loads
    (warning,) = [line for line in done.stderr.splitlines() if "WARNING" in line]
    assert "connectors[0].auth.token: a secret written into the config file" in warning
    assert "${VAR}" in warning and "token_file" in warning and "(partnerkpi.yaml:9)" in warning
    assert "pat-na1-literal-0000" not in done.stderr + done.stdout


@pytest.mark.parametrize("auth", [{"token": "${HS_TOKEN}"}, {"token": "pre-${HS_TOKEN}"}])
def test_a_secret_from_the_environment_is_no_warning(tmp_path: Path, auth: dict[str, str]) -> None:
    done = run_cli(_hubspot_config(tmp_path, auth), "config", "validate", HS_TOKEN="pat-na1-env-0000")
    assert done.returncode == 0, done.stderr
    assert "WARNING" not in done.stderr


def test_a_secret_too_short_to_mask_is_a_warning(tmp_path: Path) -> None:
    done = run_cli(_hubspot_config(tmp_path, {"token": "${HS_TOKEN}"}), "config", "validate", HS_TOKEN="abc")
    assert done.returncode == 0, done.stderr
    (warning,) = [line for line in done.stderr.splitlines() if "WARNING" in line]
    assert f"connectors[0].auth.token: a secret shorter than {MIN_LENGTH} characters" in warning
    assert "(partnerkpi.yaml:9)" in warning


def test_the_alert_webhook_url_written_literally_is_a_warning_too(tmp_path: Path) -> None:
    path = _hubspot_config(tmp_path, {"token": "${HS_TOKEN}"})
    doc = yaml.safe_load(path.read_text())
    doc["alerts"] = {"webhooks": [{"url": "https://hooks.example/T0/B0/literal"}]}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    done = run_cli(path, "config", "validate", HS_TOKEN="pat-na1-env-0000")
    assert done.returncode == 0, done.stderr
    assert "alerts.webhooks[0].url: a secret written into the config file" in done.stderr
