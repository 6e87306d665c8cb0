"""The loader, the generator and the answer pipeline exist once: every way in gives one text.

``/ask`` (the live service), ``specialist ask --local`` and ``eval all``'s QA path answer one
question with the same text; the generating reader of that pipeline and ``eval rag`` write the
same answer from the same prompt; and ``eval summarize``'s batched generation and the
streaming generator summarize one document with the same text. Each path loads the specialist
where it always does (the service at start-up, the CLI, each evaluation), so a second loader, a
second stop rule or a second pipeline would show up as a different answer. Every path runs with
the service's thread count, as the pool gives a lone answer.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from engine.answering import AnswerPolicy, fit_passages, passages_request
from engine.generate import stream_tokens
from engine.loader import load_specialist
from evaluation.qa import with_retrieval
from retrieval.search import open_index
from specialist.cli import main
from specialist.prompt import NO_ANSWER, render, summary_request
from training.evaluate import evaluate_rag, evaluate_summaries
from training.raft import Paragraph, Question

pytestmark = pytest.mark.slow

QUESTION = "Where does the Rhine rise?"
TOP_K = 3
TOKENS = 24
DOCUMENT = (
    "#Person1#: The printer on the second floor is jammed again.\n"
    "#Person2#: I'll call the technician and send the report to the one downstairs."
)


def write_jsonl(path: Path, record: dict) -> Path:
    path.write_text(json.dumps(record) + "\n")
    return path


def test_ask_ask_local_eval_all_and_eval_rag_give_one_answer(
    client: httpx.Client, service_settings, monkeypatch, capsys, tmp_path: Path
) -> None:
    served = client.post(
        "/ask", json={"question": QUESTION, "top_k": TOP_K, "max_new_tokens": TOKENS}
    ).json()
    assert served["answer"] and served["answer"] != NO_ANSWER
    version = served["adapter_version"]

    monkeypatch.setenv("SPECIALIST_HOME", str(service_settings.home))
    monkeypatch.setenv("SPECIALIST_THREADS", str(service_settings.threads))
    args = ["ask", "--local", "--json", "--top-k", str(TOP_K), "--max-new-tokens", str(TOKENS)]
    assert main([*args, QUESTION]) == 0
    local = json.loads(capsys.readouterr().out)
    assert (local["answer"], local["citations"]) == (served["answer"], served["citations"])
    assert (local["index_version"], local["adapter_version"]) == (served["index_version"], version)

    index = open_index(service_settings)
    hits = index.search(QUESTION, k=TOP_K)
    specialist = load_specialist(service_settings, version)  # as ``eval all`` loads it
    question = Question(QUESTION, Paragraph("0", "Rhine", ""), ("Swiss Alps",), 0)
    policy = AnswerPolicy.from_settings(service_settings)
    evaluated = with_retrieval(specialist, index, policy, TOKENS)(question, hits, 0.0)
    assert evaluated.text == served["answer"]

    generating = replace(policy, reader=None)  # SPECIALIST_READER=generate, eval rag's reader
    generated = with_retrieval(specialist, index, generating, TOKENS)(question, hits, 0.0)
    assert generated.text and generated.text != served["answer"]
    passages = fit_passages(
        hits, specialist.tokenizer, policy.prompt_budget, QUESTION, policy.passage_words
    )
    raft = {
        "prompt": passages_request(QUESTION, passages),
        "answers": ["Swiss Alps"],
        "gold": 1,
        "passages": [p.text for p in passages],
    }
    report = evaluate_rag(
        service_settings,
        write_jsonl(tmp_path / "rag.jsonl", raft),
        ["adapter"],
        version,
        limit=None,
        out=None,
        max_new_tokens=TOKENS,
    )
    assert report["results"]["adapter"]["examples"] == [generated.text]


def test_eval_summarize_batches_the_text_the_stream_gives(service_settings, tmp_path) -> None:
    data = write_jsonl(
        tmp_path / "dialogue.jsonl", {"document": DOCUMENT, "summary": "The printer is jammed."}
    )
    report = evaluate_summaries(
        service_settings, data, [], ["adapter"], None, limit=None, out=None, max_new_tokens=TOKENS
    )
    batched = report["results"]["adapter"]
    specialist = load_specialist(service_settings, batched["adapter_version"])
    prompt = render(specialist.tokenizer, summary_request(DOCUMENT))
    streamed = "".join(stream_tokens(specialist.model, specialist.tokenizer, prompt, TOKENS))
    assert batched["examples"] == [streamed.strip()]
    assert streamed.strip()
