"""Personal information: each category found when real, and left alone when only the shape is there."""

# Chinese test texts keep the full-width comma and colon that Chinese is written with, on purpose.
# ruff: noqa: RUF001

from __future__ import annotations

from datetime import date

import pytest

from agentgov.detect import (
    Finding,
    Severity,
    iban_is_valid,
    luhn_is_valid,
    pii_detector,
    resident_id_check_char,
    resident_id_is_valid,
    scan_json,
)
from tests.detect.fakes import luhn_complete, resident_id

DETECTOR = pii_detector()


def scan(text: str) -> list[Finding]:
    return DETECTOR.scan(text, where="result")


def found(text: str) -> list[tuple[str, str]]:
    """(category, matched text) of every finding."""
    return [(f.category, text[f.start : f.end]) for f in scan(text)]


# (text, category, the value it must find)
TRUE_POSITIVES = [
    ("身份证号：11010519491231002X，请核对。", "pii.cn_resident_id", "11010519491231002X"),
    (
        f"ID {resident_id(44, date(2001, 2, 28), 7, 305)}",
        "pii.cn_resident_id",
        resident_id(44, date(2001, 2, 28), 7, 305),
    ),
    (
        f"id={resident_id(62, date(1978, 12, 31))}; name=Li",
        "pii.cn_resident_id",
        resident_id(62, date(1978, 12, 31)),
    ),
    ("联系电话 13812345678", "pii.cn_mobile", "13812345678"),
    ("call +86 138 1234 5678 today", "pii.cn_mobile", "+86 138 1234 5678"),
    ("电话：0086-159-0000-1111", "pii.cn_mobile", "0086-159-0000-1111"),
    ("手机号138-1234-5678。", "pii.cn_mobile", "138-1234-5678"),
    ("card 4111 1111 1111 1111 exp 12/29", "pii.bank_card", "4111 1111 1111 1111"),
    ("Visa 4111111111111111.", "pii.bank_card", "4111111111111111"),
    ("MC 5555-5555-5555-4444", "pii.bank_card", "5555-5555-5555-4444"),
    ("Amex 3782 822463 10005", "pii.bank_card", "3782 822463 10005"),
    ("银联卡 6200000000000005", "pii.bank_card", "6200000000000005"),
    (f"银联 {luhn_complete('622202123456789012')}", "pii.bank_card", luhn_complete("622202123456789012")),
    ("JCB 3530111333300000", "pii.bank_card", "3530111333300000"),
    ("SSN: 536-22-8735", "pii.us_ssn", "536-22-8735"),
    ("ssn 536 22 8735", "pii.us_ssn", "536 22 8735"),
    ("Call (212) 555-0123 after six", "pii.phone", "(212) 555-0123"),
    ("office 415.555.0100", "pii.phone", "415.555.0100"),
    ("tel:+1 650 253 0000", "pii.phone", "+1 650 253 0000"),
    ("toll free 1-800-555-0199", "pii.phone", "1-800-555-0199"),
    ("IBAN DE89 3704 0044 0532 0130 00 EUR", "pii.iban", "DE89 3704 0044 0532 0130 00"),
    ("pay to GB82WEST12345698765432 now", "pii.iban", "GB82WEST12345698765432"),
    ("FR1420041010050500013M02606", "pii.iban", "FR1420041010050500013M02606"),
    ("NL91 ABNA 0417 1643 00", "pii.iban", "NL91 ABNA 0417 1643 00"),
    ("write to jane.doe+news@mail.example.co.uk please", "pii.email", "jane.doe+news@mail.example.co.uk"),
    ("邮箱：zhang.san@example.cn。", "pii.email", "zhang.san@example.cn"),
]


@pytest.mark.parametrize(("text", "category", "value"), TRUE_POSITIVES)
def test_personal_value_is_reported_with_its_category_and_span(text: str, category: str, value: str) -> None:
    assert found(text) == [(category, value)]


@pytest.mark.parametrize(("text", "category", "value"), TRUE_POSITIVES)
def test_masked_excerpt_never_contains_the_value(text: str, category: str, value: str) -> None:
    (finding,) = scan(text)
    compact = "".join(c for c in value if c.isalnum())
    assert value not in finding.excerpt
    assert compact not in "".join(c for c in finding.excerpt if c.isalnum())
    assert sum(c.isalnum() for c in finding.excerpt) <= len(compact) // 2 + 3  # the TLD of an e-mail


NOT_PERSONAL = [
    "sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "digest deadbeef4111111111111111cafe and ab13812345678cd",
    "commit 9fceb02d0ae598e95dc970b74767f19372d61af8",
    "Meeting on 2024-03-05 at 14:00, then 2024-03-06T09:30:00Z.",
    "timestamp 20231005123045 and epoch 1700000000000",
    "order number 2313812345678 shipped",  # a mobile number inside a longer run of digits
    "tracking 411111111111111111111111",  # a card number inside a longer run
    "room 214, paid 180 euros, version 10.2.3, IP 192.168.1.1",
    "price list: 1 234 567 890 and 12 34 56 78 90",
    "US133000000121212121212",  # looks like an IBAN, no such registry entry
    "icon@2x.png and logo@3x.webp",
    "uuid 123e4567-e89b-12d3-a456-426614174000",
]


@pytest.mark.parametrize("text", NOT_PERSONAL)
def test_shapes_that_are_not_personal_data_are_not_reported(text: str) -> None:
    assert found(text) == []


def test_resident_id_check_character_matches_the_gb_11643_example() -> None:
    # GB 11643-1999 worked example: 11010519491231002 -> X
    assert resident_id_check_char("11010519491231002") == "X"
    assert resident_id_is_valid("11010519491231002x")


def test_resident_id_with_wrong_check_digit_is_not_reported() -> None:
    valid = resident_id()
    wrong = valid[:17] + ("0" if valid[17] != "0" else "1")
    assert not resident_id_is_valid(wrong)
    assert [c for c, _ in found(f"身份证 {wrong}")] != ["pii.cn_resident_id"]


@pytest.mark.parametrize(
    "first17",
    [
        "11010519490230002",  # 30 February
        "11010518991231002",  # born in 1899: outside the pattern
        "19010519491231002",  # province 19 does not exist
        "91010519491231002",  # nor does 91
    ],
)
def test_resident_id_with_impossible_birth_date_or_region_is_not_reported(first17: str) -> None:
    candidate = first17 + resident_id_check_char(first17)
    assert not resident_id_is_valid(candidate)
    assert "pii.cn_resident_id" not in [c for c, _ in found(candidate)]


def test_resident_id_that_also_passes_luhn_is_reported_once_as_resident_id() -> None:
    value = next(
        v
        for seq in range(1000)
        if luhn_is_valid(v := resident_id(62, date(1985, 6, 1), seq)) and v[-1] != "X"
    )
    assert found(f"号码 {value}") == [("pii.cn_resident_id", value)]


def test_card_number_failing_luhn_is_not_reported() -> None:
    assert not luhn_is_valid("4111111111111112")
    assert found("card 4111 1111 1111 1112") == []


def test_luhn_matches_the_iso_7812_example() -> None:
    assert luhn_is_valid("79927398713")
    assert not luhn_is_valid("79927398710")


def test_card_number_outside_known_issuer_ranges_is_not_reported() -> None:
    number = luhn_complete("123456781234567")  # Luhn-valid, but no scheme issues 1xxx
    assert luhn_is_valid(number)
    assert found(f"ref {number}") == []


def test_card_number_with_wrong_length_for_its_scheme_is_not_reported() -> None:
    amex_16 = luhn_complete("370000000000000")  # American Express numbers have 15 digits
    assert found(f"card {amex_16}") == []


def test_card_number_sent_as_a_json_integer_is_reported() -> None:
    findings = scan_json(DETECTOR, {"payment": {"card": 4111111111111111}}, where="arguments")
    assert [(f.category, f.path) for f in findings] == [("pii.bank_card", "$['payment']['card']")]


def test_mobile_number_with_unassigned_prefix_is_not_reported() -> None:
    assert found("号码 12812345678 和 10012345678") == []


@pytest.mark.parametrize(
    "ssn",
    ["000-12-3456", "666-12-3456", "900-12-3456", "999-45-6789", "123-00-4567", "123-45-0000", "123-45 6789"],
)
def test_ssn_in_never_issued_ranges_is_not_reported(ssn: str) -> None:
    assert "pii.us_ssn" not in [c for c, _ in found(f"SSN {ssn}")]


def test_bare_nine_digit_number_is_not_taken_for_an_ssn() -> None:
    assert found("invoice 536228735") == []


def test_phone_number_with_invalid_area_code_is_not_reported() -> None:
    assert found("call 123-456-7890 or (055) 555-0123") == []


def test_iban_with_wrong_check_digits_is_not_reported() -> None:
    assert not iban_is_valid("DE89 3704 0044 0532 0130 01")
    assert found("IBAN DE89 3704 0044 0532 0130 01") == []


def test_iban_with_wrong_length_for_its_country_is_not_reported() -> None:
    assert not iban_is_valid("DE8937040044053201300")
    assert found("IBAN DE8937040044053201300") == []


def test_iban_check_matches_registry_examples() -> None:
    for iban in (
        "GB29 NWBK 6016 1331 9268 19",
        "BE68 5390 0754 7034",
        "NO93 8601 1117 947",
        "CH9300762011623852957",
    ):
        assert iban_is_valid(iban), iban


def test_findings_are_high_for_identity_and_card_numbers_and_low_for_email() -> None:
    text = "11010519491231002X 4111111111111111 jane@example.com"
    assert [f.severity for f in scan(text)] == [Severity.HIGH, Severity.HIGH, Severity.LOW]


def test_several_values_in_one_text_are_reported_in_order() -> None:
    text = "张三 13812345678，卡号 6200000000000005，邮箱 zs@example.cn"
    assert [c for c, _ in found(text)] == ["pii.cn_mobile", "pii.bank_card", "pii.email"]


def test_findings_stop_at_the_configured_maximum() -> None:
    text = " ".join(f"user{i}@example.com" for i in range(100))
    assert len(pii_detector(max_findings=10).scan(text, where="result")) == 10
