"""Bad config, fuzzed: random YAML documents and random mutations of config.example.yaml through the
loader never give a traceback. Either the config loads, or a ConfigError whose message is one line naming
the YAML path (when there is one) and the file; through the real CLI, that line on stderr and exit 2."""

from __future__ import annotations

import copy
import functools
import re
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from partnerkpi.config import AppConfig, ConfigError, load_config_text
from tests.reliability.harness import REPO, run_cli

NAME = "partnerkpi.yaml"
ENV = {
    "SF_CONSUMER_KEY": "3MVG9-example",
    "HUBSPOT_TOKEN": "pat-na1-example",
    "SLACK_WEBHOOK_URL": "https://hooks.example/x",
}
KEY_PATH = "/run/secrets/partnerkpi/sf_private_key.pem"
ONE_LINE = re.compile(r"^[^\n]+ \(partnerkpi\.yaml(:\d+)?\)$")
EXAMPLES = 100

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["${UNSET_VAR}", "${VAR:-x}", "$", "${", "https://x", "sqlite:///", "0", "-1", "1e400"]),
    st.text(min_size=5_000, max_size=20_000, alphabet="ab'\"\\{}$"),
)
documents = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)


@functools.cache
def _example() -> tuple[dict[str, Any], str]:
    key = Path(tempfile.mkdtemp(prefix="partnerkpi-fuzz-")) / "key.pem"
    key.write_text("-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n")
    text = (REPO / "config.example.yaml").read_text().replace(KEY_PATH, str(key))
    data = yaml.safe_load(text)
    assert isinstance(data, dict)
    return data, text


def example_data(tmp: Path) -> tuple[dict[str, Any], str]:
    """config.example.yaml (parsed once) with its secret file pointed at a throwaway key."""
    data, text = _example()
    return copy.deepcopy(data), text


def check(text: str, base: Path) -> AppConfig | ConfigError:
    """Load ``text``; a ConfigError is returned (after checking its form), anything else propagates."""
    try:
        return load_config_text(text, NAME, base, ENV)
    except ConfigError as exc:
        message = str(exc)
        assert ONE_LINE.match(message), message
        assert exc.problems and all("\n" not in line for line in exc.lines())
        return exc


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            out += paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += paths(value, (*prefix, i))
    return out


def mutate(data: dict[str, Any], path: tuple[Any, ...], action: str, value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(data)
    if not path:
        return {"version": 1, "junk": value} if action == "add" else doc
    parent: Any = doc
    for key in path[:-1]:
        parent = parent[key]
    last = path[-1]
    if action == "delete":
        del parent[last]
    elif action == "replace":
        parent[last] = value
    elif action == "add" and isinstance(parent, dict):
        parent[f"{last}_extra"] = value
    elif action == "duplicate" and isinstance(parent, list):
        parent.append(copy.deepcopy(parent[last]))
    elif isinstance(parent, dict):  # rename
        parent[f"{last}x"] = parent.pop(last)
    return doc


def test_the_unmutated_example_loads(tmp_path: Path) -> None:
    _, text = example_data(tmp_path)
    assert isinstance(check(text, tmp_path), AppConfig)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=documents)
def test_random_yaml_documents_never_give_a_traceback(tmp_path: Path, doc: Any) -> None:
    text = yaml.safe_dump(doc, allow_unicode=True)
    result = check(text, tmp_path)
    if not isinstance(doc, dict):
        assert isinstance(result, ConfigError)  # a config is a mapping of sections


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=300) | st.binary(max_size=200).map(lambda b: b.decode("latin-1")))
def test_random_text_never_gives_a_traceback(tmp_path: Path, text: str) -> None:
    check(text, tmp_path)


@settings(
    max_examples=EXAMPLES * 2, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=st.data(),
    action=st.sampled_from(["delete", "replace", "replace", "add", "duplicate", "rename"]),
    value=documents,
)
def test_mutations_of_the_example_never_give_a_traceback(
    tmp_path: Path, data: st.DataObject, action: str, value: Any
) -> None:
    original, _ = example_data(tmp_path)
    path = data.draw(st.sampled_from(paths(original)), label="path")
    mutated = mutate(original, path, action, value)
    result = check(yaml.safe_dump(mutated, allow_unicode=True), tmp_path)
    if isinstance(result, ConfigError) and path and action in ("replace", "delete"):
        # The first problem is somewhere real: a path in the document, or the document as a whole.
        assert result.problems[0].path is not None


def test_broken_configs_through_the_cli_exit_2_with_one_line(tmp_path: Path) -> None:
    original, _ = example_data(tmp_path)
    broken = [
        "version: 1\nconnectors: [\n",  # YAML syntax
        yaml.safe_dump(mutate(original, ("kpi", "weights", "won_revenue"), "replace", "lots")),
        yaml.safe_dump(mutate(original, ("connectors", 0, "auth", "flow"), "replace", "telepathy")),
        "- just\n- a list\n",
    ]
    configs = []
    for i, text in enumerate(broken):
        path = tmp_path / f"broken-{i}" / NAME
        path.parent.mkdir()
        path.write_text(text)
        configs.append(path)
    env = {"SF_CONSUMER_KEY": "k", "HUBSPOT_TOKEN": "t", "SLACK_WEBHOOK_URL": "https://h/x"}
    with ThreadPoolExecutor(max_workers=len(configs)) as pool:
        results = list(pool.map(lambda p: run_cli(p, "sync", **env), configs))
    for i, done in enumerate(results):
        assert done.returncode == 2, (i, done.stderr)
        assert "Traceback" not in done.stderr + done.stdout
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: "), (i, done.stderr)
        assert ONE_LINE.match(lines[0][len("error: ") :]), lines[0]
