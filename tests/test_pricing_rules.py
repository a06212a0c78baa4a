"""Pricing rules on their own: rounding, stacking, splitting, pro-rating, codes, lifecycle, channels, customers."""
from __future__ import annotations

import datetime as dt
import unicodedata
from types import SimpleNamespace

import pytest

from core.pricing.resolver import best_combination, split_amount, unit_discount
from core.pricing.rules import ChannelRef, channel_ref, customer_key, lifecycle, on_channel
from core.pricing.usage import prorate
from core.pricing.vouchers import code_key

UTC = dt.timezone.utc


def promo(id, kind, value, stackable=False):
    return SimpleNamespace(id=id, kind=kind, value=value, stackable=stackable)


@pytest.mark.parametrize("kind, value, price, expected", [
    ("percentage", 15, 70_000, 10_500),
    ("percentage", 7, 55_555, 3_888),        # 3,888.85 → rounded down to the whole đồng
    ("percentage", 33, 1, 0),                # less than one đồng off: nothing
    ("percentage", 100, 65_000, 65_000),     # free, never below 0
    ("amount", 20_000, 65_000, 20_000),
    ("amount", 90_000, 65_000, 65_000),      # more than the price: the price, never below 0
    ("fixed_price", 50_000, 65_000, 15_000),
    ("fixed_price", 80_000, 65_000, 0),      # a "sale" price above the price gives nothing
])
def test_unit_discount_rounds_down_and_never_goes_below_zero(kind, value, price, expected):
    assert unit_discount(promo(1, kind, value), price) == expected


def test_the_single_best_exclusive_promotion_wins():
    ten, twenty_k, fixed = promo(1, "percentage", 10), promo(2, "amount", 20_000), promo(3, "fixed_price", 140_000)
    steps = best_combination(150_000, [ten, twenty_k, fixed])
    assert [(p.id, amount) for p, amount in steps] == [(2, 20_000)]  # not 15,000 (10%), not 10,000 (fixed)
    assert best_combination(300_000, [ten, twenty_k])[0][0] is ten  # 10% of 300,000 beats 20,000
    assert best_combination(300_000, [ten, twenty_k, fixed])[0][0] is fixed  # 140,000 instead of 300,000
    tie = best_combination(65_000, [promo(5, "fixed_price", 60_000), promo(4, "amount", 5_000)])
    assert [(p.id, a) for p, a in tie] == [(4, 5_000)]  # a tie: the lower id


def test_stackable_promotions_add_up_in_a_fixed_order():
    exclusive = promo(1, "percentage", 10)
    five_percent = promo(2, "percentage", 5, stackable=True)
    thousand = promo(3, "amount", 1_000, stackable=True)
    steps = best_combination(100_000, [thousand, exclusive, five_percent])
    # best exclusive first (10,000), then stackable percentages (5% of 90,000), then amounts
    assert [(p.id, amount) for p, amount in steps] == [(1, 10_000), (2, 4_500), (3, 1_000)]
    assert 100_000 - sum(a for _, a in steps) == 84_500


def test_stacking_never_goes_below_zero():
    steps = best_combination(10_000, [promo(1, "amount", 8_000), promo(2, "amount", 5_000, stackable=True),
                                      promo(3, "percentage", 50, stackable=True)])
    assert sum(a for _, a in steps) == 10_000


def test_no_candidate_no_step():
    assert best_combination(65_000, []) == []


@pytest.mark.parametrize("amount, totals", [(20_000, [3_150_000, 455_000, 1_050_000]), (3, [1, 1, 1]),
                                            (7, [3, 3, 1]), (0, [5, 5]), (5, [5])])
def test_split_amount_is_exact_and_pro_rata(amount, totals):
    shares = split_amount(amount, totals)
    assert sum(shares) == amount
    assert all(0 <= s <= t for s, t in zip(shares, totals))
    assert split_amount(2, [1, 1, 1]) == [1, 1, 0]  # the remainder goes to the earliest lines on a tie
    assert split_amount(10, [1, 1, 1]) == [1, 1, 1]  # never more than the lines


def test_prorate_gives_back_exactly_the_whole_in_any_steps():
    assert prorate(10_000, 3, 1) == 3_333
    assert sum(prorate(10_000, 3, 1, done) for done in range(3)) == 10_000
    assert prorate(10_000, 3, 2) + prorate(10_000, 3, 1, 2) == 10_000
    assert prorate(10_000, 3, 5) == 10_000 and prorate(10_000, 3, 0) == 0


def test_voucher_codes_are_case_insensitive_and_nfc():
    decomposed = unicodedata.normalize("NFD", "TẾT-2026")
    assert code_key("tết-2026") == code_key("TẾT-2026") == code_key(decomposed) == code_key("  Tết-2026 ")
    assert code_key("ab") is None and code_key("bad code") is None and code_key("-lead") is None
    assert code_key("x" * 65) is None and code_key(42) is None


def test_lifecycle_is_computed_from_the_window():
    start, end = dt.datetime(2026, 11, 20, tzinfo=UTC), dt.datetime(2026, 11, 27, tzinfo=UTC)
    offer = SimpleNamespace(status="published", starts_at=start, ends_at=end)
    assert lifecycle(offer, start - dt.timedelta(seconds=1)) == "scheduled"
    assert lifecycle(offer, start) == "active"
    assert lifecycle(offer, end - dt.timedelta(microseconds=1)) == "active"
    assert lifecycle(offer, end) == "ended"
    assert lifecycle(SimpleNamespace(status="draft", starts_at=start, ends_at=end), start) == "draft"
    assert lifecycle(SimpleNamespace(status="stopped", starts_at=start, ends_at=end), start) == "ended"


def test_channels_match_by_kind_or_exact_code():
    livestream = channel_ref("livestream:ls-42")
    assert livestream == ChannelRef("livestream", "livestream:ls-42")
    assert channel_ref(SimpleNamespace(kind="sales_point", code="sales_point:DN-01")).kind == "sales_point"
    assert channel_ref(None) == channel_ref("online_store") == ChannelRef("online_store", "online_store")
    assert on_channel(SimpleNamespace(channels=[]), livestream)
    assert on_channel(SimpleNamespace(channels=["livestream"]), livestream)
    assert on_channel(SimpleNamespace(channels=["livestream:ls-42"]), livestream)
    assert not on_channel(SimpleNamespace(channels=["livestream:ls-43", "online_store"]), livestream)


def test_customer_keys():
    assert customer_key(phone="0912 345 678") == customer_key(phone="+84 912 345 678") == "phone:0912345678"
    assert customer_key(phone="0912345678", user_id=7) == "user:7"
    assert customer_key(phone="12") is None and customer_key() is None
