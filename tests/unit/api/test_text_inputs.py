"""Free text of mutations: control characters, lone surrogates and over-long text are refused.

The strawberry schema runs directly with a stand-in for the API state that
records what would be published, so a refused call provably publishes
nothing (and so nothing reaches the sink).
"""

from __future__ import annotations

import uuid
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from api.auth.principals import Principal, Role
from api.inputs import BY_MAX, REASON_MAX, text
from api.schema import schema

ALERT_ID = str(uuid.uuid4())
OPERATOR = Principal("key:anna", Role.OPERATOR, "api-key")

CALIBRATE = """
mutation ($by: String!, $reason: String!) {
  calibrateZone(zoneId: "lobby", occupancy: 5, by: $by, reason: $reason) { by reason }
}
"""
RESOLVE = f"""
mutation ($by: String!, $reason: String!) {{
  resolveAlert(alertId: "{ALERT_ID}", by: $by, reason: $reason) {{ resolvedBy resolveReason }}
}}
"""


class Pool:
    """``state.pool`` with one open alert, for ``load_alert``."""

    def __init__(self) -> None:
        self.row = {
            "alert_id": uuid.UUID(ALERT_ID),
            "kind": "capacity_warning",
            "severity": "warning",
            "subject_type": "zone",
            "subject_id": "lobby",
            "message": "lobby is nearly full",
            "value": 9.0,
            "threshold": 8.0,
            "raised_at": datetime(2026, 3, 1, 8, tzinfo=UTC),
            "resolved_at": None,
            "resolved_by": None,
            "resolve_reason": None,
        }

    @asynccontextmanager
    async def connection(self):
        pool = self

        class Cursor:
            async def execute(self, sql, params):
                pass

            async def fetchone(self):
                return dict(pool.row)

        @asynccontextmanager
        async def cursor(row_factory=None):
            yield Cursor()

        yield SimpleNamespace(cursor=cursor)


@pytest.fixture
def published():
    return []


@pytest.fixture
def state(published):
    async def publish(topic, key, event):
        published.append((topic, key, event))

    return SimpleNamespace(
        plant=SimpleNamespace(zones=[SimpleNamespace(id="lobby")]),
        settings=SimpleNamespace(topic=lambda name: f"test.{name}.v1"),
        pool=Pool(),
        publish=publish,
    )


async def run(state, query: str, by: str, reason: str, principal=OPERATOR):
    return await schema.execute(
        query,
        variable_values={"by": by, "reason": reason},
        context_value={"state": state, "principal": principal},
    )


async def test_the_incident_nul_in_a_reason_is_refused_and_nothing_published(state, published):
    # As reported: the escape in the GraphQL document itself, no variables.
    result = await schema.execute(
        'mutation { calibrateZone(zoneId: "lobby", occupancy: 5, by: "x", reason: "a\\u0000b")'
        " { id } }",
        context_value={"state": state, "principal": OPERATOR},
    )
    [error] = result.errors
    assert error.message == (
        "reason must not contain control characters other than line feed and tab:"
        " U+0000 at character 2"
    )
    assert error.extensions == {"code": "BAD_USER_INPUT", "field": "reason"}
    assert published == []


BAD = [
    ("by", "an\x00na", "U+0000"),
    ("by", "anna\n", "U+000A"),  # one line: no line feed ...
    ("by", "an\tna", "U+0009"),  # ... and no tab
    ("by", "\x1b[31manna", "U+001B"),
    ("by", "anna\x7f", "U+007F"),
    ("by", "anna\x85", "U+0085"),  # C1 controls too
    ("by", "anna\x9f", "U+009F"),
    ("by", "an\ud800na", "lone surrogate U+D800"),
    ("by", "x" * (BY_MAX + 1), f"too long: {BY_MAX + 1} characters, at most {BY_MAX}"),
    ("by", " \u3000 ", "must not be empty"),
    ("reason", "a\x00b", "U+0000"),
    ("reason", "line one\r\nline two", "U+000D"),
    ("reason", "\x07", "U+0007"),
    ("reason", "\udfff", "lone surrogate U+DFFF"),
    ("reason", "r" * (REASON_MAX + 1), f"at most {REASON_MAX}"),
    ("reason", "", "must not be empty: say why"),
]


@pytest.mark.parametrize("query", [CALIBRATE, RESOLVE], ids=["calibrateZone", "resolveAlert"])
@pytest.mark.parametrize(("field", "value", "says"), BAD)
async def test_bad_text_is_refused_naming_the_field(state, published, query, field, value, says):
    args = {"by": "anna", "reason": "head count", field: value}
    result = await run(state, query, **args)
    assert result.data == {"calibrateZone" if "calibrateZone" in query else "resolveAlert": None}
    [error] = result.errors
    assert error.message.startswith(f"{field} "), error.message
    assert says in error.message
    assert error.extensions == {"code": "BAD_USER_INPUT", "field": field}
    assert published == []


async def test_good_text_is_stripped_and_published_by_the_caller_not_the_by_text(state, published):
    by = "  Ånna Müller-Øst 👷 " + "x" * (BY_MAX - 18)
    reason = "head count at shift change:\n\t12 in the lobby\n" + "r" * (REASON_MAX - 50)
    assert len(by.strip()) == BY_MAX and len(reason) <= REASON_MAX
    result = await run(state, CALIBRATE, by, reason)
    assert result.errors is None
    # The deprecated by is checked like any text, then ignored: the caller is recorded.
    assert result.data == {"calibrateZone": {"by": "key:anna", "reason": reason.strip()}}
    [(topic, key, command)] = published
    assert (topic, key, command.by, command.reason) == (
        "test.commands.v1",
        "lobby",
        "key:anna",
        reason.strip(),
    )

    result = await run(state, RESOLVE, "bob", "two lines\nof reason")
    assert result.errors is None
    assert result.data == {
        "resolveAlert": {"resolvedBy": "key:anna", "resolveReason": "two lines\nof reason"}
    }
    assert [e.by for _, _, e in published] == ["key:anna", "key:anna"]


@pytest.mark.parametrize("query", [CALIBRATE, RESOLVE], ids=["calibrateZone", "resolveAlert"])
async def test_a_viewer_or_nobody_may_not_correct_and_nothing_is_published(state, published, query):
    viewer = Principal("key:wall-screen", Role.VIEWER, "api-key")
    [error] = (await run(state, query, "anna", "why", principal=viewer)).errors
    assert error.extensions["code"] == "FORBIDDEN"
    assert "needs the operator role; key:wall-screen is a viewer" in error.message
    [error] = (await run(state, query, "anna", "why", principal=None)).errors
    assert error.extensions["code"] == "UNAUTHENTICATED"
    assert published == []


def test_the_helper_alone():
    assert text("  anna ", "by", max_length=4) == "anna"
    assert text("a\n\tb", "reason", max_length=10, multiline=True) == "a\n\tb"
    assert text("Zoë\u200d", "by", max_length=10) == "Zoë\u200d"  # format characters pass
