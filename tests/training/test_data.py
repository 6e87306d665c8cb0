"""Reading, validating and converting training data (no model needed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from specialist.errors import UserError
from specialist.prompt import SYSTEM, summary_request
from training.data import (
    Example,
    document_keys,
    read_examples,
    summary_examples,
    write_examples,
)


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines))
    return path


def test_reads_both_formats(tmp_path: Path) -> None:
    chat = {
        "messages": [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": "Summarize: a b c"},
            {"role": "assistant", "content": "abc"},
        ]
    }
    path = write_lines(
        tmp_path / "mixed.jsonl",
        [json.dumps({"prompt": "q", "completion": "a"}), "", json.dumps(chat)],
    )
    assert read_examples(path) == [Example("q", "a"), Example("Summarize: a b c", "abc")]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("{not json", "Expecting property name"),
        ('["a list"]', "expected a JSON object"),
        ('{"prompt": "q"}', '"completion"'),
        ('{"prompt": "q", "completion": "  "}', "must not be empty"),
        ('{"messages": [{"role": "user", "content": "q"}]}', "one user turn"),
        (
            '{"messages": [{"role": "system", "content": "other"}, '
            '{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}',
            "prompt.SYSTEM",
        ),
    ],
)
def test_malformed_line_names_file_and_line(tmp_path: Path, line: str, reason: str) -> None:
    path = write_lines(
        tmp_path / "bad.jsonl", [json.dumps({"prompt": "q", "completion": "a"}), line]
    )
    with pytest.raises(UserError) as error:
        read_examples(path)
    assert str(error.value).startswith(f"{path}:2: ")
    assert reason in str(error.value)


def test_empty_file_is_a_clear_error(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "empty.jsonl", ["", "  "])
    with pytest.raises(UserError, match="holds no examples"):
        read_examples(path)


def test_dialogsum_conversion_drops_duplicates_and_eval_documents(tmp_path: Path) -> None:
    def record(dialogue: str, summary: str) -> str:
        return json.dumps({"dialogue": dialogue, "summary": summary})

    train = write_lines(
        tmp_path / "train.jsonl",
        [
            record("#Person1#: Hi.\n#Person2#: Hello.", "They greet."),
            record("#Person1#:  Hi.  #Person2#: Hello.", "Duplicate with other spacing."),
            record("#Person1#: Test leak.", "In test."),
            record("#Person1#: Bye.", "They part."),
        ],
    )
    test = write_lines(tmp_path / "test.jsonl", [record("#Person1#: Test   leak.", "x")])
    examples = summary_examples(train, "dialogue", "summary", document_keys([test], "dialogue"))
    assert [e.completion for e in examples] == ["They greet.", "They part."]
    assert examples[0].prompt == summary_request("#Person1#: Hi.\n#Person2#: Hello.")
    out = tmp_path / "out.jsonl"
    assert write_examples(out, examples) == 2
    assert read_examples(out) == examples


def test_conversion_reports_missing_field(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "docs.jsonl", [json.dumps({"document": "text"})])
    with pytest.raises(UserError, match=r"docs.jsonl:1: missing string field 'summary'"):
        summary_examples(path, "document", "summary")


def test_train_command_reports_bad_data_in_one_line(tmp_path: Path, capsys) -> None:
    from specialist.cli import main

    path = write_lines(tmp_path / "bad.jsonl", ["{oops"])
    assert main(["train", "--data", str(path)]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith(f"specialist train: {path}:1: ")
    assert "\n" not in error


def test_unknown_config_key_is_refused(tmp_path: Path) -> None:
    from training.config import load_config

    config = tmp_path / "config.json"
    config.write_text(json.dumps({"lora_rank": 8}))
    with pytest.raises(UserError, match="unknown config key"):
        load_config(config)
