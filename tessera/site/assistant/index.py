"""The BM25 index of one language's passages, built once per process and rebuilt when the register changes."""

import threading
from dataclasses import dataclass

import bm25s
import numpy as np

from .passages import Passage, passages_build, passages_key
from .text import RETENTION_WORDS, corrected, stems, words

# How much more a register passage weighs when the question asks how long something is kept.
RETENTION_BOOST = 1.3
# What the "how long" words weigh next to the topic's: "combien de temps gardez-vous" in a FAQ title must not
# outweigh the activity the question names.
RETENTION_WEIGHT = 0.3


@dataclass
class Index:
    key: str
    passages: list[Passage]
    stems: list[set]  # the stems of each passage, for coverage
    register: np.ndarray  # 1 for the register's passages
    vocabulary: frozenset
    stem_vocabulary: frozenset
    choices: tuple
    bm25: bm25s.BM25

    def scores(self, query_words: list[str], language: str) -> np.ndarray:
        """Every passage's BM25 score for the question's words."""
        topic = [w for w in query_words if w not in RETENTION_WORDS]
        scores = self.bm25.get_scores(stems(topic, language)) if topic else np.zeros(len(self.passages))
        if len(topic) < len(query_words):
            retention = [w for w in query_words if w in RETENTION_WORDS]
            weight = RETENTION_WEIGHT if topic else 1.0
            scores = scores + weight * self.bm25.get_scores(stems(retention, language))
            scores = scores * (1 + (RETENTION_BOOST - 1) * self.register)
        return scores

    def search(self, query_words: list[str], language: str) -> tuple[int, float, float]:
        """(passage number, BM25 score, share of the query's topic stems found in that passage)."""
        scores = self.scores(query_words, language)
        best = int(np.argmax(scores))
        topic_stems = set(stems([w for w in query_words if w not in RETENTION_WORDS], language))
        found = sum(1 for s in topic_stems if s in self.stems[best])
        return best, float(scores[best]), found / max(1, len(topic_stems))


_indexes: dict[str, Index] = {}
_lock = threading.Lock()


def _built(language: str, key: str) -> Index:
    passages = passages_build(language)
    # The title counts twice: it names what the passage is about.
    passage_words = [words(f"{p.title} {p.title} {p.keywords} {p.text}", language) for p in passages]
    retriever = bm25s.BM25()
    passage_stems = [stems(w, language) for w in passage_words]
    retriever.index(passage_stems, show_progress=False)
    vocabulary = frozenset(w for ws in passage_words for w in ws)
    register = np.array([p.source == "register" for p in passages], dtype=float)
    return Index(
        key,
        passages,
        [set(ss) for ss in passage_stems],
        register,
        vocabulary,
        frozenset(s for ss in passage_stems for s in ss),
        tuple(sorted(vocabulary)),
        retriever,
    )


def index_get(language: str) -> Index:
    key = passages_key(language)
    index = _indexes.get(language)
    if index is None or index.key != key:
        with _lock:
            index = _indexes.get(language)
            if index is None or index.key != key:
                index = _indexes[language] = _built(language, key)
    return index


def query_words(question: str, index: Index, language: str) -> list[str]:
    return corrected(words(question, language), language, index.stem_vocabulary, index.choices)
