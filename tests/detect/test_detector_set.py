"""The detector set: one walk over a JSON value, every detector on every string, and failure kept closed."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pydantic import JsonValue, ValidationError

from agentgov.detect import (
    DetectorFailure,
    DetectorSet,
    DetectSettings,
    Finding,
    Outcome,
    ScanLimits,
    Severity,
    Where,
    default_set,
    json_path,
    pii_detector,
    walk_json,
)
from agentgov.errors import InvalidInput
from tests.detect.fakes import AGENTDOJO

SECRET_TEXT = "card 4111 1111 1111 1111"
FIXED_50_MS = DetectSettings(budget_ms=50, budget_ms_per_string=0, budget_ms_per_kib=0)


class Raising:
    name = "raising"

    def scan(self, text: str, *, where: Where) -> list[Finding]:
        raise ValueError(f"cannot parse {text!r}")  # a careless message quoting the scanned text


class WrongAnswer:
    name = "wrong"

    def scan(self, text: str, *, where: Where) -> list[Finding]:
        return {"findings": []}  # type: ignore[return-value]  # the bug under test


class Slow:
    """Reports nothing; the fake timer says each string took 30 ms."""

    name = "slow"

    def scan(self, text: str, *, where: Where) -> list[Finding]:
        return []


class Counter:
    """A timer that advances 30 ms each time it is read."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 0.030
        return self.now


def test_detector_that_raises_makes_the_set_report_failure() -> None:
    outcome = DetectorSet((pii_detector(), Raising())).scan({"note": SECRET_TEXT}, where="arguments")
    assert outcome.failed
    assert not outcome.clean
    assert outcome.failures == (
        DetectorFailure(detector="raising", error="raised ValueError", path="$['note']"),
    )


def test_failure_does_not_quote_the_scanned_text() -> None:
    outcome = DetectorSet((Raising(),)).scan(SECRET_TEXT, where="result")
    assert "4111" not in outcome.model_dump_json()


def test_other_detectors_still_report_when_one_fails() -> None:
    outcome = DetectorSet((Raising(), pii_detector())).scan([SECRET_TEXT], where="arguments")
    assert outcome.failed
    assert [(f.detector, f.category, f.path) for f in outcome.findings] == [("pii", "pii.bank_card", "$[0]")]


def test_detector_answering_something_other_than_findings_makes_the_set_report_failure() -> None:
    outcome = DetectorSet((WrongAnswer(),)).scan("hello", where="result")
    assert outcome.failed
    assert outcome.failures[0].error == "returned dict, not a list of findings"


def test_detector_over_its_time_budget_makes_the_set_report_failure() -> None:
    detectors = DetectorSet((Slow(),), FIXED_50_MS, timer=Counter())
    outcome = detectors.scan(["a", "b", "c"], where="result")
    assert outcome.failed
    (failure,) = outcome.failures
    assert failure.detector == "slow"
    assert failure.error == "exceeded its budget of 50.0 ms (60.0 ms after 2 of 3 strings)"
    assert failure.path == "$[1]"


def test_detector_within_its_budget_passes() -> None:
    detectors = DetectorSet((Slow(),), FIXED_50_MS, timer=Counter())
    outcome = detectors.scan(["only one"], where="result")  # one string: 30 ms
    assert not outcome.failed
    assert outcome.clean


def test_budget_grows_with_the_number_and_size_of_strings() -> None:
    settings = DetectSettings(budget_ms=50, budget_ms_per_string=0.1, budget_ms_per_kib=1.0)
    assert settings.budget(()) == 50
    assert settings.budget(tuple(("$", "x" * 1024) for _ in range(10))) == 50 + 1 + 10


def test_many_strings_of_an_ordinary_result_fit_the_default_budget() -> None:
    rows: JsonValue = [
        {"id": i, "date": "2024-03-05", "subject": f"Transfer to landlord, ref {i}", "note": "rent for March"}
        for i in range(2000)
    ]
    outcome = default_set().scan(rows, where="result")
    assert not outcome.failed, outcome.failures
    assert outcome.clean


def test_empty_detector_set_is_refused() -> None:
    with pytest.raises(InvalidInput, match="at least one detector"):
        DetectorSet(())


def test_detectors_with_the_same_name_are_refused() -> None:
    with pytest.raises(InvalidInput, match="unique"):
        DetectorSet((pii_detector(), pii_detector()))


def test_outcome_cannot_claim_failure_without_a_failed_detector_or_the_reverse() -> None:
    with pytest.raises(ValidationError):
        Outcome(where="result", detectors=("pii",), failed=True)
    with pytest.raises(ValidationError):
        Outcome(
            where="result",
            detectors=("pii",),
            failures=(DetectorFailure(detector="pii", error="raised ValueError"),),
        )


def test_value_cut_by_the_limits_is_not_clean() -> None:
    detectors = default_set(DetectSettings(limits=ScanLimits(max_text_chars=100)))
    outcome = detectors.scan({"body": "a" * 150}, where="result")
    assert not outcome.failed
    assert not outcome.findings
    assert outcome.truncated == ("$['body']: 150 characters, the first 100 scanned",)
    assert not outcome.clean


def test_default_set_finds_injection_in_a_tool_result_at_its_path() -> None:
    result: JsonValue = {"transactions": [{"id": 3, "subject": AGENTDOJO, "amount": 100.0}]}
    outcome = default_set().scan(result, where="result")
    assert not outcome.failed
    assert ("injection.instruction", "$['transactions'][0]['subject']") in [
        (f.category, f.path) for f in outcome.findings
    ]
    assert outcome.highest is Severity.HIGH


def test_default_set_finds_personal_data_and_secrets_in_arguments() -> None:
    arguments: JsonValue = {
        "to": "jane@example.com",
        "body": "my card is 4111111111111111",
        "n": 6200000000000005,
    }
    outcome = default_set().scan(arguments, where="arguments")
    assert outcome.categories == {"pii.email", "pii.bank_card"}
    assert outcome.detectors == ("pii", "secrets", "injection")


def test_default_set_on_ordinary_arguments_is_clean() -> None:
    arguments: JsonValue = {
        "city": "Paris",
        "nights": 3,
        "guests": [{"name": "Ann"}],
        "late": None,
        "pet": False,
    }
    outcome = default_set().scan(arguments, where="arguments")
    assert outcome.clean
    assert outcome.highest is None


def test_outcome_round_trips_through_json() -> None:
    outcome = default_set().scan({"a": SECRET_TEXT, "b": AGENTDOJO}, where="result")
    assert Outcome.model_validate(outcome.to_json()) == outcome


def test_findings_beyond_the_maximum_are_dropped_and_noted() -> None:
    detectors = default_set(DetectSettings(max_findings=3))
    outcome = detectors.scan([f"u{i}@example.com" for i in range(5)], where="arguments")
    assert len(outcome.findings) == 3
    assert outcome.truncated == ("$: 5 findings, the first 3 kept",)


@pytest.mark.parametrize(
    ("key", "path"),
    [
        ("plain", "$['plain']"),
        ("it's", "$['it\\'s']"),
        ("back\\slash", "$['back\\\\slash']"),
        ("new\nline", "$['new\\nline']"),
        ("bell\x07", "$['bell\\u0007']"),
        ("中文", "$['中文']"),
    ],
)
def test_member_names_are_written_as_rfc_9535_normalized_paths(key: str, path: str) -> None:
    assert json_path("$", key) == path


def test_walk_visits_strings_and_integers_in_document_order() -> None:
    value: JsonValue = {"a": ["x", 1, 2.5, True, None, {"b": "y"}], "c": "z"}
    assert walk_json(value).strings == (
        ("$['a'][0]", "x"),
        ("$['a'][1]", "1"),
        ("$['a'][5]['b']", "y"),
        ("$['c']", "z"),
    )


def test_walk_stops_at_the_depth_limit_and_says_so() -> None:
    value: JsonValue = "deep"
    for _ in range(5):
        value = [value]
    walk = walk_json(value, ScanLimits(max_depth=3))
    assert walk.strings == ()
    assert walk.truncated == ("$[0][0][0]: nested deeper than 3, not scanned",)


def test_walk_stops_at_the_string_limit_and_says_so() -> None:
    walk = walk_json(["a", "b", "c"], ScanLimits(max_strings=2))
    assert [text for _, text in walk.strings] == ["a", "b"]
    assert walk.truncated == ("$[2]: more than 2 strings, the rest not scanned",)


@pytest.mark.parametrize(
    "make",
    [
        lambda: ScanLimits(max_text_chars=0),
        lambda: ScanLimits(max_depth=0),
        lambda: ScanLimits(max_strings=0),
        lambda: DetectSettings(budget_ms=0),
        lambda: DetectSettings(max_findings=0),
    ],
)
def test_limits_that_would_scan_nothing_are_refused(make: Callable[[], object]) -> None:
    with pytest.raises(InvalidInput):
        make()
