"""Bad config is bounded: a YAML document whose aliases would expand without limit (the "billion laughs")
or that nests thousands of levels deep is one config error naming the file and line, exit 2, found
while composing, in milliseconds and without the memory an expansion would take (before: 40 s and
1.3 GB for seven levels of nine, a RecursionError traceback for a 20,000-deep list)."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path

import pytest

from partnerkpi.config.yamlsource import MAX_ALIASES, MAX_DEPTH, MAX_EXPANDED, parse_yaml
from tests.reliability.harness import cli_command, cli_env

CPU_SECONDS = 5.0
"""Generous: interpreter start and imports take most of it; expanding the laughs took 40 s."""
MAX_RSS_KB = 250_000
"""The interpreter with its imports is about 60 MB; the expansion took 1.3 GB."""


def laughs(levels: int = 9, width: int = 9) -> str:
    lines = [f"a0: &a0 [{', '.join(['lol'] * width)}]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]" for i in range(1, levels)]
    return "\n".join(["connectors: []", *lines]) + "\n"


def deep_list(depth: int = 20_000) -> str:
    return "connectors: []\nx: " + "[" * depth + "]" * depth + "\n"


def deep_mapping(depth: int = 20_000) -> str:
    return "connectors: []\nx: " + "{a: " * depth + "1" + "}" * depth + "\n"


def deep_through_aliases(levels: int = 30) -> str:
    """Each anchor nests the previous one three levels deeper: shallow as written, deep expanded."""
    lines = ["a0: &a0 [1]"] + [f"a{i}: &a{i} [[[*a{i - 1}]]]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def many_aliases(n: int) -> str:
    return "anchor: &x 1\nlist: [" + ", ".join(["*x"] * n) + "]\n"


BOMBS = {
    "billion laughs": (laughs(), "aliases that expand to more than 10,000 values", 6),
    "20k-deep list": (deep_list(), f"nested deeper than {MAX_DEPTH} levels", 2),
    "20k-deep mapping": (deep_mapping(), f"nested deeper than {MAX_DEPTH} levels", 2),
    "deep through aliases": (deep_through_aliases(), f"nested deeper than {MAX_DEPTH} levels", None),
    "too many aliases": (many_aliases(MAX_ALIASES + 1), f"more than {MAX_ALIASES} aliases", 2),
}


@pytest.mark.parametrize("name", list(BOMBS))
def test_a_yaml_bomb_is_one_problem_with_its_line_found_in_milliseconds(name: str) -> None:
    text, message, line = BOMBS[name]
    started = time.process_time()  # CPU time: the shared machine's load does not count
    doc, problems = parse_yaml(text)
    assert time.process_time() - started < 0.5
    assert doc.data == {}
    assert len(problems) == 1
    assert message in problems[0].message
    assert problems[0].line is not None
    if line is not None:
        assert problems[0].line == line


def test_aliases_within_the_bounds_still_load() -> None:
    doc, problems = parse_yaml(many_aliases(MAX_ALIASES))
    assert problems == []
    assert doc.data["list"] == [1] * MAX_ALIASES
    fits = "base: &b {" + ", ".join(f"k{i}: {i}" for i in range(MAX_EXPANDED // 2 // 20 - 1)) + "}\n"
    fits += "".join(f"c{i}: {{<<: *b, own: {i}}}\n" for i in range(10))
    doc, problems = parse_yaml(fits)
    assert problems == []
    assert doc.data["c9"]["own"] == 9 and doc.data["c9"]["k0"] == 0


def test_nesting_up_to_the_bound_still_loads() -> None:
    depth = MAX_DEPTH - 2  # the top mapping and the innermost scalar are levels too
    doc, problems = parse_yaml("x: " + "[" * depth + "1" + "]" * depth + "\n")
    assert problems == []
    value = doc.data["x"]
    for _ in range(depth - 1):
        value = value[0]
    assert value == [1]


PEAK_REPORTING_CLI = """
import atexit, os, sys

def report() -> None:
    with open("/proc/self/status", encoding="ascii") as status:
        peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    with open(os.environ["PK_PEAK_FILE"], "w", encoding="ascii") as out:
        out.write(peak)

atexit.register(report)
sys.argv = ["partnerkpi", *sys.argv[1:]]
from partnerkpi.cli import main
main()
"""
"""The CLI, reporting its own peak resident memory (VmHWM, in kB) at exit. Not ru_maxrss: on Linux a
child's ru_maxrss starts from its parent's at fork, and the test runner itself may be larger than 250 MB."""


def _validate(config: Path) -> tuple[int, str, float, int]:
    """``config validate`` in a child process: exit code, stderr, CPU seconds and peak RSS (KB)."""
    peak_file = config.with_suffix(".peak")
    command = cli_command(config, "config", "validate")
    assert command[1:3] == ["-m", "partnerkpi"]
    proc = subprocess.Popen(
        [command[0], "-c", PEAK_REPORTING_CLI, *command[3:]],
        env={**cli_env(), "PK_PEAK_FILE": str(peak_file)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    timer = threading.Timer(120, proc.kill)  # the unbounded loader took minutes: fail, do not hang
    timer.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        timer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    assert proc.stderr is not None and proc.stdout is not None
    stderr = proc.stderr.read()
    proc.stdout.close()
    proc.stderr.close()
    return proc.returncode, stderr, usage.ru_utime + usage.ru_stime, int(peak_file.read_text())


@pytest.mark.parametrize("name", ["billion laughs", "20k-deep list"])
def test_config_validate_refuses_a_yaml_bomb_quickly_with_exit_2_and_one_line(
    tmp_path: Path, name: str
) -> None:
    text, message, line = BOMBS[name]
    config = tmp_path / "bomb.yaml"
    config.write_text(text, encoding="utf-8")
    started = time.monotonic()
    code, stderr, cpu, rss = _validate(config)
    wall = time.monotonic() - started
    assert code == 2, stderr
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert message in lines[0] and f"(bomb.yaml:{line})" in lines[0], lines[0]
    assert cpu < CPU_SECONDS, (cpu, wall)
    assert rss < MAX_RSS_KB, rss
