"""The in-process llama.cpp engine: continuous batching on the real model, adapter folded in.

float32 weights (``engine_weights=f32``) so that answers can be compared token for token with
transformers' float32 ones; the default q8_0 file is compared over 50 questions by the benches.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import gguf
import numpy as np
import pytest

pytest.importorskip("llama_cpp", reason="the engine extra is not installed (make test does)")

from engine.batched import BatchedEngine
from engine.generate import generate_batch
from engine.gguf_merged import merged_gguf
from engine.judge import question_log_probability
from engine.loader import Specialist, attach_adapter, load_specialist
from specialist.prompt import render, summary_request

SHIPPED = Path(__file__).resolve().parents[2] / "adapters" / "default"
DIALOGUES = [
    "#Person1#: Hi Tom, are you coming to the team lunch on Friday at noon?\n"
    "#Person2#: I can't, I have a dentist appointment. Can we move it to Monday?\n"
    "#Person1#: Sure, I'll tell everyone lunch moves to Monday.",
    "#Person1#: The printer on the third floor is jammed again.\n"
    "#Person2#: I'll call the technician and ask him to come this afternoon.",
    "#Person1#: How much is the blue jacket?\n#Person2#: It's 40 dollars, 30 on sale today.\n"
    "#Person1#: Great, I'll take it in medium.",
]


@pytest.fixture(scope="module")
def f32_settings(settings):
    return settings.model_copy(update={"engine_weights": "f32"})


@pytest.fixture(scope="module")
def engine(f32_settings):
    """The base model in float32 on llama.cpp, 4 slots, small prefill chunks (so steps interleave)."""
    batched = BatchedEngine(merged_gguf(f32_settings, None, None), threads=2, prefill_chunk=16)
    yield batched
    batched.close()


@pytest.fixture(scope="module")
def prompts(base_model) -> list[list[int]]:
    _, tokenizer = base_model
    return [
        tokenizer(render(tokenizer, summary_request(d)), add_special_tokens=False).input_ids
        for d in DIALOGUES
    ]


def test_answers_equal_transformers_float32(engine, base_model) -> None:
    model, tokenizer = base_model
    ours = Specialist(None, tokenizer, "smollm2-135m", None, batched=engine)
    texts = [render(tokenizer, summary_request(d)) for d in DIALOGUES]
    assert ours.generate_batch(texts, 32) == generate_batch(model, tokenizer, texts, 32)


def test_a_request_joining_a_running_batch_gets_its_answer_alone(engine, prompts) -> None:
    alone = [list(engine.generate(p, 32)) for p in prompts]
    first = engine.generate(prompts[0], 32)
    started = [next(first), next(first)]  # the first answer is decoding when the others join
    joined: list[list[int]] = [[], []]
    threads = [
        threading.Thread(target=lambda i=i: joined[i].extend(engine.generate(prompts[i + 1], 32)))
        for i in range(2)
    ]
    for thread in threads:
        thread.start()
    rest = list(first)
    for thread in threads:
        thread.join()
    assert started + rest == alone[0]
    assert joined == alone[1:]


def test_a_cancelled_request_leaves_the_batch_and_the_others_finish(engine, prompts) -> None:
    alone = list(engine.generate(prompts[1], 32))
    stop = threading.Event()
    cancelled = engine.generate(prompts[0], 200, stop)
    other: list[int] = []
    thread = threading.Thread(target=lambda: other.extend(engine.generate(prompts[1], 32)))
    next(cancelled)
    thread.start()
    time.sleep(0.5)
    stop.set()
    left = list(cancelled)  # ends within a step of the stop
    thread.join()
    assert len(left) < 199
    assert other == alone
    assert not engine._running and not engine._waiting


def test_scores_match_the_transformers_judge(f32_settings, engine, base_model) -> None:
    model, tokenizer = base_model
    sentences = ["The treaty was signed in Lisbon in 2007.", "Barges carry coal on the Rhine.", ""]
    question = "Where was the treaty signed?"
    local = question_log_probability(
        Specialist(model, tokenizer, "smollm2-135m", None), question, sentences
    )
    ours = question_log_probability(
        Specialist(None, tokenizer, "smollm2-135m", None, batched=engine), question, sentences
    )
    # llama.cpp's float32 kernels sum in another order than torch's, and the order depends on the
    # CPU's vector width: 1.2e-3 apart on an AVX-512 machine, under 1e-3 on an AVX2 one. The
    # answerability model standardizes these scores by about 1, so 5e-3 is far below a decision.
    assert ours == pytest.approx(local, abs=5e-3)


def test_adapter_is_folded_into_the_gguf_as_transformers_merges_it(
    f32_settings, base_model, tmp_path
) -> None:
    """The shipped adapter merged in the GGUF answers like peft's merge in float32."""
    from specialist.models import load_base_model

    model, tokenizer = load_base_model(f32_settings.model_copy(update={"dtype": "float32"}))
    merged = attach_adapter(model, SHIPPED, merge=True)
    path = merged_gguf(f32_settings, "shipped-test", SHIPPED)
    tensor = next(t for t in gguf.GGUFReader(path).tensors if t.name == "blk.0.attn_v.weight")
    expected = merged.model.layers[0].self_attn.v_proj.weight.detach().numpy()
    assert np.allclose(np.asarray(tensor.data).reshape(expected.shape), expected, atol=1e-6)
    batched = BatchedEngine(path, threads=2)
    try:
        specialist = Specialist(None, tokenizer, "smollm2-135m", "shipped-test", batched=batched)
        prompt = render(tokenizer, summary_request(DIALOGUES[0]))
        assert specialist.generate_batch([prompt], 40) == generate_batch(
            merged, tokenizer, [prompt], 40
        )
    finally:
        batched.close()


def test_streaming_yields_pieces_as_they_are_decoded(f32_settings, base_model) -> None:
    specialist = load_specialist(f32_settings.model_copy(update={"engine": "llama-cpp"}))
    try:
        prompt = render(specialist.tokenizer, summary_request(DIALOGUES[2]))
        arrivals = []
        for piece in specialist.stream(prompt, 40):
            arrivals.append((time.perf_counter(), piece))
        assert len(arrivals) > 3
        assert arrivals[-1][0] - arrivals[0][0] > 0.01, "pieces arrive over time, not at once"
        assert "".join(p for _, p in arrivals).strip() == specialist.generate_batch([prompt], 40)[0]
    finally:
        assert specialist.batched is not None
        specialist.batched.close()


def test_prompt_beyond_a_slot_is_refused_with_a_sentence(engine) -> None:
    from specialist.errors import UserError

    with pytest.raises(UserError, match="tokens per answer"):
        list(engine.generate([1] * engine.slot_tokens, 8))
