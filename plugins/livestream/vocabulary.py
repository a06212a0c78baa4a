"""Tokens of a livestream comment and the vocabulary they are read with (data/vocabulary.json).

A word typed with fewer diacritics than the vocabulary's word still matches it
("chot", "chôt" → "chốt"); one with other marks does not ("bơ" is not "bỏ").
"""
from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from core.text import fold

VOCABULARY_PATH = Path(__file__).parent / "data" / "vocabulary.json"
NUMBER_SLOT = "#"

_SEPARATORS = re.compile(r"[,;\n\r|]+|(?<!\d)\.|\.(?!\d)|\+(?!\d)|->|=>|\s(?:và|va|với|voi|vs|&)(?=\s|$)",
                         re.IGNORECASE)
_TOKEN = re.compile(r"\+\d+|\d{1,2}[^\W\d_]{1,3}\d{1,3}(?!\w)|\d+(?:[.,]\d+)?[^\W\d_]*|[^\W_]+|[*?]")
_REPEATS = re.compile(r"([^\W\d_])\1+")
_NUMBER_WITH_SUFFIX = re.compile(r"^(\d+(?:[.,]\d+)?)([^\W\d_]*)$")
_BASE_UNITS = {"kg": ("g", 1000), "g": ("g", 1), "lạng": ("g", 100), "ml": ("ml", 1), "l": ("ml", 1000)}


def marks_of(word: str) -> Counter:
    """The diacritics of ``word`` as a multiset (``đ`` counts as one mark)."""
    marks = Counter(ch for ch in unicodedata.normalize("NFD", word) if unicodedata.category(ch) == "Mn")
    marks["đ"] += word.count("đ")
    return +marks


def squeeze(folded: str) -> str:
    """Repeated letters typed for emphasis, squeezed: "chotttt" → "chot", "nhaaa" → "nha"."""
    return _REPEATS.sub(r"\1", folded)


@dataclass(eq=False, slots=True)
class Token:
    """One word of a comment: lower-case text, its fold, its marks, the chunk it sits in."""
    raw: str
    chunk: int
    index: int = 0
    folded: str = ""
    squeezed: str = ""
    marks: Counter = field(default_factory=Counter)
    categories: set = field(default_factory=set)
    role: str | None = None  # what the reading used it for: code, quantity, variant, address...
    code: str | None = None  # the showcase code key, when role is "code"
    attached: int | None = None  # the quantity written onto the code ("a1x2" → 2)

    def __post_init__(self):
        self.folded, self.squeezed, self.marks = _forms(self.raw)


@lru_cache(maxsize=8192)
def _forms(raw: str) -> tuple[str, str, Counter]:
    """Fold, squeezed fold and marks of a word, cached: comments repeat the same few hundred words."""
    folded = fold(raw)
    return folded, squeeze(folded), marks_of(raw)


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into chunks (commas, newlines, "+", "và", "với"…) and the chunks into tokens."""
    tokens: list[Token] = []
    for chunk_number, chunk in enumerate(_SEPARATORS.split(text.lower())):
        for match in _TOKEN.finditer(chunk):
            tokens.append(Token(match.group(), chunk_number, len(tokens)))
    return tokens


@dataclass(frozen=True, slots=True, eq=False)
class Word:
    """A word of the vocabulary: its fold and the marks a matching token may carry."""
    folded: str
    marks: Counter

    @classmethod
    def of(cls, text: str) -> "Word":
        return cls(fold(text), marks_of(text.lower()))

    def matches(self, token: Token) -> bool:
        if self.folded not in (token.folded, token.squeezed):
            return False
        return all(count <= self.marks[mark] for mark, count in token.marks.items())


class WordSet:
    """Words indexed by their fold, so a token is checked against the few that could match."""

    def __init__(self, words, values=None):
        self._by_fold: dict[str, list[tuple[Word, object]]] = {}
        for word, value in zip(words, values if values is not None else [None] * len(words)):
            self._by_fold.setdefault(word.folded, []).append((word, value))

    def lookup(self, token: Token):
        """The value of the first word ``token`` matches (True for a plain set), else None."""
        for key in (token.folded, token.squeezed):
            for word, value in self._by_fold.get(key, ()):
                if word.matches(token):
                    return True if value is None else value
        return None

    def matches(self, token: Token) -> bool:
        return self.lookup(token) is not None


class Vocabulary:
    """The words of ``vocabulary.json``, ready for matching tokens."""

    def __init__(self, data: dict):
        self.data = data
        self.limits = data["limits"]
        self._phrases: dict[str, list[tuple[tuple, frozenset]]] = {}
        categories: dict[tuple[str, ...], set] = {}
        for category in ("order_verbs", "add_words", "question_phrases", "cancel_phrases",
                         "correction_phrases", "mistake_words", "keep_phrases", "not_order_phrases", "spam_phrases",
                         "fillers", "address_markers", "quantity_markers"):
            for phrase in self._all(category):
                categories.setdefault(tuple(phrase.lower().split()), set()).add(category)
        for words, cats in categories.items():
            compiled = tuple(None if w == NUMBER_SLOT else Word.of(w) for w in words)
            first = compiled[0].folded if compiled[0] else NUMBER_SLOT
            self._phrases.setdefault(first, []).append((compiled, frozenset(cats)))
        for entries in self._phrases.values():
            entries.sort(key=lambda entry: -len(entry[0]))
        self.final_particles = self._words("question_final_particles")
        self.trailing_particles = self._words("trailing_particles")
        self.correction_targets = self._words("correction_targets")
        self.count_units = self._words("count_units")
        measures = [(Word.of(w), unit) for unit, words in data["measure_units"].items() for w in words]
        self.measure_units = WordSet([w for w, _ in measures], [unit for _, unit in measures])
        self.number_words = WordSet([Word.of(w) for w in data["number_words"]], list(data["number_words"].values()))
        self.frame_openers = WordSet([Word.of(w) for w in data["question_frames"]["openers"]])
        self.frame_closers = WordSet([Word.of(w) for w in data["question_frames"]["closers"]])
        money = data["money_suffixes"]
        self.money = re.compile(
            r"(?<![\w.,])\d+(?:[.,]\d+)*(?:(?:%s)|\s+(?:%s))(?![^\W_])" % (
                "|".join(map(re.escape, money["attached"])), "|".join(map(re.escape, money["spaced"]))),
            re.IGNORECASE)
        self.not_codes = [re.compile(rf"^{pattern}$") for pattern in data["not_codes"]]

    def _all(self, category: str) -> list[str]:
        value = self.data[category]
        return [w for words in value.values() for w in words] if isinstance(value, dict) else list(value)

    def _words(self, category: str) -> WordSet:
        return WordSet([Word.of(w) for w in self._all(category)])

    def number_value(self, token: Token) -> int | None:
        """``2`` → 2, ``hai`` → 2, anything else → None."""
        if token.raw.isdigit():
            return int(token.raw)
        return self.number_words.lookup(token)

    def measure_unit(self, token: Token) -> str | None:
        return self.measure_units.lookup(token)

    def measure_at(self, tokens: list[Token], i: int) -> tuple[str, int] | None:
        """A weight or volume at ``tokens[i]`` ("500ml", "1 lít", "2 cân") as ("g:500"-like key, tokens used)."""
        match = _NUMBER_WITH_SUFFIX.match(tokens[i].raw)
        if match is None:
            return None
        amount, suffix, used = float(match.group(1).replace(",", ".")), match.group(2), 1
        if suffix:
            unit = self.measure_unit(Token(suffix, tokens[i].chunk))
        elif i + 1 < len(tokens) and tokens[i + 1].chunk == tokens[i].chunk:
            unit, used = self.measure_unit(tokens[i + 1]), 2
        else:
            unit = None
        if unit is None:
            return None
        base, factor = _BASE_UNITS[unit]
        return f"{base}:{amount * factor:g}", used

    def annotate(self, tokens: list[Token]) -> None:
        """Give every token the categories of the longest vocabulary phrase it starts (greedy, left to right)."""
        i = 0
        while i < len(tokens):
            length = self._match_at(tokens, i)
            i += max(length, 1)

    def _match_at(self, tokens: list[Token], i: int) -> int:
        token = tokens[i]
        if token.role == "code":
            return 0
        keys = {token.folded, token.squeezed, NUMBER_SLOT if self.number_value(token) is not None else ""}
        candidates = sorted((entry for key in keys for entry in self._phrases.get(key, ())),
                            key=lambda entry: -len(entry[0]))
        for words, cats in candidates:
            span = tokens[i:i + len(words)]
            if len(span) == len(words) and all(t.chunk == token.chunk and t.role != "code" for t in span) \
                    and all(self._slot_matches(w, t) for w, t in zip(words, span)):
                for t in span:
                    t.categories |= cats
                return len(words)
        return 0

    def _slot_matches(self, word: Word | None, token: Token) -> bool:
        return self.number_value(token) is not None if word is None else word.matches(token)


@lru_cache(maxsize=1)
def default_vocabulary() -> Vocabulary:
    """The plugin's vocabulary file, loaded once."""
    return Vocabulary(json.loads(VOCABULARY_PATH.read_text(encoding="utf-8")))
