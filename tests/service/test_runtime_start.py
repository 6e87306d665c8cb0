"""Start-up checks of the runtime that need no live service."""

from __future__ import annotations

from pathlib import Path

from service.runtime import Runtime


def test_unreadable_reader_weights_stop_start_up_with_a_sentence(settings, tmp_path: Path) -> None:
    broken = tmp_path / "reader.json"
    broken.write_text("{")
    runtime = Runtime(settings.model_copy(update={"reader_weights": broken}))
    runtime.start()
    problem = runtime.problem()
    assert problem is not None
    assert f"reader weights {broken} cannot be read" in problem
    assert runtime.engine() is None
