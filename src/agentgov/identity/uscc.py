"""The unified social credit code (统一社会信用代码) of GB 32100-2015.

Every legal person and other organisation registered in China carries one 18-character code::

    position  1      registration authority code (登记管理部门代码)
    position  2      entity type code (机构类别代码)
    positions 3-8    administrative division of the registering office (登记管理机关行政区划码, GB/T 2260)
    positions 9-17   organisation code (主体标识码, GB 11714)
    position  18     check character (校验码)

The code is the organisation's identity in the registry (Art. 4): the validation here is structural and
arithmetical (it catches typing mistakes and forged-looking codes); whether the organisation exists is a
question for the national enterprise credit information publicity system, not for this module.
"""

from __future__ import annotations

import string
from typing import Final

from agentgov.errors import InvalidIdentifier

__all__ = ["USCC_ALPHABET", "USCC_LENGTH", "uscc_check_character", "validate_uscc"]

# GB 32100-2015 §4.2: Arabic numerals and upper-case Latin letters except I, O, Z, S and V, which are
# too easily confused with 1, 0, 2, 5 and U. A character's value is its index in this string.
USCC_ALPHABET: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_LENGTH: Final = 18
_MODULUS: Final = len(USCC_ALPHABET)  # 31
_VALUES: Final = {char: value for value, char in enumerate(USCC_ALPHABET)}
# GB 32100-2015 §5: the weight of position i (from 0) is 3^i mod 31.
_WEIGHTS: Final = tuple(pow(3, i, _MODULUS) for i in range(USCC_LENGTH - 1))

# GB 32100-2015 table 1 as amended: the registration authorities that issue codes. A code whose first
# character is not one of these was not issued under the standard.
_REGISTRATION_AUTHORITIES: Final = {
    "1": "机构编制 (establishment administration)",
    "2": "外交 (foreign affairs)",
    "3": "司法行政 (justice administration)",
    "4": "文化 (culture)",
    "5": "民政 (civil affairs)",
    "6": "旅游 (tourism)",
    "7": "宗教 (religious affairs)",
    "8": "工会 (trade unions)",
    "9": "工商 (market regulation)",
    "A": "中央军委改革和编制办公室 (military establishment office)",
    "N": "农业 (agriculture)",
    "Y": "其他 (other)",
}
# Every entity type code in the standard's tables is a digit from 1 to 9 (9 meaning "other").
_ENTITY_TYPES: Final = frozenset("123456789")
_DIVISION: Final = slice(2, 8)
# Only ASCII letters are folded: str.upper() would turn "ß" into "SS" and change the length.
_ASCII_UPPER: Final = str.maketrans(string.ascii_lowercase, string.ascii_uppercase)


def uscc_check_character(first17: str) -> str:
    """The check character (position 18) of a code whose first 17 characters are ``first17``.

    GB 32100-2015 §5: C18 = 31 - (sum of value(Ci) * 3^(i-1) mod 31) mod 31, and a result of 31 is written
    as 0. ``first17`` must be upper-case characters of :data:`USCC_ALPHABET`.
    """
    if len(first17) != USCC_LENGTH - 1:
        raise InvalidIdentifier(
            f"the body of a unified social credit code is {USCC_LENGTH - 1} characters, got {len(first17)}",
            field="uscc",
        )
    total = 0
    for position, (char, weight) in enumerate(zip(first17, _WEIGHTS, strict=True), start=1):
        value = _VALUES.get(char)
        if value is None:
            raise InvalidIdentifier(_bad_character(char, position), field="uscc")
        total += value * weight
    check = _MODULUS - total % _MODULUS
    return USCC_ALPHABET[0 if check == _MODULUS else check]


def validate_uscc(code: str) -> str:
    """The normalised (upper-case) code, or InvalidIdentifier saying exactly what is wrong.

    Lower-case letters are accepted and upper-cased; surrounding or inner whitespace is not (a code is
    18 characters, and silently repairing input hides mistakes from the person who typed it).
    """
    normalised = code.translate(_ASCII_UPPER)
    if len(normalised) != USCC_LENGTH:
        raise InvalidIdentifier(
            f"a unified social credit code must be {USCC_LENGTH} characters, got {len(normalised)}",
            field="uscc",
        )
    for position, (char, written) in enumerate(zip(normalised, code, strict=True), start=1):
        if char not in _VALUES:
            raise InvalidIdentifier(_bad_character(written, position), field="uscc")
    authority = normalised[0]
    if authority not in _REGISTRATION_AUTHORITIES:
        raise InvalidIdentifier(
            f"registration authority code {authority!r} at position 1 is not assigned by GB 32100-2015",
            field="uscc",
        )
    entity_type = normalised[1]
    if entity_type not in _ENTITY_TYPES:
        raise InvalidIdentifier(
            f"entity type code {entity_type!r} at position 2 is not assigned by GB 32100-2015 "
            f"(expected a digit 1-9)",
            field="uscc",
        )
    division = normalised[_DIVISION]
    if not division.isdigit():
        raise InvalidIdentifier(
            f"administrative division code {division!r} at positions 3-8 must be 6 digits (GB/T 2260)",
            field="uscc",
        )
    expected = uscc_check_character(normalised[:-1])
    got = normalised[-1]
    if got != expected:
        raise InvalidIdentifier(
            f"wrong check character: expected {expected!r}, got {got!r}",
            field="uscc",
        )
    return normalised


def _bad_character(char: str, position: int) -> str:
    return f"character {char!r} at position {position} is not allowed (alphabet: {USCC_ALPHABET})"
