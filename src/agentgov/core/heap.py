"""Start-up objects out of the garbage collector's reach, for long-running processes.

Everything imported and built at start-up (modules, models, compiled policies, the SDK's schemas)
lives as long as the process. Frozen, a full collection no longer walks it (about 140,000 objects and
~100 ms with the server's modules loaded), so no request or tool call pays for that pause. The
server, the gateway and the ledger benchmark (which models the server's writer) call this once,
after start-up and before serving.
"""

from __future__ import annotations

import gc

__all__ = ["freeze_startup_heap", "thaw_startup_heap"]


def freeze_startup_heap() -> None:
    gc.collect()  # what start-up left as garbage is freed, not frozen
    gc.freeze()


def thaw_startup_heap() -> None:
    gc.unfreeze()
