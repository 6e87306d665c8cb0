"""RAFT-style examples (Zhang et al. 2024) from XQuAD: a question, numbered passages, a cited answer.

Each example shows the question with 3-4 passages: the paragraph holding the answer among hard
negatives that the project's own hybrid retriever ranks high for the question, so the model learns
to pick the right passage out of what retrieval really returns. In a fraction of the examples the
gold paragraph is left out and the answer is ``NO_ANSWER``, which teaches abstention.

Articles are split (seeded) into train and held-out before anything else, and each split is
indexed on its own, so neither the questions nor the distractor passages of a held-out article
ever reach training. Passages are cut to a window of whole sentences to keep prompts short.
"""

from __future__ import annotations

import json
import random
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from tqdm import tqdm

from specialist.errors import UserError
from specialist.prompt import NO_ANSWER, PromptPassage, rag_request
from specialist.settings import Settings
from specialist.text import holds_answer, sentence_window, sentences


@dataclass(frozen=True)
class RaftOptions:
    """How the examples are built."""

    heldout_articles: int = 12
    no_answer_fraction: float = 0.1
    min_passages: int = 3
    max_passages: int = 4
    passage_words: int = 50
    """Passages are cut to whole sentences totalling about this many words."""
    answer_words: int = 40
    """A longer answer sentence is cut to this many words around the answer span."""
    seed: int = 1234


@dataclass(frozen=True)
class Paragraph:
    """One XQuAD paragraph and where it sits."""

    key: str
    article: str
    text: str


@dataclass(frozen=True)
class Question:
    """A question with its gold paragraph and every accepted answer span."""

    question: str
    paragraph: Paragraph
    answers: tuple[str, ...]
    answer_start: int


@dataclass(frozen=True)
class RaftExample:
    """A training/eval record: the prompt/completion pair plus what evaluation needs."""

    prompt: str
    completion: str
    question: str
    answers: list[str]
    gold: int | None
    passages: list[str]
    article: str


def load_xquad(path: Path, unanswerable: bool = False) -> dict[str, list[Question]]:
    """Questions grouped by article title, from a SQuAD v1.1-layout JSON file.

    With ``unanswerable``, SQuAD 2.0's questions without an answer (``is_impossible``) are kept,
    with no answers and ``answer_start`` -1; without it, a question with no answer is an error.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))["data"]
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise UserError(f"{path}: not a SQuAD-layout JSON file ({exc})") from None
    articles: dict[str, list[Question]] = {}
    for a_index, article in enumerate(data):
        try:
            title = article["title"].replace("_", " ")
            questions = articles.setdefault(title, [])
            for p_index, paragraph in enumerate(article["paragraphs"]):
                para = Paragraph(f"{a_index:03d}/{p_index:03d}", title, paragraph["context"])
                for qa in paragraph["qas"]:
                    answers = tuple(dict.fromkeys(a["text"] for a in qa["answers"]))
                    if unanswerable and not answers and qa.get("is_impossible"):
                        questions.append(Question(qa["question"], para, (), -1))
                        continue
                    questions.append(
                        Question(qa["question"], para, answers, qa["answers"][0]["answer_start"])
                    )
        except (KeyError, IndexError, TypeError, AttributeError) as exc:
            raise UserError(
                f"{path}: article {a_index} is not in SQuAD layout "
                f"(title, paragraphs[].context, qas[].question, answers[].text): {exc!r}"
            ) from None
    if not articles:
        raise UserError(f"{path}: holds no articles")
    return articles


def split_articles(titles: Sequence[str], heldout: int, seed: int) -> tuple[list[str], list[str]]:
    """Seeded (train, held-out) split of article titles."""
    if not 0 < heldout < len(titles):
        raise UserError(f"cannot hold out {heldout} of {len(titles)} articles")
    shuffled = sorted(titles)
    random.Random(seed).shuffle(shuffled)
    return sorted(shuffled[heldout:]), sorted(shuffled[:heldout])


def window(text: str, words: int, rng: random.Random, must_hold: int | None = None) -> str:
    """Whole sentences totalling about ``words`` words, holding character ``must_hold`` if given."""
    spans = sentences(text)
    holder = -1
    if must_hold is None:
        first = rng.randrange(len(spans))
    else:
        holder = next(i for i, (_, end) in enumerate(spans) if end > must_hold)
        first = rng.randint(max(0, holder - 2), holder)
    return sentence_window(text, spans, first, words, holder)


def answer_sentence(question: Question, max_words: int) -> str:
    """The gold sentence holding the answer span, cut around the span when it runs long."""
    text = question.paragraph.text
    start, end = next((s, e) for s, e in sentences(text) if e > question.answer_start)
    sentence = text[start:end].strip()
    words = sentence.split()
    if len(words) <= max_words:
        return sentence
    answer_at = len(text[start : question.answer_start].split())
    first = max(0, min(answer_at - max_words // 2, len(words) - max_words))
    clipped = " ".join(words[first : first + max_words]).rstrip(",;:")
    return clipped if clipped.endswith((".", "!", "?")) else clipped + "."


class DistractorFinder:
    """Hard negatives for a question: top hits of the project's hybrid retriever over one split."""

    def __init__(self, settings: Settings, paragraphs: Sequence[Paragraph], work: Path) -> None:
        from retrieval.indexer import build_index
        from retrieval.search import open_index

        self.by_source: dict[str, Paragraph] = {}
        docs = work / "docs"
        for paragraph in paragraphs:
            source = f"{paragraph.key}.txt"
            (docs / source).parent.mkdir(parents=True, exist_ok=True)
            (docs / source).write_text(paragraph.text, encoding="utf-8")
            self.by_source[source] = paragraph
        build_index(settings, docs, progress=False, root=work / "index")
        index = open_index(settings, root=work / "index")
        if index is None:
            raise UserError("indexing the XQuAD paragraphs produced no index")
        self.index = index

    def find(self, question: Question, count: int) -> list[Paragraph]:
        """Up to ``count`` other paragraphs ranked highest for the question, none holding its answer."""
        found: list[Paragraph] = []
        for hit in self.index.search(question.question, k=count * 4 + 4):
            paragraph = self.by_source.get(hit.source)
            if (
                paragraph is None
                or paragraph == question.paragraph
                or paragraph in found
                or holds_answer(paragraph.text, question.answers)
            ):
                continue
            found.append(paragraph)
            if len(found) == count:
                break
        return found


def build_examples(
    questions: Sequence[Question],
    finder: DistractorFinder,
    options: RaftOptions,
    rng: random.Random,
    desc: str,
) -> list[RaftExample]:
    """One example per question; ``no_answer_fraction`` of them without the gold passage."""
    examples = []
    for question in tqdm(questions, desc=desc, unit="question"):
        total = rng.randint(options.min_passages, options.max_passages)
        unanswerable = rng.random() < options.no_answer_fraction
        distractors = finder.find(question, total if unanswerable else total - 1)
        texts = [window(p.text, options.passage_words, rng) for p in distractors]
        titles = [p.article for p in distractors]
        gold: int | None = None
        if not unanswerable:
            gold = rng.randint(0, len(texts))
            gold_text = window(
                question.paragraph.text, options.passage_words, rng, question.answer_start
            )
            texts.insert(gold, gold_text)
            titles.insert(gold, question.paragraph.article)
        passages = [
            PromptPassage(n=i + 1, text=text, title=title)
            for i, (text, title) in enumerate(zip(texts, titles, strict=True))
        ]
        if gold is None:
            completion = NO_ANSWER
        else:
            completion = f"{answer_sentence(question, options.answer_words)} [{gold + 1}]"
        examples.append(
            RaftExample(
                prompt=rag_request(question.question, passages),
                completion=completion,
                question=question.question,
                answers=list(question.answers),
                gold=None if gold is None else gold + 1,
                passages=texts,
                article=question.paragraph.article,
            )
        )
    return examples


def build_raft(
    settings: Settings, xquad: Path, out_dir: Path, options: RaftOptions
) -> dict[str, object]:
    """Write ``raft_train.jsonl``, ``raft_heldout.jsonl`` and ``raft_split.json`` to ``out_dir``."""
    from training.data import write_examples

    articles = load_xquad(xquad)
    train_titles, heldout_titles = split_articles(
        list(articles), options.heldout_articles, options.seed
    )
    rng = random.Random(options.seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    for name, titles in (("train", train_titles), ("heldout", heldout_titles)):
        questions = [q for title in titles for q in articles[title]]
        paragraphs = list({q.paragraph.key: q.paragraph for q in questions}.values())
        with tempfile.TemporaryDirectory(prefix=f"raft-{name}-") as work:
            finder = DistractorFinder(settings, paragraphs, Path(work))
            examples = build_examples(questions, finder, options, rng, f"raft {name}")
        path = out_dir / f"raft_{name}.jsonl"
        counts[name] = write_examples(path, examples)
    split = {
        "source": str(xquad.name),
        "seed": options.seed,
        "options": asdict(options),
        "train_articles": train_titles,
        "heldout_articles": heldout_titles,
        "examples": counts,
    }
    (out_dir / "raft_split.json").write_text(json.dumps(split, indent=2) + "\n")
    return split
