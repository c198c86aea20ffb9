"""Checks of settings at load, each error naming the setting (its environment variable) and the bad value.

Pure functions used by the resources' pydantic validators and by the schedule: a bad setting
stops the run when its resources load, before any step does work, instead of failing deep in a
step (`decimal.InvalidOperation`) or, worse, being accepted (`REVSYNC_REPORTING_CURRENCY=xyz`).
Values that may hold a secret (URLs with passwords) are shown with the secret masked.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa

# Active ISO 4217 currency codes (lower case, as Stripe writes them).
_ISO_4217_TEXT = """
    aed afn all amd ang aoa ars aud awg azn bam bbd bdt bgn bhd bif bmd bnd bob bov brl bsd btn bwp byn bzd
    cad cdf che chf chw clf clp cny cop cou crc cup cve czk djf dkk dop dzd egp ern etb eur fjd fkp gbp gel
    ghs gip gmd gnf gtq gyd hkd hnl htg huf idr ils inr iqd irr isk jmd jod jpy kes kgs khr kmf kpw krw kwd
    kyd kzt lak lbp lkr lrd lsl lyd mad mdl mga mkd mmk mnt mop mru mur mvr mwk mxn mxv myr mzn nad ngn nio
    nok npr nzd omr pab pen pgk php pkr pln pyg qar ron rsd rub rwf sar sbd scr sdg sek sgd shp sle sll sos
    srd ssp stn svc syp szl thb tjs tmt tnd top try ttd twd tzs uah ugx usd usn uyi uyu uyw uzs ved ves vnd
    vuv wst xaf xag xau xcd xcg xdr xof xpd xpf xpt xsu xua yer zar zmw zwg zwl
"""
ISO_4217 = frozenset(_ISO_4217_TEXT.split())


class SettingError(ValueError):
    """A setting's value is unusable; the message names the environment variable and the value."""

    def __init__(self, setting: str, shown: str, reason: str) -> None:
        super().__init__(f"{setting}={shown}: {reason}")
        self.setting = setting


def currency(setting: str, value: str) -> str:
    code = value.strip().lower()
    if code not in ISO_4217:
        raise SettingError(setting, repr(value), "not an ISO 4217 currency code (e.g. usd, eur, gbp)")
    return code


def fx_rates(setting: str, value: str) -> dict[str, str]:
    """'eur=1.08,gbp=1.27' -> {'eur': '1.08', 'gbp': '1.27'}: real codes, finite positive decimals."""
    rates: dict[str, str] = {}
    for pair in filter(None, (p.strip() for p in value.split(","))):
        code, sep, rate = (part.strip() for part in pair.partition("="))
        if not sep or not code or not rate:
            raise SettingError(setting, repr(value), f"entry {pair!r} is not of the form 'eur=1.08'")
        if code.lower() not in ISO_4217:
            raise SettingError(setting, repr(value), f"{code!r} is not an ISO 4217 currency code")
        try:
            number = Decimal(rate)
        except InvalidOperation:
            number = Decimal("NaN")
        if not number.is_finite() or number <= 0:
            raise SettingError(setting, repr(value), f"the rate of {code.lower()} ({rate!r}) is not a positive number")
        rates[code.lower()] = rate
    return rates


def timezone(setting: str, value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingError(setting, repr(value), "not an IANA timezone (e.g. UTC, Europe/Paris)") from None
    return value


def http_url(setting: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        shown = parts._replace(netloc=parts.hostname or "").geturl() if parts.password else value
        raise SettingError(setting, repr(shown), "not an http(s) URL")
    return value


def database_url(setting: str, value: str) -> str:
    """A SQLAlchemy URL; the error never shows a password."""
    try:
        sa.make_url(value)
    except (sa.exc.ArgumentError, ValueError):
        raise SettingError(setting, "<hidden: may hold a password>", "not a SQLAlchemy database URL") from None
    return value
