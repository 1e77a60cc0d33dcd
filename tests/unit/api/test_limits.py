"""Query limits: refused before anything runs, introspection still allowed."""

from __future__ import annotations

from types import SimpleNamespace

from graphql import get_introspection_query

from api.auth.principals import Principal, Role
from api.schema import MAX_ALIASES, MAX_TOKENS, schema

VIEWER = {"principal": Principal("key:t", Role.VIEWER, "api-key")}


class NoPool:
    """Any resolver that reaches the database fails the test: refusals come first."""

    def connection(self):
        raise AssertionError("a refused query reached the database")


STATE = SimpleNamespace(pool=NoPool(), plant=SimpleNamespace(zones=[], cameras=[], lines=[]))


async def run(query: str):
    return await schema.execute(query, context_value={**VIEWER, "state": STATE})


async def test_the_5000_alias_query_is_refused_without_running() -> None:
    query = "{ " + " ".join(f"a{i}: zones {{ id }}" for i in range(5000)) + " }"
    result = await run(query)
    assert result.data is None
    assert result.errors
    assert any("aliases" in e.message or "token" in e.message for e in result.errors)


async def test_too_many_aliases_are_refused() -> None:
    query = "{ " + " ".join(f"a{i}: me {{ name }}" for i in range(MAX_ALIASES + 1)) + " }"
    [error] = (await run(query)).errors
    assert f"{MAX_ALIASES}" in error.message and "aliases" in error.message


async def test_a_query_just_within_the_alias_limit_runs() -> None:
    query = "{ " + " ".join(f"a{i}: me {{ name }}" for i in range(MAX_ALIASES)) + " }"
    result = await run(query)
    assert result.errors is None
    assert result.data["a0"] == {"name": "key:t"}


async def test_the_standard_introspection_query_passes() -> None:
    result = await run(get_introspection_query(descriptions=True))
    assert result.errors is None
    assert result.data["__schema"]["queryType"]["name"] == "Query"


async def test_too_many_tokens_are_refused() -> None:
    query = "{ me { " + " ".join(["name"] * MAX_TOKENS) + " } }"
    [error] = (await run(query)).errors
    assert "token" in error.message.lower()
