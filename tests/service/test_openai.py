"""The official ``openai`` package against a running service that needs an API key.

Everything goes over real HTTP to the session's keyed live service (real models, no mocks): the
model list, plain and streamed chat completions with usage, a follow-up, choosing an adapter
version by ``model``, the limits, the errors each status maps to, and embeddings.
"""

from __future__ import annotations

import httpx
import numpy as np
import openai
import pytest

pytestmark = pytest.mark.slow

RHINE = "Where does the Rhine rise?"


@pytest.fixture(scope="session")
def keyed(guarded_live) -> tuple[str, str, object]:
    """(URL, key, app) of the live service that needs an API key."""
    url, app = guarded_live
    return url, app.state.settings.api_key, app


@pytest.fixture(scope="session")
def client(keyed) -> openai.OpenAI:
    """An OpenAI client pointed at the service with the right key."""
    url, key, _ = keyed
    return openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0, timeout=120)


@pytest.fixture(scope="session")
def extra_version(keyed, make_adapter) -> str:
    """A second adapter version registered for the base model (not the served one)."""
    _, _, app = keyed
    settings = app.state.settings
    return make_adapter(settings, settings.base_model)


def ask(client: openai.OpenAI, question: str, **options):
    """One plain chat completion for a single question."""
    return client.chat.completions.create(
        model="specialist", messages=[{"role": "user", "content": question}], **options
    )


def test_models_list_the_specialist_its_base_and_every_adapter(client, keyed, extra_version):
    _, _, app = keyed
    base = app.state.settings.base_model
    served = app.state.runtime.serving.specialist.adapter_version
    models = {model.id: model for model in client.models.list()}
    assert models["specialist"].root == served
    assert models["specialist"].parent == base
    assert models[base].parent is None
    assert models[extra_version].parent == base
    assert models[served].parent == base
    assert "all-minilm-l6-v2" in models


def test_a_plain_completion_is_the_answer_of_ask_with_its_sources(client, keyed) -> None:
    url, key, _ = keyed
    completion = ask(client, RHINE)
    choice = completion.choices[0]
    asked = httpx.post(
        f"{url}/ask",
        json={"question": RHINE},
        headers={"Authorization": f"Bearer {key}"},
        timeout=120,
    ).json()
    assert choice.message.role == "assistant"
    assert choice.message.content == asked["answer"]
    assert "Swiss Alps" in choice.message.content
    assert choice.message.sources == asked["citations"]
    assert choice.message.sources[0]["source"] == "rivers/rhine.md"
    assert choice.finish_reason == "stop"
    assert completion.model == "specialist"
    assert completion.usage.completion_tokens > 0
    assert completion.usage.total_tokens == (
        completion.usage.prompt_tokens + completion.usage.completion_tokens
    )


def test_a_streamed_completion_ends_with_sources_then_usage(client) -> None:
    stream = client.chat.completions.create(
        model="specialist",
        messages=[{"role": "user", "content": RHINE}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == ask(client, RHINE).choices[0].message.content
    assert chunks[0].choices[0].delta.role == "assistant"
    end = next(c for c in chunks if c.choices and c.choices[0].finish_reason)
    assert end.choices[0].finish_reason == "stop"
    assert end.choices[0].delta.sources[0]["source"] == "rivers/rhine.md"
    assert chunks[-1].choices == []
    assert chunks[-1].usage.completion_tokens > 0
    assert all(c.usage is None for c in chunks[:-1])


def test_a_follow_up_is_answered_from_the_topic_of_the_conversation(client) -> None:
    first = ask(client, RHINE).choices[0].message.content
    follow_up = client.chat.completions.create(
        model="specialist",
        messages=[
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": RHINE},
            {"role": "assistant", "content": first},
            {"role": "user", "content": "Which port do its barges serve?"},
        ],
    )
    message = follow_up.choices[0].message
    assert "Rotterdam" in message.content
    assert [s["source"] for s in message.sources] == ["rivers/rhine.md"]


def test_the_model_field_chooses_the_adapter_that_answers(client, keyed, extra_version) -> None:
    _, _, app = keyed
    base = app.state.settings.base_model
    served = app.state.runtime.serving.specialist.adapter_version
    messages = [{"role": "user", "content": RHINE}]
    chosen = client.chat.completions.create(model=extra_version, messages=messages)
    bare = client.chat.completions.create(model=base, messages=messages)
    default = client.chat.completions.create(model="specialist", messages=messages)
    assert chosen.model == extra_version
    assert chosen.system_fingerprint.startswith(f"adapter-{extra_version}/")
    assert bare.system_fingerprint.startswith("adapter-none/")
    assert default.system_fingerprint.startswith(f"adapter-{served}/")
    assert chosen.choices[0].message.content
    assert app.state.runtime.serving.specialist.adapter_version == served


def test_max_tokens_and_stop_cut_the_answer(client) -> None:
    whole = ask(client, RHINE).choices[0].message.content
    short = ask(client, RHINE, max_tokens=3)
    assert short.choices[0].finish_reason == "length"
    assert 0 < short.usage.completion_tokens <= 3
    assert whole.startswith(short.choices[0].message.content)
    stopped = ask(client, RHINE, stop=["Alps"])
    assert stopped.choices[0].finish_reason == "stop"
    assert stopped.choices[0].message.content == whole[: whole.index("Alps")]
    assert stopped.choices[0].message.sources == []


def test_a_stop_sequence_cuts_a_stream_too(client) -> None:
    whole = ask(client, RHINE).choices[0].message.content
    stream = client.chat.completions.create(
        model="specialist",
        messages=[{"role": "user", "content": RHINE}],
        stream=True,
        stop="Alps",
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == whole[: whole.index("Alps")]


def test_unknown_fields_are_ignored(client) -> None:
    completion = ask(
        client, RHINE, temperature=0, user="someone", seed=7, extra_body={"next_year_option": 1}
    )
    assert "Swiss Alps" in completion.choices[0].message.content


def test_a_wrong_key_is_an_authentication_error(keyed) -> None:
    url, _, _ = keyed
    wrong = openai.OpenAI(base_url=f"{url}/v1", api_key="not-the-key", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as refused:
        wrong.models.list()
    assert refused.value.code == "invalid_api_key"
    with pytest.raises(openai.AuthenticationError):
        wrong.chat.completions.create(
            model="specialist", messages=[{"role": "user", "content": RHINE}]
        )


def test_an_unknown_model_is_not_found(client) -> None:
    with pytest.raises(openai.NotFoundError) as missing:
        client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": RHINE}]
        )
    assert missing.value.code == "model_not_found"
    assert missing.value.param == "model"
    assert "specialist" in missing.value.message
    with pytest.raises(openai.NotFoundError):
        client.embeddings.create(model="specialist", input="Rhine")


def test_sampling_and_several_answers_are_refused_clearly(client) -> None:
    with pytest.raises(openai.BadRequestError) as hot:
        ask(client, RHINE, temperature=0.7)
    assert hot.value.param == "temperature"
    assert "greedy" in hot.value.message
    with pytest.raises(openai.BadRequestError) as many:
        ask(client, RHINE, n=2)
    assert many.value.param == "n"


def test_limits_are_unprocessable(client, keyed) -> None:
    _, _, app = keyed
    limit = app.state.settings.max_new_tokens_limit
    with pytest.raises(openai.UnprocessableEntityError) as too_long:
        ask(client, RHINE, max_tokens=limit + 1)
    assert too_long.value.param == "max_tokens"
    with pytest.raises(openai.UnprocessableEntityError) as no_question:
        client.chat.completions.create(
            model="specialist", messages=[{"role": "assistant", "content": "Hello."}]
        )
    assert no_question.value.param == "messages"
    with pytest.raises(openai.UnprocessableEntityError):
        client.chat.completions.create(model="specialist", messages=[])


def test_embeddings_are_the_index_embedders_vectors(client, keyed) -> None:
    _, _, app = keyed
    texts = ["Where does the Rhine rise?", "chlorophyll absorbs red and blue light"]
    packed = client.embeddings.create(model="all-minilm-l6-v2", input=texts)
    plain = client.embeddings.create(
        model="all-minilm-l6-v2", input=texts[0], encoding_format="float"
    )
    expected = app.state.runtime.serving.index.embed(texts)
    vectors = np.array([item.embedding for item in packed.data])
    assert vectors.shape == (2, 384)
    np.testing.assert_allclose(vectors, expected, atol=1e-5)
    np.testing.assert_allclose(plain.data[0].embedding, expected[0], atol=1e-5)
    assert packed.usage.prompt_tokens > 0
    with pytest.raises(openai.BadRequestError):
        client.embeddings.create(model="all-minilm-l6-v2", input=[[101, 102]])


def generated(app) -> float:
    """Tokens the service has generated so far, abandoned answers included."""
    return app.state.runtime.metrics.tokens._value.get()


@pytest.fixture(scope="session")
def writing(generating_live) -> tuple[openai.OpenAI, object]:
    """(client, app) of the live service whose specialist writes the answers."""
    url, app = generating_live
    return openai.OpenAI(base_url=f"{url}/v1", api_key="none", max_retries=0, timeout=300), app


def test_a_stop_sequence_ends_generation_not_only_the_text(writing) -> None:
    client, app = writing
    question = "Tell me about shipping on the Rhine."
    before = generated(app)
    whole = ask(client, question, max_tokens=24)
    unstopped = generated(app) - before
    reply = ask(client, question, stop=[" "], max_tokens=24)
    made = generated(app) - before - unstopped
    assert unstopped > 8, f"too short an answer to stop early: {whole.choices[0].message.content!r}"
    assert reply.choices[0].finish_reason == "stop"
    assert reply.choices[0].message.content == whole.choices[0].message.content.split(" ")[0]
    assert made <= 4, f"{made} tokens were generated after the answer had ended"


def test_the_writing_specialist_answers_a_follow_up_with_the_history_in_its_prompt(writing):
    client, _ = writing
    reply = client.chat.completions.create(
        model="specialist",
        messages=[
            {"role": "user", "content": RHINE},
            {"role": "assistant", "content": "The Rhine rises in the Swiss Alps. [1]"},
            {"role": "user", "content": "Which port do its barges serve?"},
        ],
        max_tokens=24,
    )
    choice = reply.choices[0]
    assert choice.message.content.strip()
    assert choice.finish_reason in ("stop", "length")
    assert 0 < reply.usage.completion_tokens <= 24
