"""The GraphQL schema fuzzed against a running API (hypothesis-graphql).

Queries of every shape a viewer may send, mutations an operator may send
(valid by the schema, with random and hostile values), and documents that are
invalid on purpose: the server answers every one with a GraphQL body and never
a 5xx, stays healthy, and publishes exactly one command per call it accepted,
nothing for a refused one.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import graphql
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, mutations, queries

from api.schema import schema
from tests.harness import Namespace, Process, create_topics, read_topic
from tests.harness import api as start_api

pytestmark = pytest.mark.integration

SDL = str(schema)
# Ids from the demo plant mostly, so that some calls are valid and get through.
IDS = ["lobby", "office", "facility", "cam-north", "cam-south", "nowhere", "lob\x00by", ""]
SCALARS = {
    "ID": st.sampled_from(IDS).map(lambda v: graphql.StringValueNode(value=v)),
    "DateTime": st.datetimes(
        min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ).map(lambda d: graphql.StringValueNode(value=d.isoformat())),
}
FUZZ = settings(
    max_examples=120,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def answered(response: httpx.Response, document: str) -> dict:
    assert response.status_code < 500, f"{response.status_code} for {document!r}: {response.text}"
    body = response.json()
    assert "data" in body or "errors" in body, body
    return body


def test_fuzzed_documents_get_answers_and_only_accepted_calls_publish(
    namespace: Namespace, processes: list[Process], tmp_path: Path
) -> None:
    create_topics(namespace)
    api, port = start_api(namespace, tmp_path)
    processes.append(api)
    api.wait_for_log("Application startup complete", timeout=60)
    accepted = {"calibrateZone": 0, "requestSnapshot": 0}

    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:

        @FUZZ
        @given(document=queries(SDL, custom_scalars=SCALARS))
        def viewer_queries(document: str) -> None:
            answered(
                client.post(
                    "/graphql", json={"query": document}, headers=namespace.headers("viewer")
                ),
                document,
            )

        @FUZZ
        @given(document=mutations(SDL, custom_scalars=SCALARS))
        def operator_mutations(document: str) -> None:
            body = answered(
                client.post(
                    "/graphql", json={"query": document}, headers=namespace.headers("operator")
                ),
                document,
            )
            for field, value in (body.get("data") or {}).items():
                if value is not None and field in accepted:
                    accepted[field] += 1

        @FUZZ
        @given(document=queries(SDL, custom_scalars=SCALARS, mode=Mode.NEGATIVE))
        def invalid_documents(document: str) -> None:
            body = answered(
                client.post(
                    "/graphql", json={"query": document}, headers=namespace.headers("viewer")
                ),
                document,
            )
            assert body.get("errors"), f"an invalid document ran: {document!r}"

        viewer_queries()
        operator_mutations()
        invalid_documents()
        assert client.get("/healthz").status_code == 200
        # One call known to be good, so the count below is not trivially zero.
        good = 'mutation { calibrateZone(zoneId: "lobby", occupancy: 3, reason: "check") { id } }'
        body = answered(
            client.post("/graphql", json={"query": good}, headers=namespace.headers("operator")),
            good,
        )
        assert body["data"]["calibrateZone"]["id"]
        accepted["calibrateZone"] += 1

    print(f"fuzz: accepted {accepted}")
    calibrations = [
        c
        for c in asyncio.run(read_topic(namespace, "commands"))
        if c["type"] == "OccupancyCalibrated"
    ]
    assert len(calibrations) == accepted["calibrateZone"]
    assert all(c["by"] == "key:test-operator" for c in calibrations)
    assert (
        len(asyncio.run(read_topic(namespace, "snapshot-requests"))) == accepted["requestSnapshot"]
    )
