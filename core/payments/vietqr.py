"""VietQR: NAPAS's EMVCo merchant-presented QR for bank transfers — build, parse, render.

A payload is a string of TLV fields (two-digit tag, two-digit length, value)
ending with a CRC-16/CCITT-FALSE over everything before it, ``6304``
included. :func:`build_payload` writes one, :func:`parse_payload` reads one
back and checks its CRC, :func:`render_svg` / :func:`render_png` draw it with
``segno``. The bank list (NAPAS BIN → short name) is data in
``core/payments/data/vietqr_banks.json``.
"""
from __future__ import annotations

import functools
import io
import json
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from core.errors import DomainError
from core.plugins import LazyModule

# segno (~1 MB) loads when a QR code is first drawn, not with every app
segno = LazyModule("segno")

GUID = "A000000727"                 # NAPAS's application id inside tag 38
SERVICE_ACCOUNT = "QRIBFTTA"        # 24/7 inter-bank transfer to an account
SERVICE_CARD = "QRIBFTTC"           # … to a card number
SERVICES = (SERVICE_ACCOUNT, SERVICE_CARD)
STATIC, DYNAMIC = "11", "12"        # point of initiation: reusable code / code with an amount
CURRENCY_VND = "704"
COUNTRY = "VN"
PURPOSE_MAX = 25                    # what every bank's app keeps of tag 62-08
NAME_MAX, CITY_MAX = 25, 15
AMOUNT_MAX_DIGITS = 13
_PURPOSE_ALLOWED = re.compile(r"[^A-Za-z0-9 _\-.]")
_SPACES = re.compile(r"\s+")
_DATA = Path(__file__).parent / "data" / "vietqr_banks.json"


class VietQRError(DomainError):
    """A payload that cannot be built or read (422 ``vietqr.invalid``)."""

    def __init__(self, reason: str, reason_vi: str, **details):
        super().__init__("vietqr.invalid", f"Mã VietQR không hợp lệ: {reason_vi}.",
                         f"Invalid VietQR code: {reason}.", {"reason": reason, **details}, status=422)


@dataclass(frozen=True)
class VietQR:
    """The fields of a VietQR payload (what :func:`parse_payload` returns)."""

    bank_bin: str
    account_no: str
    service: str = SERVICE_ACCOUNT
    amount: int | None = None
    purpose: str | None = None
    merchant_name: str | None = None
    merchant_city: str | None = None
    point_of_initiation: str = STATIC
    currency: str = CURRENCY_VND
    country: str = COUNTRY
    crc: str = ""


# --- text ------------------------------------------------------------------------------------
def remove_accents(text: str) -> str:
    """Vietnamese letters without diacritics, case kept: "Đồng Nai" → "Dong Nai"."""
    decomposed = unicodedata.normalize("NFD", (text or "").replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")


def clean_purpose(text: str | None) -> str:
    """The transfer text banks keep intact: no accents, only ``[A-Za-z0-9 _-.]``, ≤ 25 characters."""
    cleaned = _PURPOSE_ALLOWED.sub(" ", remove_accents(text or ""))
    return _SPACES.sub(" ", cleaned).strip()[:PURPOSE_MAX].rstrip()


def _clean_label(text: str | None, limit: int) -> str:
    cleaned = "".join(ch if 32 <= ord(ch) < 127 else " " for ch in remove_accents(text or ""))
    return _SPACES.sub(" ", cleaned).strip()[:limit].rstrip()


# --- TLV and CRC --------------------------------------------------------------------------------
def crc16_ccitt_false(data: bytes) -> int:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final xor)."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def crc_hex(text: str) -> str:
    """The four upper-case hex digits of :func:`crc16_ccitt_false` over ``text`` (UTF-8)."""
    return f"{crc16_ccitt_false(text.encode('utf-8')):04X}"


def tlv(tag: str, value: str) -> str:
    """One field: tag, two-digit length, value (length counted in characters, at most 99)."""
    if len(value) > 99:
        raise VietQRError(f"field {tag} is longer than 99 characters", f"trường {tag} dài quá 99 ký tự", tag=tag)
    return f"{tag}{len(value):02d}{value}"


def read_tlv(text: str) -> list[tuple[str, str]]:
    """Split a TLV string into ``(tag, value)`` pairs; raises :class:`VietQRError` when it does not add up."""
    fields, i = [], 0
    while i < len(text):
        head = text[i:i + 4]
        if len(head) < 4 or not head.isdigit():
            raise VietQRError("broken field header", "đầu trường bị hỏng", position=i)
        length = int(head[2:])
        value = text[i + 4:i + 4 + length]
        if len(value) != length:
            raise VietQRError("field runs past the end", "trường vượt quá độ dài mã", position=i, tag=head[:2])
        fields.append((head[:2], value))
        i += 4 + length
    return fields


# --- build ----------------------------------------------------------------------------------
def build_payload(bank_bin: str, account_no: str, *, amount: int | None = None, purpose: str | None = None,
                  service: str = SERVICE_ACCOUNT, merchant_name: str | None = None,
                  merchant_city: str | None = None) -> str:
    """The VietQR string for a transfer to ``account_no`` at the bank ``bank_bin``.

    With an ``amount`` (whole VND) the code is dynamic (``12``), without one
    static (``11``). ``purpose`` goes into 62-08 after :func:`clean_purpose`;
    name and city lose their accents (city cut to 15 characters).
    """
    bank_bin = (bank_bin or "").strip()
    account_no = (account_no or "").strip()
    if not re.fullmatch(r"\d{6}", bank_bin):
        raise VietQRError("the bank BIN must be 6 digits", "mã BIN ngân hàng phải gồm 6 chữ số", bank_bin=bank_bin)
    if not re.fullmatch(r"[A-Za-z0-9]{1,19}", account_no):
        raise VietQRError("the account number must be 1-19 letters or digits",
                          "số tài khoản phải gồm 1–19 chữ hoặc số")
    if service not in SERVICES:
        raise VietQRError("unknown service code", "mã dịch vụ không đúng", service=service)
    if amount is not None and (isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0
                               or len(str(amount)) > AMOUNT_MAX_DIGITS):
        raise VietQRError("the amount must be a positive whole number of VND",
                          "số tiền phải là số nguyên dương (VND)", amount=amount)
    beneficiary = tlv("00", bank_bin) + tlv("01", account_no)
    merchant = tlv("00", GUID) + tlv("01", beneficiary) + tlv("02", service)
    parts = [tlv("00", "01"), tlv("01", DYNAMIC if amount else STATIC), tlv("38", merchant),
             tlv("53", CURRENCY_VND)]
    if amount:
        parts.append(tlv("54", str(amount)))
    parts.append(tlv("58", COUNTRY))
    name, city = _clean_label(merchant_name, NAME_MAX), _clean_label(merchant_city, CITY_MAX)
    if name:
        parts.append(tlv("59", name))
    if city:
        parts.append(tlv("60", city))
    text = clean_purpose(purpose)
    if text:
        parts.append(tlv("62", tlv("08", text)))
    body = "".join(parts) + "6304"
    return body + crc_hex(body)


# --- parse ----------------------------------------------------------------------------------
def parse_payload(payload: str) -> VietQR:
    """Read a VietQR string back; checks the CRC and the NAPAS fields (:class:`VietQRError` otherwise)."""
    text = (payload or "").strip()
    if len(text) < 8 or text[-8:-4] != "6304":
        raise VietQRError("no CRC field at the end", "thiếu trường CRC ở cuối mã")
    expected, given = crc_hex(text[:-4]), text[-4:]
    if given.upper() != expected:
        raise VietQRError("CRC does not match", "mã kiểm tra CRC không khớp", expected=expected, given=given)
    fields = dict(read_tlv(text[:-8]))
    if fields.get("00") != "01":
        raise VietQRError("payload format indicator is not 01", "chỉ báo định dạng không phải 01")
    merchant = dict(read_tlv(fields.get("38", "")))
    if merchant.get("00") != GUID:
        raise VietQRError("not a NAPAS VietQR code (tag 38 GUID)", "không phải mã VietQR của NAPAS")
    beneficiary = dict(read_tlv(merchant.get("01", "")))
    if "00" not in beneficiary or "01" not in beneficiary:
        raise VietQRError("no bank BIN or account number", "thiếu mã ngân hàng hoặc số tài khoản")
    amount = fields.get("54")
    if amount is not None and not amount.isdigit():
        # EMVCo allows a decimal point; VND has no minor unit, so only "126000" or "126000.00" mean something
        if not re.fullmatch(r"\d+\.0*", amount):
            raise VietQRError("the amount is not a whole number of VND", "số tiền không phải số nguyên VND",
                              amount=amount)
        amount = amount.split(".")[0]
    extra = dict(read_tlv(fields["62"])) if "62" in fields else {}
    return VietQR(bank_bin=beneficiary["00"], account_no=beneficiary["01"], service=merchant.get("02", ""),
                  amount=int(amount) if amount else None, purpose=extra.get("08"),
                  merchant_name=fields.get("59"), merchant_city=fields.get("60"),
                  point_of_initiation=fields.get("01", STATIC), currency=fields.get("53", ""),
                  country=fields.get("58", ""), crc=given.upper())


# --- render ---------------------------------------------------------------------------------
def _qr(payload: str) -> segno.QRCode:
    return segno.make_qr(payload, error="m")


def render_svg(payload: str, scale: int = 6) -> bytes:
    """The QR code of ``payload`` as a standalone SVG document."""
    out = io.BytesIO()
    _qr(payload).save(out, kind="svg", scale=scale, border=4, xmldecl=True, title="VietQR")
    return out.getvalue()


def render_png(payload: str, scale: int = 8) -> bytes:
    """The QR code of ``payload`` as PNG bytes."""
    out = io.BytesIO()
    _qr(payload).save(out, kind="png", scale=scale, border=4)
    return out.getvalue()


# --- banks ----------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def banks() -> tuple[dict, ...]:
    """Every bank of the list: ``{"bin", "code", "short_name", "name"}``."""
    return tuple(json.loads(_DATA.read_text("utf-8"))["banks"])


def bank_by_bin(bank_bin: str) -> dict | None:
    """The bank with NAPAS BIN ``bank_bin``, or None."""
    return next((b for b in banks() if b["bin"] == bank_bin), None)
