"""The one exception tree of agentgov.

Every error the platform raises on purpose derives from :class:`AgentGovError`. Each class carries a
stable ``code`` (returned as ``code`` in RFC 9457 problem+json) and an HTTP ``status``. The tree is split
by whose fault the error is::

    AgentGovError                         code            status
    ├── InvalidInput                      invalid_input   422   the caller sent something wrong
    │   ├── MalformedRequest              malformed       400   unparsable body, bad JSON
    │   ├── PayloadTooLarge               too_large       413   over a configured size limit
    │   ├── InvalidIdentifier             invalid_identifier  a legal id with a wrong check character...
    │   ├── InvalidSignature              invalid_signature   a signature that does not verify
    │   ├── UnsupportedAlgorithm          unsupported_algorithm  `none`, HS*, anything off the allow-list
    │   └── ledger.note.MalformedNote     malformed_note  a signed note that breaks the C2SP grammar
    ├── NotFound                          not_found       404
    │   └── Gone                          gone            410   existed, withdrawn for good (recalled...)
    ├── Conflict                          conflict        409   duplicates, races
    │   └── IllegalTransition             illegal_transition  a lifecycle move the state machine refuses
    ├── Unauthenticated                   unauthenticated 401   no key or an unknown key
    ├── Forbidden                         forbidden       403   a known key whose role may not do this
    ├── VerificationFailed                verification_failed 422  a proof (domain control, possession) failed
    │   ├── UnsafeTarget                  unsafe_target   a URL the platform refuses to fetch (SSRF)
    │   ├── ledger.merkle.ProofError      bad_proof       an inclusion or consistency proof that fails
    │   └── ledger.note.UnverifiedNote    unverified_note a note with no signature from a required key
    └── Unavailable                       unavailable     503   a dependency that did not answer

Adapters translate foreign exceptions into this tree (``raise Unavailable(...) from exc``); above the
adapters nobody catches ``sqlalchemy`` or ``httpx`` errors.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "AgentGovError",
    "Conflict",
    "Forbidden",
    "Gone",
    "IllegalTransition",
    "InvalidIdentifier",
    "InvalidInput",
    "InvalidSignature",
    "MalformedRequest",
    "NotFound",
    "PayloadTooLarge",
    "Unauthenticated",
    "Unavailable",
    "UnsafeTarget",
    "UnsupportedAlgorithm",
    "VerificationFailed",
]


class AgentGovError(Exception):
    """Root of every error agentgov raises on purpose."""

    code: ClassVar[str] = "error"
    status: ClassVar[int] = 500
    title: ClassVar[str] = "Internal error"

    def __init__(self, detail: str, *, field: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.extra = extra

    def to_problem(self, instance: str | None = None) -> dict[str, Any]:
        """The RFC 9457 problem document for this error."""
        problem: dict[str, Any] = {
            "type": f"https://agentgov.dev/problems/{self.code}",
            "title": self.title,
            "status": self.status,
            "code": self.code,
            "detail": self.detail,
        }
        if instance is not None:
            problem["instance"] = instance
        if self.field is not None:
            problem["field"] = self.field
        problem.update(self.extra)
        return problem


class InvalidInput(AgentGovError):
    code = "invalid_input"
    status = 422
    title = "Invalid input"


class MalformedRequest(InvalidInput):
    code = "malformed"
    status = 400
    title = "Malformed request"


class PayloadTooLarge(InvalidInput):
    code = "too_large"
    status = 413
    title = "Payload too large"


class InvalidIdentifier(InvalidInput):
    code = "invalid_identifier"
    title = "Invalid identifier"


class InvalidSignature(InvalidInput):
    code = "invalid_signature"
    title = "Invalid signature"


class UnsupportedAlgorithm(InvalidInput):
    code = "unsupported_algorithm"
    title = "Unsupported algorithm"


class NotFound(AgentGovError):
    code = "not_found"
    status = 404
    title = "Not found"


class Gone(NotFound):
    code = "gone"
    status = 410
    title = "Gone"


class Conflict(AgentGovError):
    code = "conflict"
    status = 409
    title = "Conflict"


class IllegalTransition(Conflict):
    code = "illegal_transition"
    title = "Illegal lifecycle transition"


class Unauthenticated(AgentGovError):
    code = "unauthenticated"
    status = 401
    title = "Authentication required"


class Forbidden(AgentGovError):
    code = "forbidden"
    status = 403
    title = "Forbidden"


class VerificationFailed(AgentGovError):
    code = "verification_failed"
    status = 422
    title = "Verification failed"


class UnsafeTarget(VerificationFailed):
    code = "unsafe_target"
    title = "Unsafe fetch target"


class Unavailable(AgentGovError):
    code = "unavailable"
    status = 503
    title = "Service unavailable"
