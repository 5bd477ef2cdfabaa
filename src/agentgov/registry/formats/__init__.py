"""Interop formats of the registry: A2A Agent Cards (read v0.3 and v1.0, write v1.0) and MCP server.json."""

from agentgov.registry.formats.a2a import (
    A2A_PROTOCOL_VERSION,
    CARD_V03,
    CARD_V10,
    ImportedCard,
    card_to_declaration,
    declaration_to_card,
    detect_card_version,
    export_card,
    import_card,
    sign_card,
    signing_payload,
    upgrade_v03_card,
    verify_card,
)
from agentgov.registry.formats.mcp_server import ImportedServer, import_server_json, server_to_declaration

__all__ = [
    "A2A_PROTOCOL_VERSION",
    "CARD_V03",
    "CARD_V10",
    "ImportedCard",
    "ImportedServer",
    "card_to_declaration",
    "declaration_to_card",
    "detect_card_version",
    "export_card",
    "import_card",
    "import_server_json",
    "server_to_declaration",
    "sign_card",
    "signing_payload",
    "upgrade_v03_card",
    "verify_card",
]
