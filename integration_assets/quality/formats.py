"""Named value formats a mapping field may require (`"quality": {"format": "email"}`).

Each format is a vectorised test over a frame column's non-null values, so the gate never
loops over rows in Python. Code lists (ISO 4217 currencies, ISO 3166-1 alpha-2 countries)
are kept here rather than pulled from a package: they change a few times a decade, and a
gate must not change verdicts because a dependency was upgraded.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

# Deliberately permissive: one '@', no spaces, a dot in the domain. RFC 5322 in full accepts
# addresses no mail system delivers to and rejects nothing a sync would care about.
EMAIL_PATTERN = r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+"
E164_PATTERN = r"\+[1-9][0-9]{6,14}"
URL_PATTERN = r"https?://[^\s/?#]+[^\s]*"
UUID_PATTERN = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"

_CURRENCY_CODES = """AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN
    BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP
    GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS
    KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR
    MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF
    SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD
    TWD TZS UAH UGX USD UYU UZS VES VED VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG ZWL"""
ISO_CURRENCIES = frozenset(_CURRENCY_CODES.split())
_COUNTRY_CODES = """AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ
    BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO
    DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU
    GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW
    KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU
    MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW
    PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF
    TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS XK YE YT
    ZA ZM ZW"""
ISO_COUNTRIES = frozenset(_COUNTRY_CODES.split())

FormatTest = Callable[[pd.Series], pd.Series]
"""Non-null values in, a boolean Series (True: the value has the format) out.

A blank value (empty or whitespace) passes every format: vendors send "" for a value that is
not there (Shopify's REST orders have `"email": ""` when none was asked for at the till), and
whether a value must be there is `required`'s (or `not_blank`'s) question, not a format's."""


def _blank(values: pd.Series) -> pd.Series:
    return values.astype(str).str.strip().str.len() == 0


def _matches(pattern: str) -> FormatTest:
    compiled = re.compile(pattern)

    def test(values: pd.Series) -> pd.Series:
        matches = values.astype(str).str.fullmatch(compiled).fillna(False).astype(bool)
        return matches | _blank(values)

    return test


def _member_of(codes: frozenset[str]) -> FormatTest:
    def test(values: pd.Series) -> pd.Series:
        return values.isin(codes) | _blank(values)

    return test


@dataclass(frozen=True)
class Format:
    """One named format: what it accepts and how it is tested."""

    name: str
    description: str
    test: FormatTest


FORMATS: dict[str, Format] = {
    item.name: item
    for item in (
        Format(
            "email", "an email address (one @, a dotted domain, no spaces)", _matches(EMAIL_PATTERN)
        ),
        Format(
            "e164",
            "an E.164 phone number: +, country code, up to 15 digits",
            _matches(E164_PATTERN),
        ),
        Format(
            "iso_currency",
            "an ISO 4217 currency code (upper case, e.g. USD)",
            _member_of(ISO_CURRENCIES),
        ),
        Format(
            "iso_country", "an ISO 3166-1 alpha-2 country code (e.g. US)", _member_of(ISO_COUNTRIES)
        ),
        Format("url", "an http(s) URL", _matches(URL_PATTERN)),
        Format("uuid", "a UUID in its 8-4-4-4-12 hexadecimal form", _matches(UUID_PATTERN)),
    )
}
