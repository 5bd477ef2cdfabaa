"""Check digits as an algebra: every valid number is found, and one changed digit is never accepted.

MOD 11-2 (GB 11643) and Luhn both detect every single-character substitution, so a number with one
digit changed must not be reported as the same kind of number.
"""

# Chinese test texts keep the full-width comma and colon that Chinese is written with, on purpose.
# ruff: noqa: RUF001

from __future__ import annotations

from datetime import date

from hypothesis import assume, given
from hypothesis import strategies as st

from agentgov.detect import pii_detector, resident_id_is_valid
from tests.detect.fakes import luhn_complete, resident_id

DETECTOR = pii_detector()
PROVINCES = [11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52]
PROVINCES += [53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83]

resident_ids = st.builds(
    resident_id,
    province=st.sampled_from(PROVINCES),
    born=st.dates(date(1900, 1, 1), date(2099, 12, 31)),
    sequence=st.integers(0, 999),
    region=st.integers(0, 9999),
)

# (issuer prefix, total length) for each scheme the detector knows
ISSUERS = [("4", 13), ("4", 16), ("4", 19), ("51", 16), ("55", 16), ("2221", 16), ("2720", 16), ("34", 15)]
ISSUERS += [("37", 15), ("62", 16), ("62", 17), ("62", 18), ("62", 19), ("6011", 16), ("65", 19), ("644", 16)]
ISSUERS += [("3528", 16), ("3589", 19), ("36", 14), ("300", 14), ("38", 16), ("50", 18), ("58", 19)]


@st.composite
def cards(draw: st.DrawFn) -> str:
    prefix, length = draw(st.sampled_from(ISSUERS))
    body = draw(st.text("0123456789", min_size=length - len(prefix) - 1, max_size=length - len(prefix) - 1))
    return luhn_complete(prefix + body)


def grouped(number: str, separator: str) -> str:
    if len(number) == 15:
        return separator.join((number[:4], number[4:10], number[10:]))
    return separator.join(number[i : i + 4] for i in range(0, len(number), 4))


def categories(text: str) -> list[str]:
    return [f.category for f in DETECTOR.scan(text, where="result")]


def mutate(value: str, position: int, replacement: str) -> str:
    return value[:position] + replacement + value[position + 1 :]


@given(resident_ids)
def test_every_valid_resident_id_is_reported(number: str) -> None:
    assert categories(f"身份证号码：{number}。") == ["pii.cn_resident_id"]


@given(resident_ids, st.integers(0, 17), st.sampled_from("0123456789X"))
def test_resident_id_with_one_character_changed_is_not_reported(
    number: str, position: int, char: str
) -> None:
    assume(number[position] != char and (position == 17 or char != "X"))
    changed = mutate(number, position, char)
    assert not resident_id_is_valid(changed)
    assert "pii.cn_resident_id" not in categories(f"身份证号码：{changed}。")


@given(cards(), st.sampled_from(["", " ", "-"]))
def test_every_valid_card_number_is_reported(number: str, separator: str) -> None:
    assume(not resident_id_is_valid(number))  # an 18-digit UnionPay number may also be an identity number
    written = grouped(number, separator) if separator else number
    assert categories(f"card no. {written} thanks") == ["pii.bank_card"]


@given(cards(), st.data())
def test_card_number_with_one_digit_changed_is_not_reported(number: str, data: st.DataObject) -> None:
    position = data.draw(st.integers(0, len(number) - 1))
    digit = data.draw(st.sampled_from("0123456789").filter(lambda d: d != number[position]))
    assert "pii.bank_card" not in categories(f"card no. {mutate(number, position, digit)} thanks")
