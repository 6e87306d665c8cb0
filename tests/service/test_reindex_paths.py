"""Reindex paths must resolve inside a document root; anything else is 403 and nothing is read."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.paths import PathRefusedError, confine


def test_confine_accepts_the_root_and_folders_inside(corpus: Path) -> None:
    assert confine(None, [corpus]) == corpus.resolve()
    assert confine("rivers", [corpus]) == (corpus / "rivers").resolve()
    assert confine(str(corpus / "science"), [corpus]) == (corpus / "science").resolve()
    assert confine("rivers/../science", [corpus]) == (corpus / "science").resolve()


@pytest.mark.parametrize(
    "path",
    ["..", "../outside", "rivers/../../outside", "/etc", "escape", "escape/secret.md", "a\x00b"],
)
def test_confine_refuses_escapes(corpus: Path, path: str) -> None:
    with pytest.raises(PathRefusedError):
        confine(path, [corpus])


def test_prefix_of_a_root_is_not_inside_it(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs-private").mkdir()
    with pytest.raises(PathRefusedError):
        confine(str(tmp_path / "docs-private"), [tmp_path / "docs"])


@pytest.mark.slow
@pytest.mark.parametrize("path", ["../outside", "escape", "/etc", "rivers/../../outside"])
def test_http_refuses_with_403_and_starts_no_job(client, app, path: str) -> None:
    jobs_before = len(app.state.runtime.jobs._jobs)
    response = client.post("/reindex", json={"path": path})
    assert response.status_code == 403
    assert "outside the document roots" in response.json()["detail"]
    assert len(app.state.runtime.jobs._jobs) == jobs_before


@pytest.mark.slow
def test_http_missing_folder_and_unknown_job(client) -> None:
    assert client.post("/reindex", json={"path": "no-such-folder"}).status_code == 422
    assert client.get("/reindex/0123456789abcdef").status_code == 404
