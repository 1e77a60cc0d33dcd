"""Per-connection and per-request limits of the API (the query limits are in :mod:`api.schema`).

- :data:`MAX_SUBSCRIPTIONS` open subscriptions per WebSocket connection: a
  dashboard needs two; a client that opens more is told so, with a code.
- :data:`MAX_BODY_BYTES` per GraphQL HTTP request, checked on
  ``Content-Length`` before the body is read (a body of unknown length is refused).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError

__all__ = ["MAX_BODY_BYTES", "MAX_SUBSCRIPTIONS", "body_refusal", "subscription_slot"]

MAX_SUBSCRIPTIONS = 10
MAX_BODY_BYTES = 256 * 1024

_OPEN = "occupancy.open_subscriptions"


@contextlib.contextmanager
def subscription_slot(context: dict[str, Any]) -> Iterator[None]:
    """Hold one of the connection's subscription slots while a subscription runs."""
    open_now = context.get(_OPEN, 0)
    if open_now >= MAX_SUBSCRIPTIONS:
        raise GraphQLError(
            f"at most {MAX_SUBSCRIPTIONS} subscriptions per connection; "
            "complete one or open another connection",
            extensions={"code": "TOO_MANY_SUBSCRIPTIONS"},
        )
    context[_OPEN] = open_now + 1
    try:
        yield
    finally:
        context[_OPEN] -= 1


def body_refusal(method: str, headers: Any) -> tuple[int, str] | None:
    """``(status, message)`` when a request's body must not be read, else None."""
    if method != "POST":
        return None
    length = headers.get("content-length")
    if length is None:
        return 411, "send a Content-Length (bodies of unknown length are not accepted)"
    try:
        size = int(length)
    except ValueError:
        return 400, "Content-Length is not a number"
    if size > MAX_BODY_BYTES:
        return 413, f"the request body is {size} bytes; at most {MAX_BODY_BYTES} are accepted"
    return None
