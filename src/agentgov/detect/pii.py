"""Personal information in Chinese and English-language text: identity, phone, card and bank numbers.

Each rule pairs a shape with a check, because shapes alone fire on order numbers and timestamps:
resident identity numbers carry a GB 11643-1999 check character, card numbers a Luhn digit, IBANs an
ISO 13616 MOD 97-10 remainder. Numbers are only taken whole: a candidate preceded or followed by a
letter or digit is part of something longer (a hash, an account reference) and is not reported.

Known gaps: 15-digit first-generation resident ids (no check character), bare nine-digit SSNs (too
many other nine-digit numbers), IBANs in lower case or whose last group contains a letter when written
in groups, and e-mail addresses with non-ASCII characters.
"""

from __future__ import annotations

import re
from datetime import date

from agentgov.detect.model import Severity
from agentgov.detect.rules import Rule, RuleDetector, mask_digits, mask_email
from agentgov.detect.text import Hint

__all__ = [
    "PII_RULES",
    "iban_is_valid",
    "luhn_is_valid",
    "pii_detector",
    "resident_id_check_char",
    "resident_id_is_valid",
]

# GB/T 2260 province-level codes, the first two digits of a resident id (83: Taiwan residents' permits).
_PROVINCES = frozenset(
    {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52, 53}
    | {54, 61, 62, 63, 64, 65, 71, 81, 82, 83}
)
# GB 11643-1999 check character: ISO 7064 MOD 11-2, the weight of position i (1-based, from the left)
# is 2^(18-i) mod 11.
_ID_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
_ID_CHECK_CHARS = "10X98765432"
# Births before 1900 are no longer plausible for a living holder; the pattern reads 19xx and 20xx only.
_FIRST_BIRTH_YEAR = 1900
_LAST_BIRTH_YEAR = 2099


def resident_id_check_char(first17: str) -> str:
    """The GB 11643-1999 check character for the first 17 digits of a resident identity number."""
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK_CHARS[total % 11]


def resident_id_is_valid(value: str) -> bool:
    """18 characters, a known province, a real birth date from 1900 on, and a matching check character."""
    if (
        len(value) != 18
        or not (value[:17].isascii() and value[:17].isdigit())
        or int(value[:2]) not in _PROVINCES
    ):
        return False
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    if not _FIRST_BIRTH_YEAR <= born.year <= _LAST_BIRTH_YEAR:
        return False
    return resident_id_check_char(value[:17]) == value[17].upper()


def luhn_is_valid(digits: str) -> bool:
    """ISO/IEC 7812-1 Annex B (Luhn): double every second digit from the right; the sum ends in 0."""
    if not (digits.isascii() and digits.isdigit()):
        return False
    total = 0
    for i, char in enumerate(reversed(digits)):
        d = int(char)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


# ISO/IEC 7812 issuer ranges of the common schemes: (first, last, digits compared, allowed lengths).
_IIN_RANGES: tuple[tuple[int, int, int, range], ...] = (
    (4, 4, 1, range(13, 20, 3)),  # Visa: 13, 16, 19
    (51, 55, 2, range(16, 17)),  # Mastercard
    (2221, 2720, 4, range(16, 17)),  # Mastercard 2-series
    (34, 34, 2, range(15, 16)),  # American Express
    (37, 37, 2, range(15, 16)),
    (62, 62, 2, range(16, 20)),  # UnionPay
    (6011, 6011, 4, range(16, 20)),  # Discover
    (644, 649, 3, range(16, 20)),
    (65, 65, 2, range(16, 20)),
    (3528, 3589, 4, range(16, 20)),  # JCB
    (300, 305, 3, range(14, 20)),  # Diners Club
    (36, 36, 2, range(14, 20)),
    (38, 39, 2, range(16, 20)),
    (50, 50, 2, range(13, 20)),  # Maestro
    (56, 58, 2, range(13, 20)),
)


def _is_card(value: str) -> bool:
    digits = value.replace(" ", "").replace("-", "")
    known = any(
        low <= int(digits[:n]) <= high and len(digits) in lengths for low, high, n, lengths in _IIN_RANGES
    )
    return known and luhn_is_valid(digits)


# ISO 13616 IBAN registry: total length per country code.
_IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29,
    "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29,
    "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28,
    "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20,
    "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22,
    "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25,
    "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24, "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27,
    "ST": 25, "SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip


def iban_is_valid(value: str) -> bool:
    """ISO 13616-1: the registered length for the country, and MOD 97-10 (ISO 7064) leaves 1."""
    compact = value.replace(" ", "")
    if _IBAN_LENGTHS.get(compact[:2]) != len(compact) or not compact.isalnum() or not compact.isascii():
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


def _is_email(value: str) -> bool:
    # "icon@2x.png" names an image, not a mailbox.
    return value.rpartition(".")[2].lower() not in _FILE_SUFFIXES


_FILE_SUFFIXES = frozenset({"png", "jpg", "jpeg", "gif", "svg", "webp", "ico", "bmp", "avif", "pdf"})

# Every number below has a run of at least four digits and nine digits in all; it cannot start more
# than 24 characters before that run ("+1 (212) 555-1234") nor end more than 28 after it
# ("6222 0212 3456 7890 123").
_DIGITS = Hint(("0000",), view="shape", before=24, after=28, digits=9)
_B = r"(?<![0-9A-Za-z])"  # not the tail of a longer number, word or hash
_E = r"(?![0-9A-Za-z])"  # not the head of one

PII_RULES: tuple[Rule, ...] = (
    Rule(
        category="pii.cn_resident_id",
        severity=Severity.HIGH,
        pattern=re.compile(
            rf"{_B}(?P<v>[1-8][0-9]{{5}}(?:19|20)[0-9]{{2}}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"
            rf"[0-9]{{3}}[0-9Xx]){_E}"
        ),
        reason="a Chinese resident identity number with a valid GB 11643-1999 check character",
        check=resident_id_is_valid,
        mask=lambda v: mask_digits(v, keep_start=2, keep_end=2),
        hint=_DIGITS,
    ),
    Rule(
        category="pii.bank_card",
        severity=Severity.HIGH,
        pattern=re.compile(
            rf"{_B}(?P<v>[0-9]{{13,19}}"
            r"|[0-9]{4}(?P<s>[ -])[0-9]{4}(?P=s)[0-9]{4}(?P=s)[0-9]{1,4}(?:(?P=s)[0-9]{1,3})?"
            rf"|[0-9]{{4}}(?P<t>[ -])[0-9]{{6}}(?P=t)[0-9]{{4,5}}){_E}"
        ),
        reason="a payment card number from a known issuer range with a valid Luhn check digit",
        check=_is_card,
        mask=lambda v: mask_digits(v, keep_end=4),
        hint=_DIGITS,
    ),
    Rule(
        category="pii.cn_mobile",
        severity=Severity.MEDIUM,
        pattern=re.compile(
            rf"(?<![0-9A-Za-z+])(?P<v>(?:(?:\+|00)86[ -]?)?1[3-9][0-9](?:[ -]?[0-9]{{4}}){{2}}){_E}"
        ),
        reason="a mainland China mobile number (1[3-9]x, 11 digits)",
        mask=lambda v: mask_digits(v, keep_start=5 if v.startswith(("+", "00")) else 3, keep_end=2),
        hint=_DIGITS,
    ),
    Rule(
        category="pii.us_ssn",
        severity=Severity.HIGH,
        # SSA: area 000, 666 and 900-999, group 00 and serial 0000 are never issued.
        pattern=re.compile(
            r"(?<![0-9A-Za-z-])(?P<v>(?!000|666)[0-8][0-9]{2}(?P<s>[- ])(?!00)[0-9]{2}(?P=s)(?!0000)[0-9]{4})"
            r"(?![0-9A-Za-z-])"
        ),
        reason="a US Social Security number outside the never-issued ranges (000, 666, 9xx; 00; 0000)",
        mask=lambda v: mask_digits(v, keep_end=2),
        hint=_DIGITS,
    ),
    Rule(
        category="pii.phone",
        severity=Severity.MEDIUM,
        # NANP: area code and exchange start with 2-9; the trunk prefix +1 or 1 is optional.
        pattern=re.compile(
            r"(?<![0-9A-Za-z+])(?P<v>(?:\+1[ .-]?|1[ .-])?(?:\([2-9][0-9]{2}\) ?|[2-9][0-9]{2}[ .-])"
            rf"[2-9][0-9]{{2}}[ .-][0-9]{{4}}|\+1[2-9][0-9]{{2}}[2-9][0-9]{{6}}){_E}"
        ),
        reason="a North American (NANP) phone number",
        mask=lambda v: mask_digits(v, keep_end=2),
        hint=_DIGITS,
    ),
    Rule(
        category="pii.iban",
        severity=Severity.MEDIUM,
        pattern=re.compile(
            rf"{_B}(?P<v>[A-Z]{{2}}[0-9]{{2}}"
            rf"(?:[A-Z0-9]{{11,30}}|(?: [A-Z0-9]{{4}}){{2,7}}(?: [0-9]{{1,3}})?)){_E}"
        ),
        reason="an IBAN of the registered length with a valid ISO 13616 MOD 97-10 check",
        check=iban_is_valid,
        mask=lambda v: mask_digits(v, keep_start=2, keep_end=2),
        hint=Hint(("AA00",), view="shape", after=44),
    ),
    Rule(
        category="pii.email",
        severity=Severity.LOW,
        pattern=re.compile(
            r"(?<![A-Za-z0-9._%+-])(?P<v>[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,8}"
            r"\.[A-Za-z]{2,24})(?![A-Za-z0-9-])"
        ),
        reason="an e-mail address",
        check=_is_email,
        mask=mask_email,
        hint=Hint(("@",), before=64, after=600),
    ),
)


def pii_detector(*, max_findings: int = 64) -> RuleDetector:
    """The personal-information detector, named ``pii``."""
    return RuleDetector(name="pii", rules=PII_RULES, max_findings=max_findings)
