"""Credentials in text: provider keys with a known prefix, private keys, JWTs, and generic assignments.

Provider keys are recognised by their documented prefix and length, which leaves little room for false
positives. Generic credentials (``Authorization: Bearer ...``, ``password=...``, ``api_key: ...``) have
no shape of their own, so their value must look machine-made or deliberately mixed: at least
:data:`ENTROPY_FLOOR` bits per character and two kinds of character. That keeps out placeholders
(``YOUR_API_KEY``, ``<token>``, ``${DB_PASSWORD}``, ``********``) and leaves in ``Summer2024!``.

The excerpt of a secret keeps only its public prefix (``ghp_``, ``AKIA``) and its length.
"""

from __future__ import annotations

import base64
import binascii
import json
import re

from agentgov.detect.model import Severity
from agentgov.detect.rules import Rule, RuleDetector, keep_prefix, shannon_entropy
from agentgov.detect.text import Hint

__all__ = ["ENTROPY_FLOOR", "SECRET_RULES", "jwt_header_is_valid", "looks_random", "secrets_detector"]

# 3.0 bits per character is the most that 8 distinct characters can carry, so a mask ("********"), a
# repetition or a word of up to 8 letters never reaches it. Random keys of 16 characters or more
# measure about 3.3-3.8 (hexadecimal) and 3.8-5 (base64). Short random values may fall under it.
ENTROPY_FLOOR = 3.0
_PLACEHOLDERS = ("example", "placeholder", "your_", "your-", "redacted", "dummy", "changeme", "xxxx")


def looks_random(value: str) -> bool:
    """Entropy at the floor and at least two of lower case, upper case, digits and other symbols.

    ``_``, ``-`` and ``.`` do not count as a kind: they separate the words of ``YOUR_API_KEY``.
    """
    if shannon_entropy(value) < ENTROPY_FLOOR or any(p in value.lower() for p in _PLACEHOLDERS):
        return False
    kinds = (
        any(c.islower() for c in value),
        any(c.isupper() for c in value),
        any(c.isdigit() for c in value),
        any(not c.isalnum() and c not in "_-." for c in value),
    )
    return sum(kinds) >= 2


def jwt_header_is_valid(token: str) -> bool:
    """RFC 7519 §7.2: the first part decodes (base64url) to a JSON object; RFC 7515 §4.1.1: with "alg"."""
    header = token.split(".", 1)[0]
    try:
        decoded = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
    except (binascii.Error, ValueError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return False
    return isinstance(decoded, dict) and isinstance(decoded.get("alg"), str)


def _pem_end(text: str, end: int) -> int:
    """The end of the ``-----END ...-----`` line that closes a PEM block (RFC 7468 §2), if near."""
    footer = text.find("-----END ", end, end + _PEM_MAX_BODY)
    if footer == -1:
        return end  # a header without its body is still reported: the rest may follow elsewhere
    close = text.find("-----", footer + 9, footer + 80)
    return end if close == -1 else close + 5


_PEM_MAX_BODY = 16_384  # an RSA-8192 key in PKCS#8 PEM is about 6.3 KB


def _has_digit(value: str) -> bool:
    return any(c.isdigit() for c in value)


def _random_run(value: str) -> bool:
    """Some run of 20 or more characters between ``-`` and ``_`` mixes upper, lower case and digits."""
    return any(
        len(run) >= 20 and any(c.isupper() for c in run) and any(c.islower() for c in run) and _has_digit(run)
        for run in _SEPARATORS.split(value)
    )


_SEPARATORS = re.compile(r"[-_]")


_ASSIGN = r"""["']?\s{0,4}[:=]\s{0,4}["']?"""  # `key=`, `key: `, `"key": "`, `'key' = '`

SECRET_RULES: tuple[Rule, ...] = (
    Rule(
        category="secret.private_key",
        severity=Severity.HIGH,
        pattern=re.compile(r"(?P<v>-----BEGIN (?:[A-Z0-9]{1,16} ){0,3}PRIVATE KEY(?: BLOCK)?-----)"),
        reason="a PEM private key block (RFC 7468)",
        mask=lambda v: f"{v}…",
        extend=_pem_end,
        hint=Hint(("PRIVATE KEY",), before=40, after=16),
    ),
    Rule(
        category="secret.agentgov_key",
        severity=Severity.HIGH,
        pattern=re.compile(
            r"(?<![A-Za-z0-9_])(?P<v>agk_[0-9a-f]{16}_[A-Za-z0-9_-]{16,128})(?![A-Za-z0-9_-])"
        ),
        reason="an agentgov API key (agk_<id>_<secret>)",
        mask=keep_prefix(21),  # agk_ and the key id: the id names the key, only the secret part unlocks
        hint=Hint(("agk_",), after=150),
    ),
    Rule(
        category="secret.aws_access_key",
        severity=Severity.HIGH,
        pattern=re.compile(r"(?<![A-Za-z0-9])(?P<v>(?:AKIA|ASIA)[A-Z0-9]{16})(?![A-Za-z0-9])"),
        reason="an AWS access key id (AKIA long-term, ASIA temporary)",
        mask=keep_prefix(4),
        hint=Hint(("AKIA", "ASIA"), after=20),
    ),
    Rule(
        category="secret.github_token",
        severity=Severity.HIGH,
        pattern=re.compile(
            r"(?<![A-Za-z0-9_])(?P<v>gh[opsur]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9_]{22,240})"
            r"(?![A-Za-z0-9_])"
        ),
        reason="a GitHub token (ghp_ personal, gho_ OAuth, ghs_ app, ghu_ user-to-server, github_pat_)",
        mask=lambda v: keep_prefix(11 if v.startswith("github_pat_") else 4)(v),
        hint=Hint(("ghp_", "gho_", "ghs_", "ghu_", "ghr_", "github_pat_"), after=260),
    ),
    Rule(
        category="secret.openai_key",
        severity=Severity.HIGH,
        pattern=re.compile(
            r"(?<![A-Za-z0-9_-])(?P<v>sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,200})(?![A-Za-z0-9_-])"
        ),
        reason="an OpenAI-style sk- API key",
        check=_random_run,  # random base62; "sk-learn-tutorial-2023-for-Beginners" is not a key
        mask=keep_prefix(3),
        hint=Hint(("sk-",), after=220),
    ),
    Rule(
        category="secret.slack_token",
        severity=Severity.HIGH,
        pattern=re.compile(r"(?<![A-Za-z0-9-])(?P<v>xox[abprs]-[A-Za-z0-9-]{10,250})(?![A-Za-z0-9-])"),
        reason="a Slack token (xoxb- bot, xoxp- user, xoxa-/xoxr- app, xoxs- session)",
        check=_has_digit,
        mask=keep_prefix(5),
        hint=Hint(("xox",), after=260),
    ),
    Rule(
        category="secret.google_api_key",
        severity=Severity.MEDIUM,  # often shipped in web pages on purpose, restricted by referrer
        pattern=re.compile(r"(?<![A-Za-z0-9_-])(?P<v>AIza[0-9A-Za-z_-]{35})(?![A-Za-z0-9_-])"),
        reason="a Google API key",
        mask=keep_prefix(4),
        hint=Hint(("AIza",), after=40),
    ),
    Rule(
        category="secret.jwt",
        severity=Severity.HIGH,
        pattern=re.compile(
            r"(?<![A-Za-z0-9_-])(?P<v>eyJ[A-Za-z0-9_-]{4,2000}\.[A-Za-z0-9_-]{2,8000}\.[A-Za-z0-9_-]{0,2000})"
            r"(?![A-Za-z0-9_-])"
        ),
        reason="a JSON Web Token whose header names an algorithm (RFC 7519)",
        check=jwt_header_is_valid,
        mask=keep_prefix(3),
        hint=Hint(("eyJ",), after=12_010),
    ),
    Rule(
        category="secret.bearer",
        severity=Severity.HIGH,
        pattern=re.compile(
            rf"(?i:authorization{_ASSIGN})?(?i:bearer)\s{{1,4}}(?P<v>[A-Za-z0-9._~+/-]{{16,4096}}=*)"
            r"(?![A-Za-z0-9._~+/=-])"
        ),
        reason="a bearer token (RFC 6750) that looks random",
        check=looks_random,
        mask=keep_prefix(0),
        hint=Hint(("bearer",), view="lower", before=40, after=4120),
    ),
    Rule(
        category="secret.assignment",
        severity=Severity.HIGH,
        pattern=re.compile(
            r"(?<![A-Za-z0-9])(?i:password|passwd|pwd|secret|api[_-]?key|access[_-]?token|auth[_-]?token|token)"
            rf"{_ASSIGN}(?P<v>[^\s\"'`<>{{}}$,;&]{{8,256}})"
        ),
        reason="a password, secret, API key or token assigned a value that looks random",
        check=looks_random,
        mask=keep_prefix(0),
        hint=Hint(("passw", "pwd", "secret", "key", "token"), view="lower", before=16, after=280),
    ),
)


def secrets_detector(*, max_findings: int = 64) -> RuleDetector:
    """The credential detector, named ``secrets``."""
    return RuleDetector(name="secrets", rules=SECRET_RULES, max_findings=max_findings)
