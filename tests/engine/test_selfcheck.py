"""The llama.cpp start-up self-check on real weights: the shipped Q4_1 GGUF runs, a damaged file
is refused with one sentence, and a pass is remembered for these libraries, weights and CPU."""

from __future__ import annotations

import json
import signal

import pytest

pytest.importorskip("llama_cpp", reason="the engine extra is not installed (make test does)")

from engine.gguf_lora import base_gguf
from engine.selfcheck import check_gguf, check_key, cpu_description, failure_sentence
from specialist.errors import UserError

pytestmark = pytest.mark.slow


def test_the_shipped_quantized_weights_pass_once_then_from_the_marker(settings, tmp_path) -> None:
    model = base_gguf(settings)
    check_gguf(model, None, 2, tmp_path)
    markers = list((tmp_path / "llama-selfcheck").glob("*.ok"))
    assert [m.stem for m in markers] == [check_key(model, None)]
    assert json.loads(markers[0].read_text())["tokens"] == 604  # the child's own report
    written = markers[0].stat().st_mtime_ns
    check_gguf(model, None, 2, tmp_path)  # a second check would rewrite the marker
    assert markers[0].stat().st_mtime_ns == written


def test_a_damaged_file_is_refused_with_one_sentence(settings, tmp_path) -> None:
    damaged = tmp_path / "damaged.gguf"
    damaged.write_bytes(base_gguf(settings).read_bytes()[: 1 << 20])
    with pytest.raises(UserError) as refused:
        check_gguf(damaged, None, 2, tmp_path)
    sentence = str(refused.value)
    assert "damaged.gguf" in sentence and "make engine" in sentence and "\n" not in sentence
    assert not list((tmp_path / "llama-selfcheck").glob("*.ok"))


def test_a_crash_names_its_signal_and_the_cpu(settings) -> None:
    name, flags = cpu_description()
    sentence = failure_sentence(base_gguf(settings), -signal.SIGSEGV, "")
    assert "crashed with SIGSEGV" in sentence and name in sentence
    amx = any(flag.startswith("amx") for flag in flags)
    assert ("with AMX" in sentence) == amx and ("without AMX" in sentence) != amx
    assert "SIGILL" in failure_sentence(base_gguf(settings), -signal.SIGILL, "")
