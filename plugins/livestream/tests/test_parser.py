"""The livestream comment parser: intents, lines, phones, duplicates, malformed input, the CLI contract."""
from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from core.cli import build_cli
from plugins.livestream.cli import livestream
from plugins.livestream.lines import Line
from plugins.livestream.parser import CommentStream, parse_comment
from plugins.livestream.phones import find_phones
from plugins.livestream.showcase import ShowcaseError, code_key, compile_showcase

SHOWCASE = [
    {"code": "A1", "name": "Bưởi da xanh", "price": 85000,
     "variants": [{"sku": "BUOI-1", "name": "Loại 1"}, {"sku": "BUOI-2", "name": "Loại 2"}]},
    {"code": "A2", "name": "Mật ong rừng", "price": 180000,
     "variants": [{"sku": "MO-500", "name": "Chai 500ml"}, {"sku": "MO-1L", "name": "Chai 1 lít"}]},
    {"code": "B2", "name": "Trà móc câu", "price": 120000, "variants": []},
    {"code": "C2", "name": "Áo bà ba", "price": 420000,
     "variants": [{"sku": "AO-XM", "name": "Xanh M"}, {"sku": "AO-XL", "name": "Xanh L"},
                  {"sku": "AO-DM", "name": "Đỏ M"}]},
    {"code": "C3", "name": "Gạo ST25", "price": 38000,
     "variants": [{"sku": "G-5", "name": "Túi 5kg"}, {"sku": "G-10", "name": "Thùng 10kg"}]},
]
COMPILED = compile_showcase(SHOWCASE)


def parse(text, **fields):
    comment = {"id": fields.pop("id", "c1"), "author_id": fields.pop("author_id", "u1"), "text": text,
               "created_at": fields.pop("created_at", "2026-11-23T19:00:00+07:00"), **fields}
    return parse_comment(comment, COMPILED, fields.pop("state", None) or CommentStream())


def lines(result):
    return [(l.code, l.quantity, l.variant_sku) for l in result.lines]


@pytest.mark.parametrize("text, expected", [
    ("A1", [("A1", 1, None)]),
    ("C2 xanh M 0901234567", [("C2", 1, "AO-XM")]),
    ("chốt 2 hộp B2", [("B2", 2, None)]),
    ("lay c3 nha", [("C3", 1, None)]),
    ("A1x2 B2x1", [("A1", 2, None), ("B2", 1, None)]),
    ("e lấy A1 loại 1 hai trái", [("A1", 2, "BUOI-1")]),
    ("cho e 2c B2", [("B2", 2, None)]),
    ("B2 x3", [("B2", 3, None)]),
    ("B2 x 3", [("B2", 3, None)]),
    ("sl 2 B2", [("B2", 2, None)]),
    ("sl:4 B2", [("B2", 4, None)]),
    ("số lượng 2 B2", [("B2", 2, None)]),
    ("1 thùng 10kg C3", [("C3", 1, "G-10")]),
    ("2 A1 1 B2", [("A1", 2, None), ("B2", 1, None)]),
    ("A1 2 B2 1", [("A1", 2, None), ("B2", 1, None)]),
    ("A2 1 lít x2, B2 ba gói", [("A2", 2, "MO-1L"), ("B2", 3, None)]),
    ("a2 1000ml", [("A2", 1, "MO-1L")]),
    ("A01 x 2", [("A1", 2, None)]),
    ("#B2 2 bịch nha shop 🥰", [("B2", 2, None)]),
    ("chốtttt A1 nhaaa", [("A1", 1, None)]),
    ("chot c2 do m", [("C2", 1, "AO-DM")]),
    ("chốt c2 xanh L, đỏ M", [("C2", 1, "AO-XL"), ("C2", 1, "AO-DM")]),
    ("tui lấy giùm 2 bịch B2 nghen", [("B2", 2, None)]),
    ("cho tớ 1 hộp trà B2 nhé", [("B2", 1, None)]),
    ("lấy 2 A1, giao 12 Lê Lợi P7 Q10", [("A1", 2, None)]),
    ("A1 A1 A1", [("A1", 1, None)]),
    ("B2 2️⃣ gói", [("B2", 2, None)]),
    ("2A1", [("A1", 2, None)]),
    ("A1A2", [("A1", 1, None), ("A2", 1, None)]),
    ("I want A1 2 pcs please", [("A1", 2, None)]),
    ("A1 x2 nha shop, ck luôn", [("A1", 2, None)]),
    ("chốt đơn A1 ạ. Sđt em 0965xxx123", [("A1", 1, None)]),
])
def test_orders(text, expected):
    result = parse(text)
    assert result.intent == "order", result.reason
    assert lines(result) == expected


@pytest.mark.parametrize("text", [
    "A1 giá bao nhiêu?", "A1 giá bao nhiêu", "A2 còn không shop", "a2 con hang ko", "B2 ship HCM dc k",
    "có ship cod không ạ", "B2 nhiêu 1 gói dzậy", "cho mình hỏi A1 ngọt không", "A1 hay A2 ngon hơn",
    "ship Hà Nội mất bao lâu hả shop", "có B9 không shop",
])
def test_questions_are_not_orders(text):
    assert parse(text).intent == "question"


@pytest.mark.parametrize("text, reason", [
    ("C2 xanh", "ambiguous_variant"),              # Xanh M or Xanh L
    ("A9 2 hộp", "unknown_code"),
    ("lấy 2 hộp", "order_without_code"),
    ("chốt", "order_without_code"),
    ("+1", "order_without_code"),
    ("chốt A1 giá 85k đúng không", "question_with_order"),
    ("A1 còn không, còn thì chốt 2", "question_with_order"),
    ("B2 0", "quantity_out_of_range"),
    ("B2 200 gói", "quantity_out_of_range"),
    ("A1 2 3", "conflicting_quantities"),
    ("C3 3kg", "unmatched_measure"),
    ("A1 0901 234 56", "invalid_phone"),
    ("A1 đẹp quá", "not_an_order"),
    ("A1 mai giao sớm", "unexplained_words"),
    ("e lấy A1, huỷ B2", "cancel_mixed"),
    ("hôm qua e chốt A1 mà chưa thấy gọi", "not_an_order"),
    ("B2 2h", "unreadable_number"),
    ("A1 2 trái thôi, bớt 1", "cancel_before_its_codes"),
    ("Đã chuyển khoản cho đơn A1", "not_an_order"),
    ("A1 bỏ giỏ rồi", "not_an_order"),          # "bỏ giỏ" is put in the cart, not "bỏ" (drop)
    ("shop bớt giá A1 đi", "not_an_order"),     # a discount, not "bớt" (fewer)
])
def test_doubtful_comments_go_to_review(text, reason):
    result = parse(text)
    assert result.intent == "review" and result.lines == ()
    assert reason in result.reason


@pytest.mark.parametrize("text, expected", [
    ("huỷ A1", [("A1", None, None)]),
    ("huy a1 giup e", [("A1", None, None)]),
    ("ko lấy B2 nữa nha", [("B2", None, None)]),
    ("hổng lấy A2 nữa nghen", [("A2", None, None)]),
    ("bớt 1 B2", [("B2", 1, None)]),
    ("huỷ C2 đỏ M", [("C2", None, "AO-DM")]),
    ("hủy B2, giữ A1", [("B2", None, None)]),
    ("huỷ đơn", []),
    ("thôi e không lấy nữa nha shop", []),
    ("e xin huỷ đơn", []),
    ("huỷ đơn giúp em ạ, em đặt trùng", []),
    ("A1 thôi không lấy A2 nữa", [("A2", None, None)]),
    ("C2 đỏ M bỏ nha, chỉ lấy xanh L", [("C2", None, "AO-DM")]),
    ("huỷ A1, B2", [("A1", None, None), ("B2", None, None)]),
])
def test_cancellations(text, expected):
    result = parse(text)
    assert result.intent == "cancel", result.reason
    assert lines(result) == expected


@pytest.mark.parametrize("text, expected", [
    ("sửa A1 thành 3", [("A1", 3, None)]),
    ("sua b2 thanh 4 goi", [("B2", 4, None)]),
    ("B2 lên 5 gói nha", [("B2", 5, None)]),
    ("đổi C2 sang đỏ M", [("C2", None, "AO-DM")]),
    ("đổi C2 xanh M sang xanh L", [("C2", None, "AO-XL")]),
    ("sửa A1 loại 2 thành 2 trái", [("A1", 2, "BUOI-2")]),
    ("à nhầm, A1 2 trái thôi", [("A1", 2, None)]),
    ("C3 đổi qua thùng 10kg", [("C3", None, "G-10")]),
])
def test_corrections(text, expected):
    result = parse(text)
    assert result.intent == "correction", result.reason
    assert lines(result) == expected


def test_khoi_alone_is_not_a_cancel():
    result = parse("khỏi ship, e tới lấy A1")
    assert result.intent == "order" and lines(result) == [("A1", 1, None)]


def test_a_correction_naming_no_change_is_reviewed():
    assert parse("đổi A1 sang A2").intent == "review"
    assert parse("sửa A1 giúp e").intent == "review"


@pytest.mark.parametrize("text", ["chào shop", "❤️❤️❤️", "", "   ", ".", "haha live vui quá",
                                  "Tuyển CTV thu nhập 10tr/tháng ib 0355 123 456",
                                  "xem phim tại bit.ly/abc123", "0934567890"])
def test_chatter_and_spam_are_other(text):
    assert parse(text).intent == "other"


def test_bare_number_is_reviewed_not_ordered():
    assert parse("1").intent == "review"


@pytest.mark.parametrize("text, phone", [
    ("A1 0901234567", "+84901234567"),
    ("A1 090 123 4567", "+84901234567"),
    ("A1 090.123.4567", "+84901234567"),
    ("A1 090-123-4567", "+84901234567"),
    ("A1 +84 90 123 4567", "+84901234567"),
    ("A1 +84901234567", "+84901234567"),
    ("A1 84901234567", "+84901234567"),
    ("A1 sđt: 0.9.0.1.2.3.4.5.6.7", "+84901234567"),
    ("A1 024 3826 1234", "+842438261234"),
    ("A1 (84) 912 345 678", "+84912345678"),
    ("A1 sđt 0965xxx123", None),
    ("A1", None),
])
def test_phone_spellings_normalised_to_e164(text, phone):
    result = parse(text)
    assert result.phone == phone
    assert result.intent == "order" and lines(result) == [("A1", 1, None)]


def test_phone_does_not_eat_quantities():
    assert lines(parse("A1 2 0901234567")) == [("A1", 2, None)]
    assert lines(parse("A1 0901234567 3 trái")) == [("A1", 3, None)]
    assert lines(parse("sl 2 0912 345 678 B2")) == [("B2", 2, None)]
    assert [p.e164 for p in find_phones("0901234567 2")] == ["+84901234567"]
    assert find_phones("giá 1.000.000đ, 2 hộp") == []


def test_codes_are_case_and_zero_insensitive():
    assert code_key("A01") == code_key("a1") == "a1"
    assert lines(parse("c2 XANH m")) == [("C2", 1, "AO-XM")]


def test_diacritics_folded_but_other_marks_do_not_match():
    assert parse("lay A1").intent == parse("lấy A1").intent == "order"
    assert parse("bo A1").intent == "cancel"       # "bỏ" typed without marks
    assert parse("bơ A1").intent != "cancel"       # "bơ" (butter) is not "bỏ"


def test_additive_orders_are_marked():
    assert parse("lấy thêm 1 A1").additive is True
    assert parse("lấy 1 A1").additive is False


def test_resent_id_is_a_duplicate():
    state = CommentStream()
    assert parse("A1", id="c1", state=state).intent == "order"
    assert parse("A1", id="c1", state=state).intent == "duplicate"
    assert parse("B2", id="c1", state=state).intent == "duplicate"


def test_same_author_same_text_within_the_window_is_a_duplicate():
    state = CommentStream()
    first = parse("Chốt A1!", id="c1", created_at="2026-11-23T19:00:00+07:00", state=state)
    again = parse("chot a1", id="c2", created_at="2026-11-23T19:03:00+07:00", state=state)
    other_author = parse("chot a1", id="c3", author_id="u2", created_at="2026-11-23T19:03:10+07:00", state=state)
    later = parse("chốt A1", id="c4", created_at="2026-11-23T19:09:00+07:00", state=state)
    assert [r.intent for r in (first, again, other_author, later)] == ["order", "duplicate", "order", "order"]


def test_repeating_keeps_the_window_sliding():
    state = CommentStream()
    times = ["19:00", "19:04", "19:08", "19:12"]
    results = [parse("A1", id=f"c{i}", created_at=f"2026-11-23T{t}:00+07:00", state=state)
               for i, t in enumerate(times)]
    assert [r.intent for r in results] == ["order", "duplicate", "duplicate", "duplicate"]


@pytest.mark.parametrize("comment, error", [
    ("not a dict", "livestream.not_an_object"),
    ({"author_id": "u1", "text": "A1"}, "livestream.missing_id"),
    ({"id": True, "author_id": "u1", "text": "A1"}, "livestream.missing_id"),
    ({"id": "c1", "text": "A1"}, "livestream.missing_author"),
    ({"id": "c1", "author_id": "u1", "text": None}, "livestream.text_not_string"),
    ({"id": "c1", "author_id": "u1", "text": ["A1"]}, "livestream.text_not_string"),
    ({"id": "c1", "author_id": "u1", "text": 12345}, "livestream.text_not_string"),
    ({"id": "c1", "author_id": "u1", "text": "A1 " * 100_000}, "livestream.text_too_long"),
])
def test_malformed_comments_are_other_with_an_error(comment, error):
    result = parse_comment(comment, SHOWCASE, CommentStream())
    assert result.intent == "other" and result.error == error
    assert result.as_contract()["error"]["code"] == error


@pytest.mark.parametrize("created_at", [None, "yesterday", 10**20, "2026-13-45T99:00:00", 1795000000])
def test_odd_timestamps_do_not_break_parsing(created_at):
    assert parse("A1", created_at=created_at).intent == "order"


@pytest.mark.parametrize("text", ["\x00\x01A1", "A1" * 900, "9" * 1500, "a1x999", "++++", "?" * 500,
                                  "0" * 40, "ａ１", "A1\u200bx2", "đ" * 1000, "A1 " + "x " * 600])
def test_odd_text_never_raises(text):
    assert parse(text).intent in ("order", "question", "cancel", "correction", "review", "other")


def test_showcase_is_checked():
    with pytest.raises(ShowcaseError):
        compile_showcase({"code": "A1"})
    with pytest.raises(ShowcaseError):
        compile_showcase([{"code": "A1"}, {"code": "a01"}])
    with pytest.raises(ShowcaseError):
        compile_showcase([{"code": "A1", "variants": [{"sku": 1}]}])
    assert compile_showcase([{"code": "Z9"}]).product("z9").variants == ()


def test_contract_shape():
    out = parse("cho e 1 C2 đỏ M, 0901234567", id=7).as_contract()
    assert out == {"id": 7, "intent": "order", "phone": "+84901234567",
                   "lines": [{"code": "C2", "quantity": 1, "variant_sku": "AO-DM"}]}
    assert Line("A1", 1, None).stated is False


# --- the command line ----------------------------------------------------------------------------

COMMENTS = [
    {"id": "k1", "author_id": "fb_1", "author_name": "Hoa", "text": "A1x2 B2x1 0901234567",
     "created_at": "2026-11-23T19:00:00+07:00"},
    {"id": "k2", "author_id": "fb_2", "author_name": "Nam", "text": "A1 giá bao nhiêu?",
     "created_at": "2026-11-23T19:00:05+07:00"},
    {"id": "k1", "author_id": "fb_1", "author_name": "Hoa", "text": "A1x2 B2x1 0901234567",
     "created_at": "2026-11-23T19:00:00+07:00"},
    {"id": "k3", "author_id": "fb_1", "text": "huỷ B2", "created_at": "2026-11-23T19:01:00+07:00"},
]
EXPECTED = [
    {"id": "k1", "intent": "order", "phone": "+84901234567",
     "lines": [{"code": "A1", "quantity": 2, "variant_sku": None}, {"code": "B2", "quantity": 1, "variant_sku": None}]},
    {"id": "k2", "intent": "question", "lines": [], "phone": None},
    {"id": "k1", "intent": "duplicate", "lines": [], "phone": None},
    {"id": None, "intent": "other", "lines": [], "phone": None},
    {"id": "k3", "intent": "cancel", "lines": [{"code": "B2", "quantity": None, "variant_sku": None}], "phone": None},
    {"id": None, "intent": "other", "lines": [], "phone": None},
]


def _stdin() -> str:
    rows = [json.dumps(c, ensure_ascii=False) for c in COMMENTS]
    rows.insert(3, "{not json")
    rows.append("")
    return "\n".join(rows) + "\n"


def _check_output(stdout: str) -> None:
    got = [json.loads(line) for line in stdout.splitlines()]
    assert len(got) == len(EXPECTED)
    for line, expected in zip(got, EXPECTED):
        assert {k: v for k, v in line.items() if k != "error"} == expected
    assert got[3]["error"]["code"] == "livestream.invalid_json" and got[3]["error"]["message"]
    assert got[5]["error"]["code"] == "livestream.invalid_json"


@pytest.fixture
def showcase_file(tmp_path) -> Path:
    path = tmp_path / "showcase.json"
    path.write_text(json.dumps(SHOWCASE, ensure_ascii=False), encoding="utf-8")
    return path


def test_cli_contract_through_the_root_group(showcase_file):
    root, pm = build_cli()
    result = CliRunner().invoke(root, ["livestream", "parse-comments", "--showcase", str(showcase_file)],
                                input=_stdin(), obj={"pm": pm})
    assert result.exit_code == 0, result.output
    _check_output(result.stdout)


def test_cli_explain_adds_reasons(showcase_file):
    result = CliRunner().invoke(livestream, ["parse-comments", "--showcase", str(showcase_file), "--explain"],
                                input='{"id": 1, "author_id": "u", "text": "C2 xanh"}\n')
    assert result.exit_code == 0
    assert json.loads(result.stdout)["reason"].startswith("unsure_lines")


def test_cli_refuses_a_broken_showcase(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"code": "A1"}')
    result = CliRunner().invoke(livestream, ["parse-comments", "--showcase", str(bad)], input="")
    assert result.exit_code == 2 and "showcase" in result.output


def _ocop() -> str:
    path = Path(sys.executable).parent / "ocop"
    assert path.exists(), "the ocop console script is installed with the package"
    return str(path)


def test_cli_contract_through_the_installed_console_script(showcase_file):
    done = subprocess.run([_ocop(), "livestream", "parse-comments", "--showcase", str(showcase_file)],
                          input=_stdin().encode("utf-8"), capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    _check_output(done.stdout.decode("utf-8"))


def test_plugin_can_be_switched_off(showcase_file):
    env = {**os.environ, "OCOP_PLUGINS_DISABLED": "livestream"}
    done = subprocess.run([_ocop(), "livestream", "parse-comments", "--showcase", str(showcase_file)],
                          input=b"", capture_output=True, env=env, timeout=120)
    assert done.returncode == 2 and b"No such command" in done.stderr


def test_cli_survives_bytes_that_are_not_utf8_and_deep_json(showcase_file):
    stdin = b'\xff\xfe{"id": 1}\n' + b"[" * 100_000 + b"\n" + b'{"id": 2, "author_id": "u", "text": "A1"}\n'
    result = CliRunner().invoke(livestream, ["parse-comments", "--showcase", str(showcase_file)], input=stdin)
    assert result.exit_code == 0, result.output
    got = [json.loads(line) for line in result.stdout.splitlines()]
    assert [g["intent"] for g in got] == ["other", "other", "order"]
    assert got[0]["error"]["code"] == got[1]["error"]["code"] == "livestream.invalid_json"


FUZZ_PIECES = ["A1", "a01", "C2", "x", "*", "2", "0", "sl", "hộp", "kg", "500ml", "1 lít", "lấy", "huỷ", "sửa",
               "thành", "sang", "không", "?", ",", ".", "+", "và", "0901234567", "+84", "84", "090 123", "xanh",
               "M", "L", "đỏ", "loại", "1", "giao", "12", "ký", "cân", "lạng", "🥰", "\n", "thêm", "bớt", "giữ",
               "-", "->", "(", ")", "x2", "2A1", "A1A2", "nhầm", "đổi", "qua", "còn", "thôi", "k", "85k"]


def test_random_pieces_never_raise_and_orders_stay_sane():
    rng, state = random.Random(12), CommentStream()
    for n in range(2000):
        text = " ".join(rng.choice(FUZZ_PIECES) for _ in range(rng.randint(0, 12)))
        if rng.random() < 0.3:
            text = text.replace(" ", "")
        result = parse_comment({"id": n, "author_id": rng.choice("abc"), "text": text,
                                "created_at": 1795000000 + n}, COMPILED, state)
        json.dumps(result.as_contract())
        if result.intent == "order":
            assert result.lines and all(1 <= line.quantity <= 50 for line in result.lines), text
        else:
            assert result.intent in ("question", "cancel", "correction", "review", "duplicate", "other")
