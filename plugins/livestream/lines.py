"""Order lines (code, quantity, variant) read out of a tokenised comment.

Codes are found first. Within a chunk (text between commas, "+", "và"…) quantities go to the
code they precede when the chunk starts with one ("2 A1 1 B2"), else to the code they follow
("A1 2 B2 1"). A variant is chosen by its whole name ("loại 1") or by the words that set it
apart from its siblings; a tie is an issue. Anything doubtful is reported in ``issues``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from plugins.livestream.showcase import Product, Showcase, Variant, code_key
from plugins.livestream.vocabulary import Token, Vocabulary

_ATTACHED = re.compile(r"^([a-z]{1,3}\d{1,3})[x*](\d{1,3})$")
_JOINED, _JOINED_WHOLE = re.compile(r"[a-z]{1,3}\d{1,3}"), re.compile(r"^(?:[a-z]{1,3}\d{1,3}){2,}$")
_PREFIXED = re.compile(r"^(\d{1,2})([a-z]{1,3}\d{1,3})$")
_CODE_LIKE = re.compile(r"^[a-z]{1,3}\d{1,3}$")
_MARKED = re.compile(r"^(?:x|sl)(\d{1,3})$")
_NUMBER_UNIT = re.compile(r"^(\d{1,4})([^\W\d_]+)$")
QUANTITY_KINDS = ("count", "marked", "number")


@dataclass(slots=True)
class Line:
    """One product line: ``quantity`` is None for a cancel/correction that names none."""
    code: str
    quantity: int | None
    variant_sku: str | None
    stated: bool = False
    chunk: int = -1  # where in the comment it was read (for cancels that keep part of a comment)
    position: int = -1  # index of the code's token (or of the chunk's first token)


@dataclass(slots=True)
class Item:
    """A reading unit of a chunk: a code, a number, a quantity, a weight/volume or a word."""
    kind: str
    key: str
    tokens: list[Token]
    value: int | None = None
    used: bool = False

    @property
    def word(self) -> str:
        return self.tokens[0].folded

    def take(self, role: str) -> None:
        self.used = True
        for token in self.tokens:
            token.role = role


@dataclass(slots=True)
class Reading:
    lines: list[Line] = field(default_factory=list)
    issues: list[str] = field(default_factory=list)


def split_joined_codes(tokens: list[Token], showcase: Showcase) -> list[Token]:
    """"a1a2" written without a space becomes two tokens when every part is a showcase code."""
    out = []
    for token in tokens:
        parts = _JOINED.findall(token.folded) if _JOINED_WHOLE.match(token.folded) else []
        if len(parts) > 1 and all(showcase.product(code_key(p)) for p in parts):
            out.extend(Token(part, token.chunk) for part in parts)
        else:
            out.append(token)
    for index, token in enumerate(out):
        token.index = index
    return out


def mark_codes(tokens: list[Token], showcase: Showcase, vocabulary: Vocabulary) -> list[str]:
    """Mark tokens that are showcase codes (``role="code"``); return the code-like ones that are not."""
    unknown = []
    for token in tokens:
        compact = re.sub(r"[^0-9a-z]", "", token.folded)
        attached = _ATTACHED.match(compact)
        prefixed = _PREFIXED.match(compact)
        key = code_key(attached.group(1) if attached else prefixed.group(2) if prefixed else compact)
        if any(ch.isalpha() for ch in key) and showcase.product(key):
            token.role, token.code = "code", key
            token.attached = int(attached.group(2)) if attached else int(prefixed.group(1)) if prefixed else None
        elif (attached or _CODE_LIKE.match(compact)) and not _MARKED.match(compact) \
                and compact not in showcase.name_words \
                and not any(pattern.match(compact) for pattern in vocabulary.not_codes):
            token.role = "unknown_code"
            unknown.append(token.raw.upper())
    return unknown


def read_lines(tokens: list[Token], showcase: Showcase, vocabulary: Vocabulary,
               ignore: set[Token] = frozenset()) -> Reading:
    """The order lines of a comment whose codes are marked and whose address tail is set aside."""
    reading, previous = Reading(), None
    for chunk in sorted({t.chunk for t in tokens}):
        items = _items([t for t in tokens if t.chunk == chunk and t not in ignore
                        and t.role not in ("address", "unknown_code")], vocabulary)
        codes = [i for i, item in enumerate(items) if item.kind == "code"]
        if codes:
            scopes = _scopes(items, codes)
            for position, (variant_scope, quantities) in zip(codes, scopes):
                code_item = items[position]
                extra = [code_item.value] if code_item.value is not None else []
                previous = showcase.product(code_item.key)
                reading.lines.append(_line(previous, variant_scope, quantities, extra, position,
                                           vocabulary, reading.issues, chunk))
        elif previous is not None and _names_a_variant(previous, items):
            quantities = [item for item in items if item.kind in QUANTITY_KINDS]
            reading.lines.append(_line(previous, items, quantities, [], -1, vocabulary, reading.issues, chunk))
        elif any(item.kind in QUANTITY_KINDS for item in items):
            reading.issues.append("quantity_without_code")
        reading.issues.extend(f"unreadable_number:{item.tokens[0].raw}" for item in items if item.kind == "odd")
    reading.lines = _merge(reading.lines)
    return reading


def _items(tokens: list[Token], vocabulary: Vocabulary) -> list[Item]:
    items, i = [], 0
    while i < len(tokens):
        token = tokens[i]
        measure = vocabulary.measure_at(tokens, i) if token.role != "code" else None
        if token.role == "code":
            items.append(Item("code", token.code, [token], token.attached))
        elif measure:
            items.append(Item("measure", measure[0], tokens[i:i + measure[1]]))
            i += measure[1]
            continue
        elif (marker_end := _marker_end(tokens, i)) is not None:
            value = vocabulary.number_value(tokens[marker_end])
            items.append(Item("marked", str(value), tokens[i:marker_end + 1], value))
            i = marker_end + 1
            continue
        else:
            items.append(_word_item(token, vocabulary))
        i += 1
    for before, after in zip(items, items[1:]):
        unit_follows = after.kind == "word" and vocabulary.count_units.matches(after.tokens[0])
        if before.kind in ("number", "numword") and unit_follows:
            before.kind = "count"
        elif before.kind == "numword" and after.kind == "code":
            before.kind = "number"
    return items


def _marker_end(tokens: list[Token], i: int) -> int | None:
    """Index of the number after a quantity marker ("x 2", "sl: 3", "số lượng 2") starting at ``i``."""
    j = i
    while j < len(tokens) and "quantity_markers" in tokens[j].categories:
        j += 1
    return j if j > i and j < len(tokens) and tokens[j].chunk == tokens[i].chunk \
        and tokens[j].raw.isdigit() else None


def _word_item(token: Token, vocabulary: Vocabulary) -> Item:
    folded = token.folded
    if (marked := _MARKED.match(folded)) is not None:
        return Item("marked", marked.group(1), [token], int(marked.group(1)))
    attached_unit = _NUMBER_UNIT.match(folded)
    if attached_unit and vocabulary.count_units.matches(Token(attached_unit.group(2), 0)):
        return Item("count", attached_unit.group(1), [token], int(attached_unit.group(1)))
    if token.raw[0].isdigit():
        if token.raw.isdigit():
            return Item("number", str(int(token.raw)), [token], int(token.raw))
        return Item("odd", folded, [token])
    value = vocabulary.number_value(token)
    if value is not None:
        return Item("numword", str(value), [token], value)
    return Item("word", folded, [token])


def _scopes(items: list[Item], codes: list[int]) -> list[tuple[list[Item], list[Item]]]:
    """For each code of a chunk: the items that may name its variant, and its quantity items."""
    bounds = [0] + codes[1:] + [len(items)]
    variant_scopes = [items[bounds[k]:bounds[k + 1]] for k in range(len(codes))]
    quantities = [i for i, item in enumerate(items) if item.kind in QUANTITY_KINDS]
    prefix = bool(quantities) and quantities[0] < codes[0] and len(codes) > 1
    assigned: list[list[Item]] = [[] for _ in codes]
    for q in quantities:
        if prefix:
            owner = next((k for k, c in enumerate(codes) if c > q), None)
        else:
            owner = max((k for k, c in enumerate(codes) if c < q), default=0)
        if owner is None:
            assigned[-1].append(items[q])  # a quantity after the last code of "2 A1 1 B2 3": conflict
        else:
            assigned[owner].append(items[q])
    return list(zip(variant_scopes, assigned))


def _line(product: Product, scope: list[Item], quantities: list[Item], extra: list[int], code_at: int,
          vocabulary: Vocabulary, issues: list[str], chunk: int) -> Line:
    variant = _choose_variant(product, scope, code_at, issues)
    values = extra + [q.value for q in quantities if not q.used]
    for q in quantities:
        if not q.used:
            q.take("quantity")
    if len(set(values)) > 1:
        issues.append(f"conflicting_quantities:{product.code}")
    if any(v < 1 or v > vocabulary.limits["max_quantity"] for v in values):
        issues.append(f"quantity_out_of_range:{product.code}")
    for item in scope:
        if item.kind == "measure" and not item.used:
            issues.append(f"unmatched_measure:{product.code}")
        elif item.kind in ("word", "numword") and not item.used and _describes(product, item):
            item.take("product_word")
    first = next((item for item in scope if item.kind == "code"), scope[0])
    return Line(product.code, values[0] if values else 1, variant.sku if variant else None, bool(values), chunk,
                first.tokens[0].index)


def _choose_variant(product: Product, scope: list[Item], code_at: int, issues: list[str]) -> Variant | None:
    if not product.variants:
        return None
    whole = [(v, span) for v in product.variants if (span := _find_phrase(v.phrase, scope))]
    if len(whole) == 1:
        for item in whole[0][1]:
            item.take("variant")
        return whole[0][0]
    if len(whole) > 1:
        issues.append(f"ambiguous_variant:{product.code}")
        return None
    evidence = {}
    for position, item in enumerate(scope):
        key = item.key if item.kind == "measure" else item.word
        after_code = code_at < 0 or position > _index_of_code(scope)
        if item.kind in ("word", "numword", "measure") and (len(key) > 1 or after_code):
            evidence.setdefault(key, []).append(item)
    scores = {v: len(v.keys & evidence.keys()) for v in product.variants}
    best = max(scores.values())
    winners = [v for v, score in scores.items() if score == best]
    if best == 0:
        return None
    if len(winners) > 1:
        issues.append(f"ambiguous_variant:{product.code}")
        return None
    for key in winners[0].keys & evidence.keys():
        for item in evidence[key]:
            item.take("variant")
    return winners[0]


def _index_of_code(scope: list[Item]) -> int:
    return next((i for i, item in enumerate(scope) if item.kind == "code"), -1)


def _find_phrase(phrase: tuple[str, ...], scope: list[Item]) -> list[Item] | None:
    keys = [item.key for item in scope]
    for start in range(len(keys) - len(phrase) + 1):
        if tuple(keys[start:start + len(phrase)]) == phrase and len(phrase) > 1:
            return scope[start:start + len(phrase)]
    return None


def _names_a_variant(product: Product, items: list[Item]) -> bool:
    """Whether a chunk without a code names a variant of ``product`` ("chốt C2 xanh L, đỏ M")."""
    keys = {item.key for item in items} | {item.word for item in items}
    return any(v.keys & keys for v in product.variants)


def _describes(product: Product, item: Item) -> bool:
    return item.word in product.name_words or any(item.word in v.phrase for v in product.variants)


def _merge(lines: list[Line]) -> list[Line]:
    """One line per (code, variant): stated quantities add up, unstated repeats ("A1 A1") collapse."""
    merged: dict[tuple[str, str | None], Line] = {}
    for line in lines:
        seen = merged.get((line.code, line.variant_sku))
        if seen is None:
            merged[(line.code, line.variant_sku)] = line
        elif line.stated:
            seen.quantity = (seen.quantity if seen.stated else 0) + line.quantity
            seen.stated = True
    return list(merged.values())
