"""Scores the parser on a labelled corpus (JSONL of comments with ``expected: {intent, lines, phone}``).

The whole corpus is read as one session, in order, so duplicates count. A comment is *exact*
when intent, phone and (for order/cancel/correction) the lines all match the label.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from plugins.livestream.parser import INTENTS, CommentStream, parse_comment
from plugins.livestream.showcase import compile_showcase

LINE_INTENTS = ("order", "cancel", "correction")


@dataclass
class Scored:
    comment: dict
    expected: dict
    got: dict

    @property
    def intent_right(self) -> bool:
        return self.got["intent"] == self.expected["intent"]

    @property
    def exact(self) -> bool:
        lines_match = self.expected["intent"] not in LINE_INTENTS or \
            _line_set(self.got["lines"]) == _line_set(self.expected["lines"])
        return self.intent_right and lines_match and self.got["phone"] == self.expected["phone"]


@dataclass
class Report:
    scored: list[Scored] = field(default_factory=list)

    def subset(self, keep) -> "Report":
        return Report([s for s in self.scored if keep(s)])

    def per_intent(self) -> dict[str, dict[str, float]]:
        """precision, recall, f1 and support per intent; a predicted order counts only if exact."""
        table = {}
        for intent in INTENTS:
            right = lambda s: s.exact if intent == "order" else s.intent_right  # noqa: E731
            predicted = [s for s in self.scored if s.got["intent"] == intent]
            actual = [s for s in self.scored if s.expected["intent"] == intent]
            hits = sum(1 for s in predicted if s.expected["intent"] == intent and right(s))
            precision = hits / len(predicted) if predicted else 1.0
            recall = hits / len(actual) if actual else 1.0
            f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
            table[intent] = {"precision": precision, "recall": recall, "f1": f1,
                             "support": len(actual), "predicted": len(predicted)}
        return table

    @property
    def accuracy(self) -> float:
        return sum(s.intent_right for s in self.scored) / len(self.scored)

    @property
    def exact_accuracy(self) -> float:
        return sum(s.exact for s in self.scored) / len(self.scored)

    def phantom_orders(self) -> list[Scored]:
        """Comments labelled question/other/cancel that the parser turned into an order."""
        return [s for s in self.scored if s.got["intent"] == "order"
                and s.expected["intent"] in ("question", "other", "cancel")]


def evaluate(corpus_path: Path, showcase_path: Path) -> Report:
    showcase = compile_showcase(json.loads(Path(showcase_path).read_text(encoding="utf-8")))
    stream, report = CommentStream(), Report()
    for raw in Path(corpus_path).read_text(encoding="utf-8").splitlines():
        row = json.loads(raw)
        expected = row.pop("expected")
        report.scored.append(Scored(row, expected, parse_comment(row, showcase, stream).as_contract()))
    return report


def is_held_out(scored: Scored) -> bool:
    """The third of the corpus (ids divisible by 3) not looked at while tuning the vocabulary."""
    return int(str(scored.comment["id"]).lstrip("c")) % 3 == 0


def _line_set(lines: list[dict]) -> list[tuple]:
    return sorted((l["code"], l["quantity"] or 0, l["variant_sku"] or "") for l in lines)
