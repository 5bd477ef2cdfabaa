"""Authority (Art. 6, 7): grants, decision classes and behaviour fences, decided purely.

``evaluate(request, policy_set, grants, usage, tool_classes=...) -> Decision``: values in, values out.
Storage of grants and approvals, the API and the ledger wiring live in the services around it.
"""

from agentgov.policy.catalog import ArgType, DerivedSpec, Pack, SettingSpec, ToolSpec
from agentgov.policy.decide import NO_POLICY_DIGEST, evaluate, visible_tools
from agentgov.policy.errors import GrantCoversUserOnly, InvalidPack, InvalidPolicy, UnknownArgument
from agentgov.policy.fences import PolicySet
from agentgov.policy.grant_eval import (
    GrantMatch,
    GrantUsage,
    SignedGrant,
    check_grant,
    evaluate_grant,
    sign_grant,
    verify_grant,
)
from agentgov.policy.grants import (
    AmountBudget,
    Constraint,
    Equals,
    Grant,
    GrantAction,
    InRange,
    Matches,
    OneOf,
)
from agentgov.policy.model import (
    ActionRef,
    ActionRequest,
    Decision,
    DecisionClass,
    Effect,
    Obligation,
    ObligationKind,
    Provenance,
    RequestContext,
    TaintedArgument,
    ToolKind,
    Venue,
)
from agentgov.policy.packs import available_packs, load_pack, load_packs
from agentgov.policy.safe_regex import RegexLimits, UnsafePattern, compile_safe

__all__ = [
    "NO_POLICY_DIGEST",
    "ActionRef",
    "ActionRequest",
    "AmountBudget",
    "ArgType",
    "Constraint",
    "Decision",
    "DecisionClass",
    "DerivedSpec",
    "Effect",
    "Equals",
    "Grant",
    "GrantAction",
    "GrantCoversUserOnly",
    "GrantMatch",
    "GrantUsage",
    "InRange",
    "InvalidPack",
    "InvalidPolicy",
    "Matches",
    "Obligation",
    "ObligationKind",
    "OneOf",
    "Pack",
    "PolicySet",
    "Provenance",
    "RegexLimits",
    "RequestContext",
    "SettingSpec",
    "SignedGrant",
    "TaintedArgument",
    "ToolKind",
    "ToolSpec",
    "UnknownArgument",
    "UnsafePattern",
    "Venue",
    "available_packs",
    "check_grant",
    "compile_safe",
    "evaluate",
    "evaluate_grant",
    "load_pack",
    "load_packs",
    "sign_grant",
    "verify_grant",
    "visible_tools",
]
