"""Per-viewer draft orders folded from parse results: orders add, corrections set, cancels remove."""
from __future__ import annotations

from plugins.livestream.drafts import DraftBook, fold_drafts
from plugins.livestream.parser import CommentStream, parse_comment
from plugins.livestream.tests.test_parser import COMPILED


def session(*comments):
    """Parse ``(author, text)`` or ``(author, text, minute)`` comments as one live session."""
    state, results = CommentStream(), []
    for n, comment in enumerate(comments):
        author, text, minute = (comment + (n,))[:3]
        results.append(parse_comment({"id": f"c{n}", "author_id": author, "author_name": author.upper(),
                                      "text": text, "created_at": f"2026-11-23T19:{minute:02d}:00+07:00"},
                                     COMPILED, state))
    return results


def test_orders_collect_per_viewer():
    drafts = fold_drafts(session(("hoa", "A1x2"), ("nam", "chốt 2 hộp B2"), ("hoa", "C2 đỏ M 0901234567")))
    assert drafts["hoa"].lines == {("A1", None): 2, ("C2", "AO-DM"): 1}
    assert drafts["hoa"].phone == "+84901234567" and drafts["hoa"].author_name == "HOA"
    assert drafts["nam"].lines == {("B2", None): 2}


def test_repeated_comments_do_not_double_an_order():
    drafts = fold_drafts(session(("hoa", "A1", 0), ("hoa", "A1", 1), ("hoa", "A1 nha shop", 2),
                                 ("hoa", "chốt A1 ạ", 20)))
    assert drafts["hoa"].lines == {("A1", None): 1}
    assert drafts["hoa"].to_review == []


def test_an_explicit_add_adds_and_a_stated_quantity_clarifies():
    drafts = fold_drafts(session(("hoa", "A1"), ("hoa", "A1 3 trái"), ("hoa", "lấy thêm 1 A1")))
    assert drafts["hoa"].lines == {("A1", None): 4}


def test_a_different_quantity_without_add_word_is_flagged_not_added():
    results = session(("hoa", "A1 2 trái"), ("hoa", "A1 3 trái"))
    drafts = fold_drafts(results)
    assert drafts["hoa"].lines == {("A1", None): 3}
    assert drafts["hoa"].to_review == [results[1].comment_id]


def test_a_variant_named_later_fills_the_line():
    drafts = fold_drafts(session(("hoa", "A1 2 trái"), ("hoa", "A1 loại 1")))
    assert drafts["hoa"].lines == {("A1", "BUOI-1"): 2}


def test_two_variants_are_two_lines():
    drafts = fold_drafts(session(("hoa", "C2 xanh M"), ("hoa", "C2 đỏ M")))
    assert drafts["hoa"].lines == {("C2", "AO-XM"): 1, ("C2", "AO-DM"): 1}


def test_correction_sets_quantity_and_variant():
    drafts = fold_drafts(session(("hoa", "A1 2 trái"), ("hoa", "sửa A1 thành 5"),
                                 ("hoa", "C2 xanh M"), ("hoa", "đổi C2 sang đỏ M")))
    assert drafts["hoa"].lines == {("A1", None): 5, ("C2", "AO-DM"): 1}


def test_correction_of_an_unordered_code_creates_it():
    drafts = fold_drafts(session(("hoa", "sửa B2 thành 2 gói")))
    assert drafts["hoa"].lines == {("B2", None): 2}


def test_correction_between_two_variants_needs_a_person():
    results = session(("hoa", "C2 xanh M"), ("hoa", "C2 đỏ M"), ("hoa", "sửa C2 thành 3"))
    drafts = fold_drafts(results)
    assert drafts["hoa"].lines == {("C2", "AO-XM"): 1, ("C2", "AO-DM"): 1}
    assert drafts["hoa"].to_review == [results[2].comment_id]


def test_cancel_removes_a_code_a_quantity_or_everything():
    drafts = fold_drafts(session(("hoa", "A1x3 B2x1 C3x1"), ("hoa", "huỷ B2"), ("hoa", "bớt 1 A1"),
                                 ("nam", "A1"), ("nam", "B2"), ("nam", "huỷ đơn")))
    assert drafts["hoa"].lines == {("A1", None): 2, ("C3", None): 1}
    assert drafts["nam"].lines == {}
    assert [d.author_id for d in DraftBook().apply_all(
        session(("hoa", "A1"), ("nam", "A1"), ("nam", "huỷ đơn"))).with_lines()] == ["hoa"]


def test_cancel_of_one_variant_keeps_the_other():
    drafts = fold_drafts(session(("hoa", "C2 xanh M"), ("hoa", "C2 đỏ M"), ("hoa", "huỷ C2 đỏ M")))
    assert drafts["hoa"].lines == {("C2", "AO-XM"): 1}


def test_replaying_results_changes_nothing():
    results = session(("hoa", "A1x2"), ("hoa", "lấy thêm 1 A1"), ("hoa", "bớt 1 A1"), ("nam", "B2"))
    once = fold_drafts(results)
    book = DraftBook().apply_all(results).apply_all(results).apply_all(reversed(results))
    assert {a: d.lines for a, d in book.drafts.items()} == {a: d.lines for a, d in once.items()}
    assert once["hoa"].lines == {("A1", None): 2}


def test_duplicates_reviews_and_questions_leave_lines_alone():
    results = session(("hoa", "A1"), ("hoa", "A1"), ("hoa", "C2 xanh"), ("hoa", "B2 giá bao nhiêu?"))
    drafts = fold_drafts(results)
    assert results[1].intent == "duplicate"
    assert drafts["hoa"].lines == {("A1", None): 1}
    assert drafts["hoa"].to_review == [results[2].comment_id]


def test_a_phone_given_alone_joins_the_viewer_draft():
    drafts = fold_drafts(session(("hoa", "A1"), ("hoa", "0901 234 567")))
    assert drafts["hoa"].phone == "+84901234567" and drafts["hoa"].lines == {("A1", None): 1}
