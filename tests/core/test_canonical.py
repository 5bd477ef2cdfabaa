"""RFC 8785 canonical JSON and digests."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentgov.core import canonical_json, digest_json, parse_digest, parse_json
from agentgov.core.canonical import fast_canonical
from agentgov.errors import InvalidInput, MalformedRequest

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


def test_rfc8785_sorts_members_by_utf16_code_units() -> None:
    # RFC 8785 §3.2.3: keys compare as UTF-16 code units, so U+10000 (surrogates D800...) sorts before U+FB33.
    value = {"\ufb33": 1, "\U00010000": 2, "a": 3}
    assert canonical_json(value) == '{"a":3,"\U00010000":2,"\ufb33":1}'.encode()


def test_rfc8785_number_form() -> None:
    assert canonical_json([1.0, 1e21, 0.000001, -0.0]) == b"[1,1e+21,0.000001,0]"


@given(json_values)
def test_canonical_form_ignores_member_order_and_whitespace(value: Any) -> None:
    reordered = parse_json(json.dumps(value, indent=3, sort_keys=False))
    assert canonical_json(reordered) == canonical_json(value)
    assert parse_json(canonical_json(value)) == value


def test_digest_is_stable_and_parsable() -> None:
    digest = digest_json({"b": 1, "a": [1, 2]})
    assert digest == digest_json({"a": [1, 2], "b": 1})
    assert len(parse_digest(digest)) == 32


def test_nan_is_refused() -> None:
    with pytest.raises(InvalidInput):
        canonical_json({"x": float("nan")})


def test_duplicate_members_are_refused() -> None:
    with pytest.raises(MalformedRequest, match="duplicate"):
        parse_json(b'{"a":1,"a":2}')


def test_bad_digest_text_is_refused() -> None:
    with pytest.raises(InvalidInput):
        parse_digest("sha256:XYZ")


@given(json_values)
def test_fast_canonical_json_is_byte_identical_to_rfc8785(value: Any) -> None:
    assert fast_canonical(value) == canonical_json(value)


@given(st.floats(allow_nan=False, allow_infinity=False), st.text(min_size=1))
def test_values_outside_the_fast_path_take_the_exact_path(number: float, key: str) -> None:
    value = {key: number, "\u00e9": [number]}
    assert fast_canonical(value) == canonical_json(value)
