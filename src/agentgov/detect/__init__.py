"""Detectors (Art. 8, 10): personal information, secrets and prompt injection, found in JSON values.

Pure: values in, values out. ``default_set().scan(value, where="result") -> Outcome``; the guard decides
what a finding, a failure or a truncated scan means for the call.
"""

from agentgov.detect.injection import InjectionDetector, InjectionSettings, injection_detector
from agentgov.detect.injection_signals import SIGNALS, Signal
from agentgov.detect.model import EXCERPT_MAX, Category, Detector, Finding, Severity, Where
from agentgov.detect.pii import (
    PII_RULES,
    iban_is_valid,
    luhn_is_valid,
    pii_detector,
    resident_id_check_char,
    resident_id_is_valid,
)
from agentgov.detect.registry import (
    DetectorFailure,
    DetectorSet,
    DetectSettings,
    Outcome,
    default_detectors,
    default_set,
)
from agentgov.detect.rules import Rule, RuleDetector, shannon_entropy
from agentgov.detect.secrets import (
    ENTROPY_FLOOR,
    SECRET_RULES,
    jwt_header_is_valid,
    looks_random,
    secrets_detector,
)
from agentgov.detect.text import Hint
from agentgov.detect.walk import ScanLimits, Walk, json_path, scan_json, walk_json

__all__ = [
    "ENTROPY_FLOOR",
    "EXCERPT_MAX",
    "PII_RULES",
    "SECRET_RULES",
    "SIGNALS",
    "Category",
    "DetectSettings",
    "Detector",
    "DetectorFailure",
    "DetectorSet",
    "Finding",
    "Hint",
    "InjectionDetector",
    "InjectionSettings",
    "Outcome",
    "Rule",
    "RuleDetector",
    "ScanLimits",
    "Severity",
    "Signal",
    "Walk",
    "Where",
    "default_detectors",
    "default_set",
    "iban_is_valid",
    "injection_detector",
    "json_path",
    "jwt_header_is_valid",
    "looks_random",
    "luhn_is_valid",
    "pii_detector",
    "resident_id_check_char",
    "resident_id_is_valid",
    "scan_json",
    "secrets_detector",
    "shannon_entropy",
    "walk_json",
]
