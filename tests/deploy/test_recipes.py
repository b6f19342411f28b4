"""The scheduling recipes work as written (docs/scheduling.md, deploy/, the Dockerfile): the crontab entry
is valid crontab syntax on one line, the Kubernetes manifests are the documented kinds with the fields
the docs describe and the environment names of config.example.yaml, exit 4 is a success for schedulers
that know only 0, and the Airflow DAG maps each exit code to what Airflow should do."""

from __future__ import annotations

import re
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest
import yaml

from partnerkpi.scheduled import scheduler_exit_code
from partnerkpi.state import StateStore
from tests.maven_cli import connector_yaml, write_config

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "scheduling.md"
KUBE = REPO / "deploy" / "kubernetes"
EXAMPLE = REPO / "config.example.yaml"
CRON_FIELDS = (
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of month", 1, 31),
    ("month", 1, 12),
    ("day of week", 0, 7),
)


def cron_blocks() -> list[str]:
    return re.findall(r"```cron\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


def cron_field_ok(text: str, low: int, high: int) -> bool:
    """One crontab time field (vixie cron): ``*``, numbers, ranges, lists and ``/step``."""
    for part in text.split(","):
        base, _, step = part.partition("/")
        if step and not (step.isdigit() and int(step) > 0):
            return False
        if base == "*":
            continue
        first, _, last = base.partition("-")
        numbers = [first, last] if last else [first]
        if not all(n.isdigit() and low <= int(n) <= high for n in numbers):
            return False
    return True


def crontab_entries(block: str) -> list[str]:
    lines = [line for line in block.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [line for line in lines if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", line)]


def test_the_crontab_entry_is_one_valid_line_that_runs_the_scheduled_wrapper() -> None:
    blocks = cron_blocks()
    assert blocks, "docs/scheduling.md has no cron block"
    entries = [entry for block in blocks for entry in crontab_entries(block)]
    assert len(entries) == 1
    entry = entries[0]
    assert not entry.rstrip().endswith("\\"), "crontab has no continuation lines"
    fields = entry.split(None, 5)
    assert len(fields) == 6
    for text, (name, low, high) in zip(fields[:5], CRON_FIELDS, strict=True):
        assert cron_field_ok(text, low, high), f"{name} field {text!r}"
    command = fields[5]
    assert "partnerkpi-scheduled" in command and " sync" in command
    assert "%" not in command, "an unescaped % in a crontab command is a newline"


def test_the_cron_field_check_refuses_what_cron_refuses() -> None:
    assert cron_field_ok("*/15", 0, 59) and cron_field_ok("1-5", 0, 7) and cron_field_ok("0,30", 0, 59)
    assert not cron_field_ok("60", 0, 59) and not cron_field_ok("*/0", 0, 59) and not cron_field_ok("x", 0, 7)


def manifests() -> dict[str, dict[str, Any]]:
    found = {}
    for path in sorted(KUBE.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            found[doc["kind"]] = doc
    return found


def test_the_kubernetes_manifests_are_the_documented_kinds() -> None:
    kinds = {kind: doc["apiVersion"] for kind, doc in manifests().items()}
    assert kinds == {"CronJob": "batch/v1", "Secret": "v1", "PersistentVolumeClaim": "v1"}
    doc = DOC.read_text(encoding="utf-8")
    for name in ("secret.yaml", "pvc.yaml", "cronjob.yaml"):
        assert f"`{name}`" in doc


def cronjob() -> dict[str, Any]:
    return manifests()["CronJob"]


def container() -> dict[str, Any]:
    (only,) = cronjob()["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    return only


def test_the_cronjob_never_overlaps_and_runs_as_a_non_root_user() -> None:
    spec = cronjob()["spec"]
    fields = spec["schedule"].split()
    assert len(fields) == 5
    for text, (name, low, high) in zip(fields, CRON_FIELDS, strict=True):
        assert cron_field_ok(text, low, high), name
    assert spec["concurrencyPolicy"] == "Forbid"
    pod = spec["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never"  # required by podFailurePolicy
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0


def test_the_cronjob_fails_at_once_on_a_config_error_and_neither_retries_nor_alerts_on_exit_4() -> None:
    rules = cronjob()["spec"]["jobTemplate"]["spec"]["podFailurePolicy"]["rules"]
    actions = {code: rule["action"] for rule in rules for code in rule["onExitCodes"]["values"]}
    assert actions.get(2) == "FailJob"
    # Exit 4 never reaches Kubernetes as a failure: the image's entry point turns it into 0. An `Ignore`
    # rule would start a replacement pod, which is the retry we do not want.
    assert 4 not in actions
    assert scheduler_exit_code(4) == 0


def test_the_cronjob_runs_the_image_the_dockerfile_builds_with_its_entry_point() -> None:
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    tag = re.search(r"docker build -t (\S+) \.", dockerfile)
    assert tag is not None
    assert container()["image"] == tag.group(1)
    assert 'ENTRYPOINT ["partnerkpi-scheduled"]' in dockerfile
    assert re.search(r"^USER (?!root|0\b)\S+", dockerfile, re.M)
    assert re.search(r"^VOLUME \[\"/var/lib/partnerkpi\"\]", dockerfile, re.M)
    mounts = {m["mountPath"]: m["name"] for m in container()["volumeMounts"]}
    assert mounts["/var/lib/partnerkpi"] == "state"


def example_variables() -> set[str]:
    """The ``${VAR}`` names config.example.yaml reads (commented-out alternatives aside)."""
    names = set()
    for line in EXAMPLE.read_text(encoding="utf-8").splitlines():
        code = line.split("#", 1)[0]
        names.update(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)(?::-[^}]*)?\}", code))
    return names


def test_the_cronjob_sets_every_variable_the_example_config_reads_from_the_secret() -> None:
    env = {item["name"]: item for item in container()["env"]}
    secret = manifests()["Secret"]
    assert example_variables() - set(env) == set()
    for name in example_variables() - {"PARTNERKPI_STATE_URL"}:
        ref = env[name]["valueFrom"]["secretKeyRef"]
        assert ref["name"] == secret["metadata"]["name"]
        assert ref["key"] in secret["stringData"]
    assert env["PARTNERKPI_CONFIG"]["value"].startswith("/config/")


def test_the_secret_files_the_example_config_names_are_mounted_where_it_reads_them() -> None:
    files = re.findall(r"^\s*\w+_file: (\S+)", EXAMPLE.read_text(encoding="utf-8"), re.M)
    mounts = {m["name"]: m["mountPath"] for m in container()["volumeMounts"]}
    volumes = {v["name"]: v for v in cronjob()["spec"]["jobTemplate"]["spec"]["template"]["spec"]["volumes"]}
    secret = manifests()["Secret"]
    assert files
    for path in files:
        folder, name = path.rsplit("/", 1)
        (volume,) = [v for v, mount in mounts.items() if mount == folder]
        items = {item["path"]: item["key"] for item in volumes[volume]["secret"]["items"]}
        assert items[name] in secret["stringData"]
        assert volumes[volume]["secret"]["defaultMode"] & 0o040, (
            "the non-root user reads it through its group"
        )


def load_dag(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    """The DAG file, with small stand-ins for the Airflow names it imports (Airflow is not installed)."""

    class Skip(Exception): ...

    class Retryable(Exception): ...

    class Final(Retryable): ...

    class Dag:
        def __init__(self, *args: object, **kwargs: object) -> None: ...

        def __enter__(self) -> Dag:
            return self

        def __exit__(self, *exc: object) -> None: ...

    stubs = {
        "airflow": types.SimpleNamespace(DAG=Dag),
        "airflow.exceptions": types.SimpleNamespace(
            AirflowException=Retryable, AirflowFailException=Final, AirflowSkipException=Skip
        ),
        "airflow.operators": types.SimpleNamespace(),
        "airflow.operators.python": types.SimpleNamespace(PythonOperator=lambda **kwargs: kwargs),
    }
    for name, module in stubs.items():
        monkeypatch.setitem(sys.modules, name, module)
    module = types.ModuleType("partnerkpi_sync_dag")
    path = REPO / "deploy" / "airflow" / "partnerkpi_sync.py"
    exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), module.__dict__)
    return module


def test_the_airflow_dag_skips_on_4_retries_on_3_and_fails_for_good_on_1_and_2(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dag = load_dag(monkeypatch)
    exceptions = sys.modules["airflow.exceptions"]
    dag.act_on(0)
    with pytest.raises(exceptions.AirflowSkipException):
        dag.act_on(4)
    for code in (1, 2):
        with pytest.raises(exceptions.AirflowFailException):
            dag.act_on(code)
    with pytest.raises(exceptions.AirflowException) as caught:
        dag.act_on(3)
    assert not isinstance(caught.value, exceptions.AirflowFailException)


def test_a_run_that_finds_the_lock_held_exits_4_and_the_scheduled_wrapper_makes_it_0(tmp_path: Path) -> None:
    config = write_config(tmp_path, connector_yaml("export"))
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    try:
        with store.lock("export"):
            plain = subprocess.run(
                [sys.executable, "-m", "partnerkpi", "--config", str(config), "sync"],
                capture_output=True,
                text=True,
                check=False,
            )
            scheduled = subprocess.run(
                [sys.executable, "-m", "partnerkpi.scheduled", "--config", str(config), "sync"],
                capture_output=True,
                text=True,
                check=False,
            )
    finally:
        store.close()
    assert plain.returncode == 4, plain.stderr
    assert scheduled.returncode == 0, scheduled.stderr
    assert "lock" in scheduled.stderr.lower() + scheduled.stdout.lower()


def test_the_scheduled_wrapper_passes_every_other_code_through() -> None:
    for code in (0, 1, 2, 3, None, "text"):
        assert scheduler_exit_code(code) == code
