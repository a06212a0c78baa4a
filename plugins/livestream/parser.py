"""Reads one livestream comment against the session's showcase: intent, order lines, phone.

Pure: no database, no clock. ``CommentStream`` is the only state (ids seen, each author's
recent texts). The costliest mistake is an order nobody placed, so anything doubtful is
``review``; the rules are in docs/livestream-parser.md, the words in data/vocabulary.json.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from core.text import nfc
from plugins.livestream.lines import Line, Reading, mark_codes, read_lines, split_joined_codes
from plugins.livestream.phones import find_phones
from plugins.livestream.showcase import Showcase, compile_showcase
from plugins.livestream.vocabulary import Token, Vocabulary, default_vocabulary, tokenize

INTENTS = ("order", "question", "cancel", "correction", "review", "duplicate", "other")
DUPLICATE_WINDOW = timedelta(minutes=5)
ERRORS = {
    "livestream.invalid_json": ("Dòng không phải JSON hợp lệ.", "The line is not valid JSON."),
    "livestream.not_an_object": ("Bình luận phải là một đối tượng JSON.", "A comment must be a JSON object."),
    "livestream.missing_id": ("Bình luận thiếu mã (id).", "The comment has no id."),
    "livestream.missing_author": ("Bình luận thiếu người viết (author_id).", "The comment has no author_id."),
    "livestream.text_not_string": ("Nội dung (text) phải là chuỗi.", "The text must be a string."),
    "livestream.text_too_long": ("Nội dung bình luận quá dài.", "The comment text is too long."),
}


@dataclass(frozen=True, slots=True)
class ParseResult:
    """What one comment says. ``lines`` are filled for order, cancel and correction only."""
    comment_id: object
    intent: str
    lines: tuple[Line, ...] = ()
    phone: str | None = None
    author_id: str | None = None
    author_name: str | None = None
    created_at: datetime | None = None
    additive: bool = False  # "lấy thêm": the lines add to what the viewer already ordered
    reason: str | None = None
    error: str | None = None

    def as_contract(self) -> dict:
        """The ``parse-comments`` output line: ``{"id", "intent", "lines", "phone"}`` (+ ``"error"``)."""
        out = {"id": self.comment_id, "intent": self.intent,
               "lines": [{"code": l.code, "quantity": l.quantity, "variant_sku": l.variant_sku} for l in self.lines],
               "phone": self.phone}
        if self.error:
            vi, en = ERRORS[self.error]
            out["error"] = {"code": self.error, "message": vi, "message_en": en}
        return out


@dataclass
class CommentStream:
    """A session's memory for duplicates: ids seen, and when each author last wrote each text."""
    duplicate_window: timedelta = DUPLICATE_WINDOW
    seen_ids: set = field(default_factory=set)
    last_written: dict = field(default_factory=dict)

    def is_resent(self, comment_id) -> bool:
        key = str(comment_id)
        seen = key in self.seen_ids
        self.seen_ids.add(key)
        return seen

    def is_repeat(self, author_id: str, text_key: str, at: datetime | None) -> bool:
        """Same author, same text (folded) within the window of their last writing it; remembers this one."""
        if not text_key:
            return False
        previous = self.last_written.get((author_id, text_key), False)
        self.last_written[(author_id, text_key)] = at
        if previous is False:
            return False
        return previous is None or at is None or abs(at - previous) <= self.duplicate_window


def parse_comment(comment, showcase, state: CommentStream | None = None,
                  vocabulary: Vocabulary | None = None) -> ParseResult:
    """Read one comment (a dict as in the CLI contract). Never raises on malformed input."""
    vocabulary = vocabulary or default_vocabulary()
    showcase = compile_showcase(showcase, vocabulary)
    state = state if state is not None else CommentStream()
    if not isinstance(comment, dict):
        return ParseResult(None, "other", error="livestream.not_an_object")
    comment_id = comment.get("id")
    if not isinstance(comment_id, (str, int)) or isinstance(comment_id, bool) or comment_id == "":
        return ParseResult(None, "other", error="livestream.missing_id")
    if state.is_resent(comment_id):
        return ParseResult(comment_id, "duplicate", reason="id_seen")
    author_id, text = comment.get("author_id"), comment.get("text")
    if not isinstance(author_id, (str, int)) or isinstance(author_id, bool) or author_id == "":
        return ParseResult(comment_id, "other", error="livestream.missing_author")
    if not isinstance(text, str):
        return ParseResult(comment_id, "other", error="livestream.text_not_string")
    if len(text) > vocabulary.limits["max_text_length"]:
        return ParseResult(comment_id, "other", error="livestream.text_too_long")
    author_id, text = str(author_id), nfc(text)
    author_name = comment.get("author_name") if isinstance(comment.get("author_name"), str) else None
    at = parse_time(comment.get("created_at"))
    base = dict(comment_id=comment_id, author_id=author_id, author_name=author_name, created_at=at)
    if state.is_repeat(author_id, text_key(text), at):
        return ParseResult(intent="duplicate", reason="repeated_text", **base)
    return _read(text, showcase, vocabulary, base)


def text_key(text: str) -> str:
    """A text as duplicates are compared: folded words, no punctuation, emojis or repeated letters."""
    return " ".join(t.squeezed for t in tokenize(text))


def parse_time(value) -> datetime | None:
    """ISO 8601 text or epoch seconds → aware UTC datetime; anything else → None."""
    try:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return datetime.fromtimestamp(value, timezone.utc)
        if isinstance(value, str):
            parsed = datetime.fromisoformat(value.strip())
            return (parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)
    except (ValueError, OverflowError, OSError):
        return None
    return None


@dataclass
class _Comment:
    """A comment taken apart: tokens with their roles and categories, phones, the lines read."""
    text: str
    tokens: list[Token]
    phone: str | None
    bad_phone: bool
    unknown_codes: list[str]
    reading: Reading

    def has(self, category: str) -> bool:
        return any(category in t.categories for t in self.tokens)

    def chunks_with(self, category: str) -> set[int]:
        return {t.chunk for t in self.tokens if category in t.categories}

    @property
    def codes(self) -> list[Token]:
        return [t for t in self.tokens if t.role == "code"]


def _read(text: str, showcase: Showcase, vocabulary: Vocabulary, base: dict) -> ParseResult:
    phones = find_phones(text)
    cleaned = text
    for span in reversed(phones):
        cleaned = cleaned[:span.start] + " " + cleaned[span.end:]
    tokens = split_joined_codes(tokenize(vocabulary.money.sub(" ", cleaned)), showcase)
    unknown = mark_codes(tokens, showcase, vocabulary)
    vocabulary.annotate(tokens)
    _set_address_aside(tokens)
    correcting = any(t.categories & {"correction_phrases", "mistake_words"} for t in tokens)
    old_values = _old_values(tokens, vocabulary) if correcting else set()
    reading = read_lines(tokens, showcase, vocabulary, ignore=old_values)
    if old_values:
        before = read_lines(tokens, showcase, vocabulary)
        _keep_variants_from(reading, before)
    parsed = _Comment(text, tokens, next((p.e164 for p in phones if p.e164), None),
                      any(p.e164 is None and not p.masked for p in phones), unknown, reading)
    intent, lines, reason = _decide(parsed, showcase, vocabulary)
    return ParseResult(intent=intent, lines=tuple(lines), phone=parsed.phone, reason=reason,
                       additive=intent == "order" and parsed.has("add_words"), **base)


def _set_address_aside(tokens: list[Token]) -> None:
    """Words after "giao", "ship về", "địa chỉ"… up to the chunk's end, a code or an order verb."""
    for i, token in enumerate(tokens):
        if "address_markers" not in token.categories:
            continue
        for follower in tokens[i + 1:]:
            if follower.chunk != token.chunk or follower.role == "code" or "order_verbs" in follower.categories:
                break
            if "address_markers" not in follower.categories and follower.role is None:
                follower.role = "address"


def _old_values(tokens: list[Token], vocabulary: Vocabulary) -> set[Token]:
    """In "đổi C2 trắng M sang xanh M", the words between the code and "sang": the value replaced."""
    old = set()
    for i, token in enumerate(tokens):
        if token.role != "code":
            continue
        for j in range(i + 1, len(tokens)):
            if tokens[j].chunk != token.chunk or tokens[j].role == "code":
                break
            if vocabulary.correction_targets.matches(tokens[j]):
                old.update(t for t in tokens[i + 1:j] if t.role is None)
                break
    return old


def _keep_variants_from(reading: Reading, before: Reading) -> None:
    """A correction that names no new variant keeps the one naming the line ("sửa A1 loại 2 thành 2")."""
    for line in reading.lines:
        if line.variant_sku is None:
            named = [b.variant_sku for b in before.lines if b.code == line.code and b.variant_sku]
            if len(named) == 1:
                line.variant_sku = named[0]


def _decide(c: _Comment, showcase: Showcase, vocabulary: Vocabulary) -> tuple[str, list[Line], str | None]:
    question = _is_question(c, vocabulary)
    if not c.codes:
        return _decide_without_code(c, question)
    order_verb = c.has("order_verbs")
    if c.has("spam_phrases"):
        return "review", [], "spam_with_code"
    if c.has("cancel_phrases"):
        return _decide_cancel(c, question)
    if c.has("correction_phrases") or c.has("mistake_words") and any(l.stated or l.variant_sku
                                                                     for l in c.reading.lines):
        return _decide_correction(c, question)
    if question:
        if order_verb or c.phone or any(t.attached for t in c.codes):
            return "review", [], "question_with_order"
        return "question", [], None
    for reason, present in (("unknown_code", c.unknown_codes), ("not_an_order", c.has("not_order_phrases")),
                            ("unsure_lines", c.reading.issues), ("invalid_phone", c.bad_phone)):
        if present:
            return "review", [], f"{reason}:{present}" if isinstance(present, list) else reason
    unexplained = _unexplained(c, showcase, vocabulary)
    limit = vocabulary.limits["max_unexplained_words_with_verb" if order_verb or c.phone
                              else "max_unexplained_words"]
    if len(unexplained) > limit:
        return "review", [], f"unexplained_words:{unexplained}"
    return "order", c.reading.lines, None


def _decide_without_code(c: _Comment, question: bool) -> tuple[str, list[Line], str | None]:
    if c.has("spam_phrases"):
        return "other", [], "spam"
    if c.unknown_codes and not question:
        return "review", [], f"unknown_code:{c.unknown_codes}"
    if c.has("cancel_phrases"):
        mixed = question or c.chunks_with("order_verbs") - c.chunks_with("cancel_phrases")
        return ("review", [], "cancel_mixed") if mixed else ("cancel", [], None)
    if question:
        return "question", [], None
    if c.has("correction_phrases") or c.has("mistake_words"):
        return ("correction", [], "phone_correction") if c.phone else ("review", [], "correction_without_code")
    if c.has("order_verbs") or "quantity_without_code" in c.reading.issues:
        return "review", [], "order_without_code"
    return "other", [], None


def _decide_cancel(c: _Comment, question: bool) -> tuple[str, list[Line], str | None]:
    keep, cancelling = c.chunks_with("keep_phrases"), c.chunks_with("cancel_phrases")
    ordering = c.chunks_with("order_verbs") - cancelling - keep
    if question or ordering or c.has("correction_phrases"):
        return "review", [], "cancel_mixed"
    if c.unknown_codes or any(i.startswith("ambiguous") for i in c.reading.issues):
        return "review", [], "cancel_unsure"
    lines = []
    for line in c.reading.lines:
        if line.chunk in keep:
            continue
        if line.chunk not in cancelling and line.chunk < min(cancelling):
            return "review", [], "cancel_before_its_codes"  # "A1 2 trái, bớt 1": which line?
        if line.chunk in cancelling and not _cancelled_in_chunk(c, line):
            continue  # "A1 thôi, không lấy A2 nữa": A1 stays
        lines.append(Line(line.code, line.quantity if line.stated else None, line.variant_sku))
    return ("cancel", lines, None) if lines or not c.reading.lines else ("review", [], "cancel_keeps_everything")


def _cancelled_in_chunk(c: _Comment, line: Line) -> bool:
    """Codes after the cancel word are cancelled; those before it only when none follow ("A1 bỏ nha")."""
    chunk = [t for t in c.tokens if t.chunk == line.chunk]
    at = next(t.index for t in chunk if "cancel_phrases" in t.categories)
    after = [t for t in chunk if t.role == "code" and t.index > at]
    return line.position > at if after else True


def _decide_correction(c: _Comment, question: bool) -> tuple[str, list[Line], str | None]:
    if question or c.unknown_codes or c.reading.issues:
        return "review", [], "correction_unsure"
    if not all(l.stated or l.variant_sku for l in c.reading.lines):
        return "review", [], "correction_without_change"
    return "correction", [Line(l.code, l.quantity if l.stated else None, l.variant_sku)
                          for l in c.reading.lines], None


def _is_question(c: _Comment, vocabulary: Vocabulary) -> bool:
    if "?" in c.text or c.has("question_phrases"):
        return True
    words = [t for t in c.tokens if t.raw.isalnum() and t.role != "code"]
    for token in reversed(words):
        if vocabulary.final_particles.matches(token) and "cancel_phrases" not in token.categories:
            return True
        if not vocabulary.trailing_particles.matches(token):
            break
    for i, opener in enumerate(c.tokens):
        if vocabulary.frame_openers.matches(opener):
            if any(t.chunk == opener.chunk and "cancel_phrases" not in t.categories
                   and vocabulary.frame_closers.matches(t) for t in c.tokens[i + 1:]):
                return True
    return False


def _unexplained(c: _Comment, showcase: Showcase, vocabulary: Vocabulary) -> list[str]:
    """Words the reading did not use and the vocabulary does not know ("A1 đẹp quá" → đẹp, quá)."""
    def known(t: Token) -> bool:
        return bool(t.role or t.categories) or not t.raw.isalnum() or t.raw.isdigit() \
            or t.folded in showcase.name_words or vocabulary.number_value(t) is not None \
            or vocabulary.measure_unit(t) is not None \
            or any(words.matches(t) for words in (
                vocabulary.count_units, vocabulary.trailing_particles, vocabulary.final_particles))
    return [t.raw for t in c.tokens if not known(t)]
