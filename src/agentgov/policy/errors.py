"""The errors of the policy core, each a branch of the one tree in :mod:`agentgov.errors`.

::

    InvalidInput
    ├── InvalidPolicy          invalid_policy          Cedar text that does not parse or validate (with
    │                                                  source, line and column)
    ├── InvalidPack            invalid_pack            a pack manifest (tools, settings) that is inconsistent
    └── UnknownArgument        unknown_argument        a grant constraint on an argument the tool lacks
    Forbidden
    └── GrantCoversUserOnly    grant_covers_user_only  a grant delegating a user-only decision (Art. 6)
"""

from __future__ import annotations

from agentgov.errors import Forbidden, InvalidInput

__all__ = ["GrantCoversUserOnly", "InvalidPack", "InvalidPolicy", "UnknownArgument"]


class InvalidPolicy(InvalidInput):
    """A policy that is refused when loaded; ``source``, ``line`` and ``column`` say where (1-based)."""

    code = "invalid_policy"
    title = "Invalid policy"

    def __init__(
        self, message: str, *, source: str, line: int, column: int, policy_id: str | None = None
    ) -> None:
        where = f"{source}:{line}:{column}"
        super().__init__(f"{where}: {message}", source=source, line=line, column=column, policy_id=policy_id)
        self.message = message
        self.source = source
        self.line = line
        self.column = column
        self.policy_id = policy_id


class InvalidPack(InvalidInput):
    code = "invalid_pack"
    title = "Invalid policy pack"


class UnknownArgument(InvalidInput):
    code = "unknown_argument"
    title = "Constraint on an unknown argument"


class GrantCoversUserOnly(Forbidden):
    code = "grant_covers_user_only"
    title = "Grant covers a user-only action"
