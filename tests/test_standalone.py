"""The repository stands alone: no file of the project reads, or points a reader at, a folder beside the
clone (a fresh clone has nothing beside it), and the data the tests use is inside the repository."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SIBLING = "shared"
"""The folder a developer's checkout may have beside it; a clone for a user does not."""

POINTER = re.compile(r"\.\./" + SIBLING + r"\b|(?<![\w-])" + SIBLING + r"/(?:docs|data|seeds|hooks)\b")


def project_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")
    return [REPO / name for name in listed if name and (REPO / name).is_file()]


def test_no_project_file_points_outside_the_repository() -> None:
    offenders = []
    for path in project_files():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if POINTER.search(line):
                offenders.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert offenders == []


def test_the_pointer_pattern_catches_what_it_is_for() -> None:
    assert POINTER.search("MAVEN = REPO.parent / '" + SIBLING + "/data/maven-crm'")
    assert POINTER.search("see ../" + SIBLING + "/docs/kpis.md")
    assert not POINTER.search("the shared retry policy")


def test_the_maven_data_set_is_in_the_repository_with_its_origin() -> None:
    folder = REPO / "tests" / "data" / "maven-crm"
    assert (folder / "sales_pipeline.csv").stat().st_size > 500_000
    rows = (folder / "sales_pipeline.csv").read_text(encoding="utf-8").count("\n")
    assert rows == 8_801  # the header and 8,800 opportunities
    source = (folder / "SOURCE.md").read_text(encoding="utf-8")
    assert "Maven Analytics" in source


def test_the_licence_file_matches_the_licence_pyproject_declares() -> None:
    declared = re.search(r'^license = "([^"]+)"', (REPO / "pyproject.toml").read_text(), re.M)
    assert declared is not None and declared.group(1) == "Apache-2.0"
    text = (REPO / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text
