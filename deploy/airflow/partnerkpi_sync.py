"""An Airflow DAG running `partnerkpi sync` hourly, with partnerkpi's exit codes mapped to what Airflow
should do about them (docs/scheduling.md):

0 success; 4 (another run holds the lock) skipped, not failed; 3 (credentials refused or the CRM not
reachable) failed and retried; 1 (records not written) and 2 (config error) failed without a retry: the
next hourly run retries the records of 1 by itself, and a config error needs a human.

Copy this file into your DAGs folder; set PARTNERKPI_BIN and PARTNERKPI_CONFIG for your installation.
"""

from __future__ import annotations

import os
import subprocess
from datetime import datetime, timedelta

from airflow import DAG
from airflow.exceptions import AirflowException, AirflowFailException, AirflowSkipException
from airflow.operators.python import PythonOperator

PARTNERKPI_BIN = os.environ.get("PARTNERKPI_BIN", "/opt/partnerkpi/.venv/bin/partnerkpi")
PARTNERKPI_CONFIG = os.environ.get("PARTNERKPI_CONFIG", "/opt/partnerkpi/partnerkpi.yaml")

RETRY, NO_RETRY, SKIP = "retry", "fail", "skip"
OUTCOMES = {0: "ok", 1: NO_RETRY, 2: NO_RETRY, 3: RETRY, 4: SKIP}


def act_on(code: int) -> None:
    """Raise what Airflow needs for partnerkpi's exit ``code`` (nothing for 0)."""
    outcome = OUTCOMES.get(code, NO_RETRY)
    if outcome == "ok":
        return
    if outcome == SKIP:
        raise AirflowSkipException("partnerkpi: another run holds the lock (exit 4); it does the work")
    if outcome == RETRY:
        raise AirflowException(f"partnerkpi sync exited {code}: credentials or connection; retrying")
    raise AirflowFailException(f"partnerkpi sync exited {code}; see `partnerkpi runs` (no retry)")


def sync() -> None:
    command = [PARTNERKPI_BIN, "--config", PARTNERKPI_CONFIG, "--log-format", "json", "sync"]
    act_on(subprocess.run(command, check=False).returncode)


with DAG(
    "partnerkpi_sync",
    schedule="7 * * * *",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=5)},
):
    PythonOperator(task_id="sync", python_callable=sync)
