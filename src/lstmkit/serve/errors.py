"""The one shape of every error the service returns, and the request error it raises."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lstmkit.errors import LstmkitError


class RequestError(LstmkitError):
    """A request that cannot be served: `loc` is the path of the bad field in the body."""

    def __init__(self, loc: Sequence[str | int], message: str, *, status: int = 422,
                 kind: str = "invalid_request") -> None:
        self.loc, self.status, self.kind = tuple(loc), status, kind
        super().__init__(f"{field_name(self.loc)}: {message}" if self.loc else message)

    def detail(self) -> list[dict[str, Any]]:
        return [problem(("body", *self.loc), str(self), self.kind)]


def field_name(loc: Sequence[str | int]) -> str:
    """('history', 'target', 3) -> 'history.target[3]'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def problem(loc: Sequence[str | int], message: str, kind: str) -> dict[str, Any]:
    """One entry of an error response's `detail` list (FastAPI's layout plus `field`)."""
    inner = tuple(loc[1:]) if loc and loc[0] == "body" else tuple(loc)
    return {"loc": list(loc), "field": field_name(inner) or "body", "msg": message,
            "type": kind}
