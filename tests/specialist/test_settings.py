from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from specialist.errors import UserError
from specialist.settings import BASE_MODEL_NAMES, load_settings


def test_defaults_work_on_a_fresh_clone(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path)
    assert settings.base_model == "smollm2-135m"
    assert settings.cache_dir == tmp_path.resolve() / "cache"
    assert settings.docs_dirs[0].name == "xquad"


def test_unknown_base_model_names_the_valid_choices(tmp_path: Path) -> None:
    with pytest.raises(UserError) as raised:
        load_settings(home=tmp_path, base_model="gpt-5")
    message = str(raised.value)
    assert "SPECIALIST_BASE_MODEL" in message
    for name in BASE_MODEL_NAMES:
        assert name in message
    assert "\n" not in message


def test_cli_reports_bad_settings_in_one_line_with_exit_code_2(tmp_path: Path) -> None:
    env = {"SPECIALIST_HOME": str(tmp_path), "SPECIALIST_BASE_MODEL": "llama-70b", "PATH": ""}
    result = subprocess.run(
        [sys.executable, "-m", "specialist.cli", "models"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "smollm2-135m" in lines[0] and "gemma3-270m" in lines[0]
    assert "Traceback" not in result.stderr


def test_bad_port_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="SPECIALIST_PORT"):
        load_settings(home=tmp_path, port=70000)


def test_follow_links_is_off_unless_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings(home=tmp_path).follow_links is False
    monkeypatch.setenv("SPECIALIST_FOLLOW_LINKS", "true")
    assert load_settings(home=tmp_path).follow_links is True
    monkeypatch.setenv("SPECIALIST_FOLLOW_LINKS", "sometimes")
    with pytest.raises(UserError, match="SPECIALIST_FOLLOW_LINKS"):
        load_settings(home=tmp_path)


def test_a_remote_engine_needs_its_url(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="SPECIALIST_ENGINE_URL: engine 'openai' needs"):
        load_settings(home=tmp_path, engine="openai")
    settings = load_settings(home=tmp_path, engine="openai", engine_url="http://engine:8080/v1/")
    assert settings.engine_url == "http://engine:8080/v1"
    assert load_settings(home=tmp_path).engine == "local"
