"""The project's front door: Dockerfile lint, console script, and the pinned CPU torch."""

from __future__ import annotations

import importlib.metadata
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


def test_dependencies_are_pinned() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for requirement in project["dependencies"]:
        assert "==" in requirement, f"unpinned dependency {requirement}"
    assert "torch==2.13.0" in project["dependencies"]
    assert project["scripts"]["specialist"] == "specialist.cli:main"


def test_installed_torch_is_the_cpu_build() -> None:
    """The version string cannot tell a CUDA wheel from a CPU one on every platform; the build can.

    A CUDA build of torch also pulls several GB of ``nvidia-*`` wheels, so their absence is checked
    as well: the service is CPU-only and the image must stay small.
    """
    import torch

    assert torch.__version__.split("+")[0] == "2.13.0"
    assert torch.version.cuda is None, f"torch was built for CUDA {torch.version.cuda}"
    assert torch.version.hip is None, f"torch was built for ROCm {torch.version.hip}"
    assert not torch.backends.cuda.is_built()
    nvidia = sorted(
        name
        for name in (dist.metadata["Name"] or "" for dist in importlib.metadata.distributions())
        if name.lower().startswith("nvidia-")
    )
    assert nvidia == [], f"CUDA libraries installed: {nvidia}"
    wanted = [r for r in importlib.metadata.requires("torch") or [] if r.startswith("nvidia-")]
    assert wanted == [], f"torch requires CUDA libraries: {wanted}"


def test_docker_image_installs_torch_from_the_cpu_index() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert (
        "pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu" in dockerfile
    )


@pytest.mark.parametrize("args", [["--help"], ["models", "--help"], ["eval", "--help"]])
def test_console_script_answers_help(args: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "specialist.cli", *args], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "usage: specialist" in result.stdout
