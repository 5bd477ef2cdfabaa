"""Turn pydantic validation failures into InvalidInput with a clear field and detail."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from agentgov.errors import InvalidInput

__all__ = ["validate_model"]

M = TypeVar("M", bound=BaseModel)


def _loc(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in loc) or "(body)"


def validate_model(model: type[M], data: Any) -> M:
    """``model.model_validate(data)``, raising InvalidInput that names the first bad field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = [{"field": _loc(e["loc"]), "message": e["msg"]} for e in exc.errors(include_url=False)]
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise InvalidInput(
            f"{first['field']}: {first['message']}{more}", field=first["field"], errors=errors
        ) from exc
