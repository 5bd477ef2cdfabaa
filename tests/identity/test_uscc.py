"""GB 32100-2015 unified social credit codes: published codes, every kind of mistake, and the algebra."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentgov.errors import InvalidIdentifier
from agentgov.identity.uscc import USCC_ALPHABET, uscc_check_character, validate_uscc

# Codes published on the national enterprise credit information publicity system (and printed on the
# companies' business licences). Each one's check character was recomputed before it was listed here.
PUBLISHED = {
    "91110000802100433B": "北京百度网讯科技有限公司 (Baidu)",
    "9144030071526726XG": "深圳市腾讯计算机系统有限公司 (Tencent)",
    "91330100716105852F": "阿里巴巴(中国)有限公司 (Alibaba)",
    "914403001922038216": "华为技术有限公司 (Huawei)",
    "91110000710925462X": "中国移动通信集团有限公司 (China Mobile)",
    "91110108551385082Q": "小米科技有限责任公司 (Xiaomi)",
}

body = st.builds(
    lambda authority, entity, division, organisation: authority + entity + division + organisation,
    st.sampled_from("123456789ANY"),
    st.sampled_from("123456789"),
    st.text(alphabet="0123456789", min_size=6, max_size=6),
    st.text(alphabet=USCC_ALPHABET, min_size=9, max_size=9),
)


@pytest.mark.parametrize("code", sorted(PUBLISHED))
def test_published_code_validates(code: str) -> None:
    assert validate_uscc(code) == code
    assert uscc_check_character(code[:17]) == code[17]


def test_lower_case_code_is_normalised_to_upper_case() -> None:
    assert validate_uscc("9144030071526726xg") == "9144030071526726XG"


def test_wrong_check_character_is_refused() -> None:
    with pytest.raises(InvalidIdentifier, match=r"wrong check character: expected 'B', got 'C'"):
        validate_uscc("91110000802100433C")


def test_transposed_digits_are_caught_by_the_check_character() -> None:
    with pytest.raises(InvalidIdentifier, match="wrong check character"):
        validate_uscc("91110000801200433B")


@pytest.mark.parametrize("letter", ["I", "O", "Z", "S", "V"])
def test_letters_outside_the_alphabet_are_refused(letter: str) -> None:
    code = "9111" + letter + "000802100433B"
    with pytest.raises(InvalidIdentifier, match=rf"character '{letter}' at position 5 is not allowed"):
        validate_uscc(code)


@pytest.mark.parametrize(
    ("code", "length"),
    [("91110000802100433", 17), ("91110000802100433BB", 19), ("", 0)],
)
def test_wrong_length_is_refused(code: str, length: int) -> None:
    with pytest.raises(InvalidIdentifier, match=rf"must be 18 characters, got {length}$"):
        validate_uscc(code)


def test_surrounding_white_space_is_not_silently_repaired() -> None:
    with pytest.raises(InvalidIdentifier, match="got 19"):
        validate_uscc(" 91110000802100433B")


def test_non_ascii_character_is_reported_as_written() -> None:
    fullwidth_b = "\uff22"
    with pytest.raises(InvalidIdentifier, match=f"character '{fullwidth_b}' at position 18"):
        validate_uscc("91110000802100433" + fullwidth_b)


def test_unassigned_registration_authority_is_refused() -> None:
    first17 = "B1110000802100433"
    code = first17 + uscc_check_character(first17)
    with pytest.raises(InvalidIdentifier, match="registration authority code 'B' at position 1"):
        validate_uscc(code)


def test_unassigned_entity_type_is_refused() -> None:
    first17 = "9A110000802100433"
    code = first17 + uscc_check_character(first17)
    with pytest.raises(InvalidIdentifier, match="entity type code 'A' at position 2"):
        validate_uscc(code)


def test_letter_in_the_administrative_division_is_refused() -> None:
    first17 = "9111A000802100433"
    code = first17 + uscc_check_character(first17)
    with pytest.raises(InvalidIdentifier, match="administrative division code '11A000' at positions 3-8"):
        validate_uscc(code)


def test_check_character_of_a_body_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(InvalidIdentifier, match="17 characters, got 18"):
        uscc_check_character("91110000802100433B")


def test_check_value_31_is_written_as_zero() -> None:
    # Brute-force a body whose weighted sum is a multiple of 31: its check character must be "0".
    first17 = next(
        candidate for n in range(10_000) if uscc_check_character(candidate := f"911100008021{n:05d}") == "0"
    )
    assert validate_uscc(first17 + "0") == first17 + "0"


@given(body)
def test_any_body_with_its_computed_check_character_validates(first17: str) -> None:
    code = first17 + uscc_check_character(first17)
    assert validate_uscc(code) == code
    assert validate_uscc(code.lower()) == code


@given(body, st.sampled_from(USCC_ALPHABET))
def test_any_other_check_character_is_refused(first17: str, other: str) -> None:
    expected = uscc_check_character(first17)
    if other == expected:
        other = USCC_ALPHABET[(USCC_ALPHABET.index(other) + 1) % len(USCC_ALPHABET)]
    with pytest.raises(InvalidIdentifier, match=f"expected '{expected}', got '{other}'"):
        validate_uscc(first17 + other)


@given(body, st.integers(min_value=8, max_value=16), st.sampled_from(USCC_ALPHABET))
def test_any_single_substitution_in_the_organisation_code_is_detected(
    first17: str, position: int, replacement: str
) -> None:
    code = first17 + uscc_check_character(first17)
    if code[position] == replacement:
        return
    altered = code[:position] + replacement + code[position + 1 :]
    # The weights are non-zero modulo the prime 31, so one changed character always changes the sum.
    with pytest.raises(InvalidIdentifier, match="wrong check character"):
        validate_uscc(altered)
