"""Where bank-transfer money goes: the platform account from the environment, or a receiving account
registered for a sales channel (till, fair booth) or a producer.

Environment: ``OCOP_BANK_BIN`` (NAPAS bank id, six digits), ``OCOP_BANK_ACCOUNT_NO``,
``OCOP_BANK_ACCOUNT_NAME``, optionally ``OCOP_BANK_CITY``; the older
``OCOP_BANK_TRANSFER_BANK_BIN`` / ``_ACCOUNT`` / ``_ACCOUNT_NAME`` still work.
``OCOP_BANK_WEBHOOK_SECRET`` is the checksum key of the Casso webhook.
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass

from core.payments import vietqr

#: The sample account the demo (``dev.py serve``) and the test suite configure.
DEMO_ACCOUNT_ENV = {"OCOP_BANK_BIN": "970436", "OCOP_BANK_ACCOUNT_NO": "1023456789",
                    "OCOP_BANK_ACCOUNT_NAME": "HTX DICH VU OCOP DONG NAI", "OCOP_BANK_CITY": "Dong Nai"}
WEBHOOK_TOLERANCE_SECONDS = 300


@dataclass(frozen=True)
class ReceivingAccount:
    """A bank account shoppers transfer to."""

    bank_bin: str
    account_no: str
    account_name: str = ""
    city: str = ""
    owner: str = "platform"   # platform, channel:<id>, producer:<id>

    @property
    def bank(self) -> dict:
        return vietqr.bank_by_bin(self.bank_bin) or {"bin": self.bank_bin, "short_name": self.bank_bin,
                                                      "code": None, "name": None}

    def as_dict(self) -> dict:
        data = asdict(self)
        data["bank"] = self.bank["short_name"]
        return data


def _first(environ, *names: str) -> str:
    return next((environ[n].strip() for n in names if (environ.get(n) or "").strip()), "")


def platform_account(environ=None) -> ReceivingAccount | None:
    """The platform's account from ``OCOP_BANK_*``, or None when bank and account number are not both set."""
    environ = os.environ if environ is None else environ
    bank_bin = _first(environ, "OCOP_BANK_BIN", "OCOP_BANK_TRANSFER_BANK_BIN")
    account_no = _first(environ, "OCOP_BANK_ACCOUNT_NO", "OCOP_BANK_TRANSFER_ACCOUNT")
    if not bank_bin or not account_no:
        return None
    return ReceivingAccount(bank_bin=bank_bin, account_no=account_no,
                            account_name=_first(environ, "OCOP_BANK_ACCOUNT_NAME", "OCOP_BANK_TRANSFER_ACCOUNT_NAME"),
                            city=_first(environ, "OCOP_BANK_CITY"))


def webhook_secret(environ=None) -> str:
    """``OCOP_BANK_WEBHOOK_SECRET`` (empty when the webhook receiver is not configured)."""
    return _first(os.environ if environ is None else environ, "OCOP_BANK_WEBHOOK_SECRET")
