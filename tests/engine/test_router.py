"""The summary-request recognizer: requests are found, questions stay questions."""

from __future__ import annotations

import time

import pytest

from engine.router import SummaryIntent, summary_intent
from evaluation.router_eval import load_split, score

ARTICLE = (
    "The city's main bridge will close for repairs for six weeks starting on the first of July. "
    "Engineers found corrosion in several steel supports during a routine inspection last spring, "
    "and the council decided to fix them before the damage spreads. Buses will be rerouted over "
    "the northern bridge, and a temporary ferry will run every fifteen minutes during rush hour."
)


@pytest.mark.parametrize(
    ("message", "topic"),
    [
        ("Summarize the Nikola Tesla article.", "Nikola Tesla"),
        ("summarize the rhine", "rhine"),
        ("Give me a quick overview of Genghis Khan.", "Genghis Khan"),
        ("What are the main points of the article about Warsaw?", "Warsaw"),
        ("What are the key takeaways from the documents on the immune system?", "immune system"),
        ("TL;DR the Apollo program", "Apollo program"),
        ("tldr: oxygen", "oxygen"),
        ("Could you briefly recap the report on the Scottish Parliament?", "Scottish Parliament"),
        ("A short summary of the Huguenots, please.", "Huguenots"),
        ("Please summarise what the documents say about Martin Luther.", "Martin Luther"),
        ("Doctor Who summary", "Doctor Who"),
        ("Recap yesterday's stories about the election results.", "election results"),
        ("Hi! Could you summarize Newcastle upon Tyne for me, please?", "Newcastle upon Tyne"),
        (
            "I'm studying for an exam. Give me an overview of European Union law.",
            "European Union law",
        ),
        ("Give me the rundown on Fresno, California.", "Fresno, California"),
        # shortening verbs, slang, a dash, "skim X and ...", a summary idiom, typos, hints
        ("Shorten the Oxygen article to a paragraph.", "Oxygen"),
        ("Reduce the Kenya report to its key points.", "Kenya"),
        ("Turn the Geology documents into a few key takeaways.", "Geology"),
        ("Boil the Huguenots article down to two sentences.", "Huguenots"),
        ("Could you sum the Pharmacy documents up?", "Pharmacy"),
        ("Make me a cheat sheet on the immune system.", "immune system"),
        ("Give me the big picture on the housing market.", "housing market"),
        ("What's the short story on the rail strike?", "rail strike"),
        ("What's the skinny on the Normans?", "Normans"),
        ("Give me the CliffsNotes version of the Rhine article.", "Rhine"),
        ("I'm short on time - what's the gist of the oil crisis?", "oil crisis"),
        ("Skim the Tesla documents and give me the key points.", "Tesla"),
        ("Explain the Apollo program in a nutshell.", "Apollo program"),
        ("sumarize the Yuan dynasty pls", "Yuan dynasty"),
        ("tl dr the Kenya article", "Kenya"),
        ("Would you mind giving me a rundown of the Scottish Parliament?", "Scottish Parliament"),
        ("Any chance you could recap Super Bowl 50?", "Super Bowl 50"),
        ("Catch me up on what's happening with the port strike.", "port strike"),
        ("Summarize the Black Death asap", "Black Death"),
        ("Summarize geology for a ten-year-old.", "geology"),
        ("Give me an overview of Warsaw before my exam.", "Warsaw"),
        ("TL;DR of yesterday's wildfire coverage", "wildfire"),
        ("What are the main points of the article on Protestant doctrine?", "Protestant doctrine"),
    ],
)
def test_requests_are_recognized_with_their_topic(message: str, topic: str) -> None:
    intent = summary_intent(message)
    assert intent is not None
    assert intent.topic == topic
    assert intent.pasted is None


@pytest.mark.parametrize("message", ["shorter please", "Can you make that shorter?", "Shorten it."])
def test_a_follow_up_asking_for_a_shorter_answer_is_a_short_request_without_a_topic(
    message: str,
) -> None:
    assert summary_intent(message) == SummaryIntent(None, None, "short", None)


@pytest.mark.parametrize(
    "message", ["Summarize that.", "Could you summarize this please?", "Summarize the documents."]
)
def test_a_request_without_a_topic_leaves_it_to_the_caller(message: str) -> None:
    assert summary_intent(message) == SummaryIntent(None, None, None, None)


@pytest.mark.parametrize(
    "message",
    [
        "What is a summary judgment?",
        "Who wrote the summary of the Warren Commission?",
        "When was the overview effect first described?",
        "Does the Black Death article summarize the death toll?",
        "Can summary dismissal be challenged in court?",
        "What were the main points of the Treaty of Versailles?",
        "What are the main points of disagreement among historians about the Black Death?",
        "What is the main point of the article on civil disobedience?",
        "What is the Summary for Policymakers of the IPCC?",
        "In summary, which side won the French and Indian War?",
        "What is the meaning of tldr?",
        "How should I summarize a scientific paper?",
        "Who recapped the match for the BBC?",
        "Summary execution: was it common under Genghis Khan?",
        "Summing up, who won the war?",
        "Please tell me who wrote the overview of the Normans.",
        "Thanks for the recap!",
        "When did Nikola Tesla die?",
        "What are the main points of Protestant doctrine?",
        "What is the gist of a limerick?",
        "What are the main points of the Treaty of Versailles?",
        "What are the main points in favour of nuclear power?",
        "What does TL;DR stand for?",
        "How do I summarize a book for school?",
        "Can you summarize PDFs?",
        "Could you summarize documents in French?",
        "How do I shorten my commute?",
        "Reduce costs by ten percent.",
        "Write a short story about a dog.",
        "Give me the full version of the Rhine article.",
        "Explain the Black Death briefly.",
        "Don't summarize it, just tell me when the Rhine freezes.",
        "Read the Tesla article and tell me when he was born.",
        "Digest of Justinian: who compiled it?",
        "",
    ],
)
def test_questions_that_mention_summaries_stay_questions(message: str) -> None:
    assert summary_intent(message) is None


@pytest.mark.parametrize(
    "message",
    [
        f"Summarize this article: {ARTICLE}",
        f"Please summarize:\n\n{ARTICLE}",
        f"{ARTICLE}\n\nTL;DR",
        f"{ARTICLE} tl;dr",
        f"{ARTICLE}\n\nWhat are the main points?",
        f"Here is a news story: {ARTICLE} Please summarize it.",
    ],
)
def test_pasted_text_is_returned_as_pasted_and_not_as_topic(message: str) -> None:
    intent = summary_intent(message)
    assert intent is not None
    assert intent.topic is None
    assert intent.pasted == ARTICLE


def test_a_short_text_counts_as_pasted_only_when_the_request_points_at_it() -> None:
    pointed = summary_intent("Summarize the following: Tesla was born in 1856 in Smiljan.")
    assert pointed is not None and pointed.pasted == "Tesla was born in 1856 in Smiljan."
    named = summary_intent("TLDR: Genghis Khan")
    assert named is not None and (named.topic, named.pasted) == ("Genghis Khan", None)


def test_a_question_about_pasted_text_stays_a_question() -> None:
    assert summary_intent(f"{ARTICLE}\n\nWhen will the bridge close?") is None


@pytest.mark.parametrize(
    ("message", "length"),
    [
        ("Summarize the Scottish Parliament in one sentence.", "short"),
        ("Can you briefly recap the article about Super Bowl 50?", "short"),
        ("Rhine tl;dr", "short"),
        ("Summarize geology in 3-5 sentences.", "medium"),
        ("What are the main points of the Kenya report?", "medium"),
        ("Summarize the 1973 oil crisis in detail.", "long"),
        ("Give me a detailed summary of the Normans.", "long"),
        ("Write me a three-paragraph summary of imperialism.", "long"),
        ("Produce a bullet-point summary of the 1973 oil crisis.", None),
        ("Summarize the Apollo program.", None),
        (f"{ARTICLE}\n\nSummarize the above in two sentences.", "short"),
    ],
)
def test_length_hints_are_read(message: str, length: str | None) -> None:
    intent = summary_intent(message)
    assert intent is not None
    assert intent.length == length


@pytest.mark.parametrize(
    ("message", "topic", "focus"),
    [
        ("I'd like an overview of economic inequality, focusing on its causes.",
         "economic inequality", "its causes"),
        ("Summarize the Yuan dynasty with a focus on Kublai Khan.", "Yuan dynasty", "Kublai Khan"),
        ("Sum up the French and Indian War, especially the role of the colonies.",
         "French and Indian War", "the role of the colonies"),
        ("Summarize the report on Kenya, focusing on its economy.", "Kenya", "its economy"),
        ("Summarize the Rhine. Focus on pollution.", "Rhine", "pollution"),
    ],
)  # fmt: skip
def test_focus_hints_are_split_from_the_topic(message: str, topic: str, focus: str) -> None:
    intent = summary_intent(message)
    assert intent is not None
    assert (intent.topic, intent.focus) == (topic, focus)


@pytest.mark.parametrize(
    "message",
    [
        "tl dr " * 300,
        "- " * 1000,
        "short version " * 150,
        "a, " * 700 + "summary",
        " " * 2000 + "x",
    ],
)
def test_repetitive_messages_do_not_hang_the_router(message: str) -> None:
    """No pattern backtracks catastrophically on a message of the longest question's size (one
    did: "tl dr " x 24 took 6 s). The bound is a hang detector, 30x a normal call on a busy
    machine, not a speed target: ``python -m evaluation.router_eval`` reports the speed."""
    start = time.perf_counter()
    summary_intent(message)
    assert time.perf_counter() - start < 2.0


def test_dev_split_scores_at_least_95_percent() -> None:
    report = score(load_split("dev"))
    assert report["precision"] >= 0.95, report["errors"]
    assert report["recall"] >= 0.95, report["errors"]
