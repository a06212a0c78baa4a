"""The products pinned in a live session, compiled for reading comments.

``SHOWCASE.json`` is ``[{"code", "name", "price", "variants": [{"sku", "name"}]}]``. Codes
are matched case-insensitively and without leading zeros ("a01" is "A1"); each variant is
known by its words ("Xanh M" → xanh, m) and its weights/volumes ("Chai 1 lít" → ml:1000).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from plugins.livestream.vocabulary import Token, Vocabulary, default_vocabulary, tokenize

_CODE = re.compile(r"^([a-z]{1,3})0*(\d{1,3})$")


def code_key(text: str) -> str:
    """The form codes are compared in: folded, without punctuation or leading zeros."""
    compact = re.sub(r"[^0-9a-z]", "", Token(text, 0).folded)
    match = _CODE.match(compact)
    return f"{match.group(1)}{int(match.group(2))}" if match else compact


@dataclass(frozen=True, slots=True)
class Variant:
    sku: str
    name: str
    phrase: tuple[str, ...]     # the name's keys in order, for a whole-name match ("loai", "1")
    keys: frozenset[str]        # keys that tell this variant from its siblings ("xanh", "m", "ml:500")


@dataclass(frozen=True, slots=True)
class Product:
    code: str
    name: str
    name_words: frozenset[str]
    variants: tuple[Variant, ...]

    @property
    def sold_by_measure(self) -> bool:
        """Whether a weight or volume in a comment must name one of the variants."""
        return any(":" in key for variant in self.variants for key in variant.phrase)


class Showcase:
    """Products by code key. Build with :func:`compile_showcase`."""

    def __init__(self, products: list[Product]):
        self.products = {code_key(p.code): p for p in products}
        self.name_words = frozenset(w for p in products for w in p.name_words)

    def product(self, key: str) -> Product | None:
        return self.products.get(key)


class ShowcaseError(ValueError):
    """The showcase file is not a list of products with codes and variants."""


def compile_showcase(data, vocabulary: Vocabulary | None = None) -> Showcase:
    """Check the showcase JSON and compile it; raises :class:`ShowcaseError` naming the first problem."""
    vocabulary = vocabulary or default_vocabulary()
    if isinstance(data, Showcase):
        return data
    if not isinstance(data, list):
        raise ShowcaseError("the showcase must be a JSON list of products")
    products, seen = [], set()
    for position, item in enumerate(data):
        if not isinstance(item, dict) or not isinstance(item.get("code"), str) or not item["code"].strip():
            raise ShowcaseError(f"product {position}: a non-empty string 'code' is required")
        key = code_key(item["code"])
        if key in seen:
            raise ShowcaseError(f"product {position}: code {item['code']!r} appears twice")
        seen.add(key)
        name = item.get("name") if isinstance(item.get("name"), str) else ""
        variants = item.get("variants") or []
        if not isinstance(variants, list) or not all(
                isinstance(v, dict) and isinstance(v.get("sku"), str) and isinstance(v.get("name"), str)
                for v in variants):
            raise ShowcaseError(f"product {item['code']}: 'variants' must be a list of {{sku, name}}")
        products.append(Product(item["code"].strip(), name, frozenset(_name_words(name)),
                                _compile_variants(variants, vocabulary)))
    return Showcase(products)


def _name_words(name: str) -> set[str]:
    return {t.folded for t in tokenize(name)} | {code_key(t.raw) for t in tokenize(name)}


def _compile_variants(variants: list[dict], vocabulary: Vocabulary) -> tuple[Variant, ...]:
    phrases = [variant_phrase(tokenize(v["name"]), vocabulary) for v in variants]
    shared = set.intersection(*(set(p) for p in phrases)) if len(phrases) > 1 else set()
    return tuple(Variant(v["sku"], v["name"], phrase,
                         frozenset(k for k in phrase if k not in shared and not k.isdigit()))
                 for v, phrase in zip(variants, phrases))


def variant_phrase(tokens: list[Token], vocabulary: Vocabulary) -> tuple[str, ...]:
    """Keys of a run of tokens: measures merged ("1", "lít" → "ml:1000"), number words as digits."""
    keys, i = [], 0
    while i < len(tokens):
        measure = vocabulary.measure_at(tokens, i)
        if measure:
            keys.append(measure[0])
            i += measure[1]
            continue
        number = vocabulary.number_value(tokens[i])
        keys.append(str(number) if number is not None else tokens[i].folded)
        i += 1
    return tuple(keys)
