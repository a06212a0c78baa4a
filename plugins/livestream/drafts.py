"""Per-viewer draft orders folded from a session's parse results (pure, no database).

An order adds lines; saying the same thing again does not ("A1", later "A1 nha" is one A1)
unless the viewer says "thêm"; a different quantity for a line already there keeps the larger
and flags the draft. A correction sets a line's quantity or variant, a cancel removes a code
(or everything). Replaying a result whose comment id was applied changes nothing.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from plugins.livestream.parser import ParseResult

LineKey = tuple[str, "str | None"]  # (code, variant_sku)


@dataclass
class Draft:
    """One viewer's order in the making: quantities by (code, variant), last phone, comments to check."""
    author_id: str
    author_name: str | None = None
    lines: dict[LineKey, int] = field(default_factory=dict)
    stated: set = field(default_factory=set)  # lines whose quantity the viewer wrote (not the default 1)
    phone: str | None = None
    comment_ids: list = field(default_factory=list)
    to_review: list = field(default_factory=list)  # ids of comments a person should look at

    def lines_of(self, code: str) -> list[LineKey]:
        return [key for key in self.lines if key[0] == code]


class DraftBook:
    """The drafts of one live session, keyed by the platform's author id."""

    def __init__(self):
        self.drafts: dict[str, Draft] = {}
        self._applied: set[str] = set()

    def apply(self, result: ParseResult) -> None:
        """Fold one result in; duplicates, errors and already-applied comment ids change nothing."""
        if result.intent == "duplicate" or result.error or result.author_id is None:
            return
        if str(result.comment_id) in self._applied:
            return
        self._applied.add(str(result.comment_id))
        if result.intent not in ("order", "cancel", "correction", "review") and not result.phone:
            return
        draft = self.drafts.setdefault(result.author_id, Draft(result.author_id))
        draft.author_name = result.author_name or draft.author_name
        draft.comment_ids.append(result.comment_id)
        if result.phone:
            draft.phone = result.phone
        {"order": _add, "cancel": _cancel, "correction": _correct}.get(result.intent, _flag)(draft, result)

    def apply_all(self, results) -> "DraftBook":
        for result in results:
            self.apply(result)
        return self

    def with_lines(self) -> list[Draft]:
        """Drafts that hold at least one line, in the order their viewers first wrote."""
        return [d for d in self.drafts.values() if d.lines]


def fold_drafts(results) -> dict[str, Draft]:
    """Drafts by author id from a sequence of parse results."""
    return DraftBook().apply_all(results).drafts


def _flag(draft: Draft, result: ParseResult) -> None:
    if result.intent == "review":
        draft.to_review.append(result.comment_id)


def _add(draft: Draft, result: ParseResult) -> None:
    for line in result.lines:
        key = _existing_key(draft, line.code, line.variant_sku)
        if key is None:
            key = (line.code, line.variant_sku)
            draft.lines[key] = line.quantity
        elif result.additive:
            draft.lines[key] += line.quantity
        elif line.stated and key not in draft.stated:
            draft.lines[key] = line.quantity  # "A1", then "A1 3 trái": the viewer said how many
        elif line.stated and line.quantity != draft.lines[key]:
            draft.lines[key] = max(draft.lines[key], line.quantity)
            draft.to_review.append(result.comment_id)
        if line.stated:
            draft.stated.add(key)
        if key[1] is None and line.variant_sku:
            _rename(draft, key, (line.code, line.variant_sku))  # "A1", then "A1 loại 1"


def _existing_key(draft: Draft, code: str, variant: str | None) -> LineKey | None:
    """The draft line an order line repeats: same variant, or a variant-less line, or the only line."""
    if (code, variant) in draft.lines:
        return code, variant
    if variant is not None:
        return (code, None) if (code, None) in draft.lines else None
    keys = draft.lines_of(code)
    return keys[0] if len(keys) == 1 else None


def _cancel(draft: Draft, result: ParseResult) -> None:
    if not result.lines:
        draft.lines.clear()
        draft.stated.clear()
        return
    for line in result.lines:
        keys = [(line.code, line.variant_sku)] if line.variant_sku else draft.lines_of(line.code)
        keys = [key for key in keys if key in draft.lines]
        if line.quantity is not None and len(keys) == 1:
            left = draft.lines[keys[0]] - line.quantity
            if left > 0:
                draft.lines[keys[0]] = left
                continue
        elif line.quantity is not None and len(keys) > 1:
            draft.to_review.append(result.comment_id)
            continue
        for key in keys:
            del draft.lines[key]
            draft.stated.discard(key)


def _correct(draft: Draft, result: ParseResult) -> None:
    for line in result.lines:
        keys = draft.lines_of(line.code)
        if line.variant_sku and (line.code, line.variant_sku) in draft.lines:
            target = (line.code, line.variant_sku)
        elif len(keys) == 1:
            target = keys[0]
        elif not keys:
            draft.lines[(line.code, line.variant_sku)] = line.quantity or 1
            draft.stated.add((line.code, line.variant_sku))
            continue
        else:
            draft.to_review.append(result.comment_id)
            continue
        if line.quantity is not None:
            draft.lines[target] = line.quantity
            draft.stated.add(target)
        _rename(draft, target, (line.code, line.variant_sku or target[1]))


def _rename(draft: Draft, old: LineKey, new: LineKey) -> None:
    if old == new:
        return
    draft.lines[new] = draft.lines.get(new, 0) + draft.lines.pop(old)
    if old in draft.stated:
        draft.stated.discard(old)
        draft.stated.add(new)
