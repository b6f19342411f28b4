"""The Dockerfile's install steps, run here (no Docker engine runs on these machines): build the wheel
from the checkout, install it into a clean virtual environment, and run `partnerkpi demo` and the
scheduled wrapper from a folder outside the checkout. This is what proves the package carries everything
it needs (its data files, its entry points) and reads nothing from the repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env, check=False, timeout=900)
    assert done.returncode == 0, (
        f"{' '.join(command)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    )
    return done


def export_tracked_files(target: Path) -> Path:
    """The files git tracks, copied to ``target``: what a fresh clone (and the image's COPY) holds, and a
    build that leaves nothing in the checkout."""
    listed = run(["git", "ls-files"], REPO).stdout.splitlines()
    for name in listed:
        if (REPO / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, target / name)
    return target


def test_the_dockerfile_builds_a_wheel_and_installs_only_that_with_the_postgres_extra() -> None:
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    assert "RUN python -m pip wheel --no-deps --wheel-dir /dist ." in dockerfile
    assert 'RUN python -m pip install --no-cache-dir "$(echo /dist/*.whl)[postgres]"' in dockerfile


@pytest.mark.slow
def test_the_wheel_installed_in_a_clean_venv_runs_the_demo_outside_the_checkout(tmp_path: Path) -> None:
    dist, env_dir, outside = tmp_path / "dist", tmp_path / "venv", tmp_path / "elsewhere"
    outside.mkdir()
    run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(dist), str(REPO)],
        REPO,
    )
    (wheel,) = dist.glob("partnerkpi-*.whl")
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{env_dir / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    run([str(python), "-m", "pip", "install", "--quiet", f"{wheel}[postgres]"], outside, env)
    where = run(
        [str(python), "-c", "import partnerkpi, psycopg; print(partnerkpi.__file__)"], outside, env
    ).stdout
    assert str(env_dir) in where and str(REPO) not in where
    demo = run(
        [str(env_dir / "bin" / "partnerkpi"), "demo", "--workdir", str(outside / "demo")], outside, env
    )
    assert "error" not in demo.stderr.lower()
    run([str(env_dir / "bin" / "partnerkpi-scheduled"), "--version"], outside, env)
