"""Credentials: provider keys by prefix and length, private keys, JWTs, generic assignments by entropy."""

from __future__ import annotations

import secrets as stdlib_secrets

import pytest

from agentgov.detect import (
    ENTROPY_FLOOR,
    Finding,
    jwt_header_is_valid,
    looks_random,
    secrets_detector,
    shannon_entropy,
)
from agentgov.identity.apikeys import new_key
from tests.detect.fakes import (
    aws_key_id,
    github_pat,
    github_token,
    google_api_key,
    jwt,
    openai_key,
    pem_private_key,
    random_text,
    slack_token,
)

DETECTOR = secrets_detector()


def scan(text: str) -> list[Finding]:
    return DETECTOR.scan(text, where="arguments")


def found(text: str) -> list[tuple[str, str]]:
    return [(f.category, text[f.start : f.end]) for f in scan(text)]


AGENTGOV_KEY = new_key()[0]
BEARER = stdlib_secrets.token_urlsafe(32)
HEX_KEY = random_text(11, 32, "0123456789abcdef")

# (text around the value, category, value)
TRUE_POSITIVES = [
    ("aws_access_key_id = {}", "secret.aws_access_key", aws_key_id()),
    ("temporary creds {} expire soon", "secret.aws_access_key", aws_key_id(9, "ASIA")),
    ("key file:\n{}\n", "secret.private_key", pem_private_key()),
    ("{}", "secret.private_key", pem_private_key("OPENSSH ")),
    ("{}", "secret.private_key", pem_private_key("")),
    ("session={}; Path=/", "secret.jwt", jwt()),
    ("GITHUB_TOKEN: {}", "secret.github_token", github_token()),
    ("oauth {}", "secret.github_token", github_token(12, "gho_")),
    ("app {}", "secret.github_token", github_token(13, "ghs_")),
    ("fine-grained {}", "secret.github_token", github_pat()),
    ("OPENAI_API_KEY={}", "secret.openai_key", openai_key()),
    ("project key {}", "secret.openai_key", openai_key(14, "proj-")),
    ("SLACK_BOT_TOKEN={}", "secret.slack_token", slack_token()),
    ("user token {}", "secret.slack_token", slack_token(15, "p")),
    ("maps?key={}&q=x", "secret.google_api_key", google_api_key()),
    ("Authorization: Bearer {}", "secret.bearer", BEARER),
    ('headers = {{"Authorization": "Bearer {}"}}', "secret.bearer", BEARER),
    ("password=Summer2024!{}", "secret.assignment", ""),
    ('{{"api_key": "{}"}}', "secret.assignment", HEX_KEY),
    ("client_secret: {}", "secret.assignment", random_text(16, 40)),
    ("X-API-Key: {}", "secret.assignment", random_text(17, 24)),
    ("agentgov key {} (shown once)", "secret.agentgov_key", AGENTGOV_KEY),
]


def _case(template: str, value: str) -> tuple[str, str]:
    if not value:  # the value is written in the template
        text = template.format("")
        return text, text.split("=", 1)[1]
    return template.format(value), value


@pytest.mark.parametrize(("template", "category", "value"), TRUE_POSITIVES)
def test_credential_is_reported_with_its_category(template: str, category: str, value: str) -> None:
    text, value = _case(template, value)
    assert found(text) == [(category, value)]


@pytest.mark.parametrize(("template", "category", "value"), TRUE_POSITIVES)
def test_masked_excerpt_keeps_only_the_public_prefix(template: str, category: str, value: str) -> None:
    text, value = _case(template, value)
    (finding,) = scan(text)
    middle = len(value) // 2
    secret_part = value[max(0, middle - 8) : middle + 8]  # past any public prefix, before any footer
    assert value not in finding.excerpt
    assert secret_part not in finding.excerpt
    assert len(finding.excerpt.split("…")[0]) <= 40  # a prefix such as "agk_<id>_" or a PEM header


NOT_SECRETS = [
    "sk-learn-tutorial-2023-for-Beginners",
    "task-force and desk-sharing",
    "ghp_short and github_pat_",
    "AKIAshort and the AKIA prefix",
    "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n-----END PUBLIC KEY-----",
    "-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIEAgAAuTANBgkqhkiG9w0B\n-----END CERTIFICATE-----",
    "Authorization: Bearer YOUR_ACCESS_TOKEN",
    "Authorization: Bearer <token>",
    "The bearer of this letter is my cousin.",
    "password=******** and pwd: changeme",
    "api_key=YOUR_API_KEY_HERE",
    'secret: "${DB_PASSWORD}"',
    "token=xxxxxxxxxxxxxxxxxxxx",
    "access_token: {{ secrets.ACCESS_TOKEN }}",
    "password: correct-horse-battery-staple",
    "commit 9fceb02d0ae598e95dc970b74767f19372d61af8",
    "uuid 123e4567-e89b-12d3-a456-426614174000",
    "the key points of the token economy",
    "eyJub3QiOiJhIGpzb24gd2ViIHRva2VuIn0.eyJ4IjoxfQ.c2ln",  # no "alg" in the header
    "xoxb-abcdefghijklmnop",  # no digits: a word, not a token
]


@pytest.mark.parametrize("text", NOT_SECRETS)
def test_text_that_only_resembles_a_credential_is_not_reported(text: str) -> None:
    assert found(text) == []


def test_private_key_finding_spans_the_whole_pem_block() -> None:
    key = pem_private_key("EC ")
    text = f"before\n{key}\nafter"
    (finding,) = scan(text)
    assert text[finding.start : finding.end] == key
    assert finding.excerpt == "-----BEGIN EC PRIVATE KEY-----…"


def test_private_key_header_without_its_body_is_still_reported() -> None:
    text = "truncated: -----BEGIN RSA PRIVATE KEY-----\nMIIEow"
    assert [c for c, _ in found(text)] == ["secret.private_key"]


def test_jwt_in_a_bearer_header_is_reported_once_as_a_jwt() -> None:
    token = jwt()
    assert found(f"Authorization: Bearer {token}") == [("secret.jwt", token)]


def test_jwt_header_must_decode_to_json_naming_an_algorithm() -> None:
    assert jwt_header_is_valid(jwt())
    assert not jwt_header_is_valid(jwt(header={"typ": "JWT"}))
    assert not jwt_header_is_valid(jwt(header=["alg"]))
    assert not jwt_header_is_valid("eyJ!!!.e30.x")
    assert found(f"token {jwt(header={'typ': 'JWT'})}") == []


def test_key_already_reported_by_its_provider_rule_is_not_reported_again_as_an_assignment() -> None:
    key = github_token()
    assert found(f"token={key}") == [("secret.github_token", key)]


def test_shannon_entropy_of_known_strings() -> None:
    assert shannon_entropy("") == 0.0
    assert shannon_entropy("aaaa") == 0.0
    assert shannon_entropy("ab") == 1.0
    assert shannon_entropy("abcdefgh") == 3.0


def test_entropy_floor_separates_placeholders_from_random_values() -> None:
    assert ENTROPY_FLOOR == 3.0
    for placeholder in (
        "changeme",
        "password",
        "********",
        "YOUR_API_KEY",
        "REPLACE_ME_WITH_TOKEN",
        "example-1234",
    ):
        assert not looks_random(placeholder), placeholder
    for value in (stdlib_secrets.token_urlsafe(24), random_text(21, 32, "0123456789abcdef"), "Summer2024!"):
        assert looks_random(value), value
