"""What an operator may type into a mutation: one check for every free-text argument.

Mutations publish events that the sink stores for good (the ``commands`` audit
trail, resolved alerts), so text is checked before anything is read, stored
or published, and a refusal is a GraphQL error (code ``BAD_USER_INPUT``) that
names the argument in its message and in ``extensions.field``:

- no control characters (Unicode category Cc: U+0000-U+001F, U+007F-U+009F),
  anywhere in the value as sent. A one-line field (``by``) allows none, not
  even tab or line feed; a multi-line field (``reason``) allows line feed and
  tab, because operators write or paste notes of several lines (a carriage
  return is refused: send ``\\n`` line ends);
- no lone surrogates (category Cs): not Unicode text, it cannot be stored;
- the value, without leading and trailing whitespace (that is what is
  stored), must not be empty and is at most ``max_length`` characters.

Ids (``zoneId``, ``alertId``) are not free text: they must match a configured
zone or parse as a UUID, which no control character survives.
"""

from __future__ import annotations

import unicodedata

from graphql import GraphQLError

__all__ = ["BY_MAX", "REASON_MAX", "bad_input", "text"]

#: Longest ``by`` (who did it), in characters.
BY_MAX = 128
#: Longest ``reason``, in characters.
REASON_MAX = 1000

_MULTI_LINE = frozenset("\n\t")


def bad_input(message: str, field: str | None = None) -> GraphQLError:
    """A GraphQL error for a refused argument (``BAD_USER_INPUT``)."""
    extensions: dict[str, object] = {"code": "BAD_USER_INPUT"}
    if field is not None:
        extensions["field"] = field
    return GraphQLError(message, extensions=extensions)


def text(
    value: str, field: str, *, max_length: int, multiline: bool = False, hint: str = ""
) -> str:
    """``value`` stripped, if it is acceptable text for ``field``; else a :func:`bad_input`.

    Args:
        value: The argument as sent.
        field: Its GraphQL name, for the error.
        max_length: Most characters after stripping.
        multiline: Allow line feed and tab.
        hint: What the field is for, added to the "must not be empty" error.
    """
    if not value.isprintable():  # fast path: printable text has no Cc or Cs at all
        allowed = _MULTI_LINE if multiline else frozenset()
        for i, char in enumerate(value, 1):
            category = unicodedata.category(char)
            if category == "Cc" and char not in allowed:
                rule = (
                    "control characters other than line feed and tab"
                    if multiline
                    else "control characters (it is one line)"
                )
                raise bad_input(
                    f"{field} must not contain {rule}: U+{ord(char):04X} at character {i}", field
                )
            if category == "Cs":
                raise bad_input(
                    f"{field} is not valid Unicode text: lone surrogate U+{ord(char):04X}"
                    f" at character {i}",
                    field,
                )
    stripped = value.strip()
    if not stripped:
        raise bad_input(f"{field} must not be empty" + (f": say {hint}" if hint else ""), field)
    if len(stripped) > max_length:
        raise bad_input(
            f"{field} is too long: {len(stripped)} characters, at most {max_length}", field
        )
    return stripped
