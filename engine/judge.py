"""The specialist judges the reader's shortlist: how likely is the question, given each sentence?

The extractive reader's scorer sees surface signals (shared terms, embedding similarity, answer
type); it cannot tell which of two sentences that share the question's words is the one the
question was asked about. A language model can, by query likelihood: the sentence that makes the
question most probable (``log P(question | "Passage: sentence ...")``) is the one that answers it.
This is the "choose among candidate spans by the model's likelihood" route to grounded answers:
the model picks, but the answer is still copied verbatim from a cited passage, so it can never
state what no passage says.

The same pass scores the question given an empty passage. How much likelier the chosen sentence
makes the question than no passage at all (the *lift*, per question token) tells a sentence the
question was asked about from a near miss that merely shares its words; the reader weighs it in
its decision to decline.

Scoring only the scorer's few best sentences keeps the cost to one batched forward pass of a few
short sequences per answer (no decoding); the weights of the judge's vote and of its lift are set
on dev articles by ``specialist train-reader``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch

from engine.threads import fit_threads

if TYPE_CHECKING:
    from engine.loader import Specialist

JUDGE_PROMPT = "Passage: {sentence}\nWrite a question that this passage answers.\nQuestion:"
"""What the judge reads before the question; plain text, the same for the base and the specialist."""


def question_log_probability(
    specialist: Specialist, question: str, sentences: Sequence[str]
) -> np.ndarray:
    """``log P(question | sentence)`` per question token under the specialist, one per sentence.

    One forward pass over the batch of ``prompt(sentence) + question`` sequences, right-padded.
    The mean over the question's tokens (the same tokens for every sentence) ranks sentences as
    the sum would, and compares across questions of different lengths; an empty sentence gives
    the question's probability with no passage. A remote engine scores the same texts from its
    echoed prompt log-probabilities, one request per sentence; the in-process llama.cpp engine
    scores them in its running batches.
    """
    if not sentences:
        return np.zeros(0)
    if specialist.remote is not None:
        # Each text starts with the beginning-of-sequence token's text: llama-cpp-python pairs
        # echoed log-probabilities with the right tokens only after one (measured: without it
        # every value is shifted by a token). Scores then match local ones within ~0.15 of lift.
        lead = specialist.tokenizer.bos_token or ""
        prefixes = [lead + JUDGE_PROMPT.format(sentence=s) for s in sentences]
        return specialist.remote.continuation_log_probability(prefixes, " " + question.strip())
    tokenizer = specialist.tokenizer
    asked = tokenizer(" " + question.strip(), add_special_tokens=False).input_ids
    prompts = [
        tokenizer(JUDGE_PROMPT.format(sentence=s), add_special_tokens=False).input_ids
        for s in sentences
    ]
    if specialist.batched is not None:
        scored = specialist.batched.score([(p + asked, len(p)) for p in prompts])
        return np.array([row.mean() for row in scored])
    model = specialist.model
    assert model is not None, "a local specialist has weights"
    rows = [prompt + asked for prompt in prompts]
    width = max(len(row) for row in rows)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    ids = torch.full((len(rows), width), pad, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = torch.tensor(row)
        mask[i, : len(row)] = 1
    fit_threads()
    with torch.inference_mode():
        hidden = model.model(input_ids=ids, attention_mask=mask).last_hidden_state
        # the vocabulary projection only where a question token is predicted
        positions = torch.cat(
            [
                i * width + torch.arange(len(p) - 1, len(p) - 1 + len(asked))
                for i, p in enumerate(prompts)
            ]
        )
        logits = model.lm_head(hidden.reshape(-1, hidden.shape[-1])[positions]).float()
    predicted = logits.log_softmax(-1).gather(1, torch.tensor(asked).repeat(len(rows))[:, None])
    return predicted.reshape(len(rows), len(asked)).mean(1).numpy().astype(np.float64)
