"""The project's front door: Dockerfile lint, console script, and the pinned CPU torch."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_dockerfile_passes_hadolint() -> None:
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).with_name("hadolint"))
    result = subprocess.run([hadolint, str(ROOT / "Dockerfile")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_runs_as_non_root_with_healthcheck_and_make_run_command() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert "\nUSER 10001\n" in text
    assert "HEALTHCHECK" in text and "/health" in text
    assert 'CMD ["specialist", "serve"]' in text
    assert "$(BIN)/specialist serve" in (ROOT / "Makefile").read_text()


def test_docker_image_holds_every_package_the_cli_imports() -> None:
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "packages"
    ]["find"]["include"]
    dockerfile = (ROOT / "Dockerfile").read_text()
    for pattern in packages:
        name = pattern.rstrip("*")
        assert f"COPY --chown=app:app {name} ./{name}\n" in dockerfile, name


def test_dependencies_are_pinned_and_torch_is_the_cpu_version() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for requirement in project["dependencies"]:
        assert "==" in requirement, f"unpinned dependency {requirement}"
    assert "torch==2.13.0" in project["dependencies"]
    assert project["scripts"]["specialist"] == "specialist.cli:main"


@pytest.mark.parametrize("args", [["--help"], ["models", "--help"], ["eval", "--help"]])
def test_console_script_answers_help(args: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "specialist.cli", *args], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "usage: specialist" in result.stdout
