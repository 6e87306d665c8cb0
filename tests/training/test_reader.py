"""``fit_reader`` end to end on three shipped articles, a SQuAD 2.0-style extra and the real judge.

The data is built from ``corpora/xquad`` and the RAFT training questions so the test runs on a
fresh clone without ``../shared``.
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import pytest

from engine.extract import ANSWERABILITY, ReaderWeights
from engine.judge import question_log_probability
from engine.loader import Specialist
from specialist.errors import UserError
from specialist.settings import PROJECT_ROOT
from training.raft import load_xquad
from training.reader import JUDGE_WEIGHTS, Split, fit_reader, folds_of, observe_all

CORPUS = PROJECT_ROOT / "corpora" / "xquad"
QUESTIONS = PROJECT_ROOT / "corpora" / "training" / "raft_train.jsonl"
TRAIN, DEV = ["Oxygen", "Geology"], ["Chloroplast"]
PER_ARTICLE = 8
UNANSWERABLE = "What is the melting point of oxygen ice on Mars in 1850?"


def squad_file(path: Path, titles: list[str], impossible: bool = False) -> Path:
    """A SQuAD-layout file of ``titles`` with their first RAFT questions (plus one unanswerable)."""
    asked: dict[str, list[dict]] = {}
    for line in QUESTIONS.read_text().splitlines():
        record = json.loads(line)
        asked.setdefault(record["article"], []).append(record)
    data = []
    for title in titles:
        head, *body = (CORPUS / f"{title}.md").read_text().split("\n\n")
        texts = [p.strip() for p in body if p.strip()]
        paragraphs = [{"context": text, "qas": []} for text in texts]
        for record in asked[title][:PER_ARTICLE]:
            answer = record["answers"][0]
            where = next((i for i, t in enumerate(texts) if answer in t), None)
            if where is not None:
                start = texts[where].index(answer)
                paragraphs[where]["qas"].append(
                    {
                        "question": record["question"],
                        "answers": [{"text": answer, "answer_start": start}],
                    }
                )
        if impossible:
            paragraphs[0]["qas"].append(
                {"question": UNANSWERABLE, "answers": [], "is_impossible": True}
            )
        data.append({"title": head.removeprefix("# ").strip(), "paragraphs": paragraphs})
    path.write_text(json.dumps({"version": "v2.0", "data": data}))
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("reader-data")
    return {
        "xquad": squad_file(folder / "xquad.json", TRAIN + DEV),
        "squad2": squad_file(folder / "squad2.json", ["Rhine"], impossible=True),
    }


def test_unanswerable_questions_load_only_when_asked_for(files) -> None:
    kept = load_xquad(files["squad2"], unanswerable=True)["Rhine"]
    assert [q.answers for q in kept if q.question == UNANSWERABLE] == [()]
    with pytest.raises(UserError, match="not in SQuAD layout"):
        load_xquad(files["squad2"])


def test_folds_hold_out_dev_first_then_the_train_articles_dealt_in_sorted_order() -> None:
    split = Split(["d", "a", "c", "b", "e"], ["x", "y"], ["t"])
    assert folds_of(split, 3) == [["x", "y"], ["a", "c", "e"], ["b", "d"]]
    assert folds_of(split, 9)[0] == ["x", "y"] and len(folds_of(split, 9)) == 6
    with pytest.raises(UserError, match="at least 2 folds"):
        folds_of(split, 1)


def test_fit_reader_uses_the_extra_questions_and_fits_the_decline_held_out(
    settings, base_model, files, tmp_path
) -> None:
    from retrieval.corpus_xquad import xquad_index
    from training.data import sha256_file

    index = xquad_index(settings, files["xquad"], sha256_file(files["xquad"]))
    extra_index = xquad_index(settings, files["squad2"], sha256_file(files["squad2"]))
    extra = [q for qs in load_xquad(files["squad2"], unanswerable=True).values() for q in qs]
    seen = observe_all(extra_index, extra, 4, "extra")
    assert len(seen) == 2 * len(extra) - 1, "answerable twice, unanswerable once"
    declined = [s for s in seen if s.question == UNANSWERABLE]
    assert len(declined) == 1 and declined[0].withheld and not declined[0].labels.any()

    model, tokenizer = base_model
    judge = partial(question_log_probability, Specialist(model, tokenizer, "smollm2-135m", None))
    split = Split(TRAIN, DEV, [])
    weights = fit_reader(
        index,
        load_xquad(files["xquad"]),
        split,
        4,
        0.1,
        extra=[(extra_index, extra)],
        judge=judge,
        folds=3,
    )
    assert weights.judge_weight in JUDGE_WEIGHTS
    assert 0 < weights.threshold < 1
    assert weights.record["fitted_on"]["extra_unanswerable"] == 1
    assert weights.record["cross_fitted"]["folds"] == [DEV, ["Geology"], ["Oxygen"]]
    tried = weights.record["answered_and_holds_gold_pct_by_judge_weight"]
    assert set(tried) == {str(w) for w in JUDGE_WEIGHTS}
    assert weights.answerability is not None
    assert weights.answerability.features == ANSWERABILITY, "the judge's signals too"
    held_out = weights.record["held_out"]
    before = weights.record["held_out_sentence_confidence"]
    assert held_out["declines_answerable_pct"] == pytest.approx(10, abs=5)
    assert held_out["declines_withheld_pct"] > held_out["declines_answerable_pct"], "it separates"
    assert held_out["best_sentence_holds_gold_pct"] == before["best_sentence_holds_gold_pct"]
    every_question = sum(len(load_xquad(files["xquad"])[t]) for t in TRAIN + DEV)
    assert held_out["questions"] == every_question, "each article's questions held out once"
    path = tmp_path / "reader.json"
    path.write_text(weights.to_json())
    assert ReaderWeights.load(path) == weights
