"""Access control without services: roles, keys, Origin, and a role on every root field."""

from __future__ import annotations

import pytest
from strawberry.permission import PermissionExtension

from api.auth.http import origin_allowed
from api.auth.keys import KEY_PATTERN, new_key, parse_key
from api.auth.permissions import Admin, Operator, Viewer
from api.auth.principals import Role
from api.schema import schema


def test_roles_are_ordered() -> None:
    assert Role.ADMIN.allows(Role.OPERATOR) and Role.ADMIN.allows(Role.VIEWER)
    assert Role.OPERATOR.allows(Role.VIEWER) and not Role.OPERATOR.allows(Role.ADMIN)
    assert not Role.VIEWER.allows(Role.OPERATOR)


def test_a_new_key_parses_and_its_hash_is_not_the_secret() -> None:
    key, key_id, secret_hash = new_key()
    assert KEY_PATTERN.fullmatch(key)
    parsed = parse_key(key)
    assert parsed is not None and parsed[0] == key_id
    assert parsed[1] not in secret_hash and secret_hash.startswith("$argon2id$")
    assert new_key()[0] != key  # random
    for bad in ("", "occ_", key + "x", key.replace("occ_", "occ-"), f"occ_{key_id}_short"):
        assert parse_key(bad) is None


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        (None, True),  # not a browser
        ("http://127.0.0.1:8000", True),  # the API's own page
        ("https://ops.plant.example", True),  # listed
        ("https://ops.plant.example/", True),
        ("http://evil.example", False),
        ("http://127.0.0.1:8001", False),  # another port is another origin
        ("null", False),
    ],
)
def test_origin(origin: str | None, allowed: bool) -> None:
    listed = frozenset({"https://ops.plant.example"})
    assert origin_allowed(origin, "127.0.0.1:8000", listed) is allowed


#: What each root field needs. A new field must be added here, with its role.
NEEDS = {
    "Query": {
        "zones": Viewer,
        "zone": Viewer,
        "alerts": Viewer,
        "history": Viewer,
        "timeframe": Viewer,
        "facilityStatistics": Viewer,
        "dwellTime": Viewer,
        "cameras": Viewer,
        "camera": Viewer,
        "crossings": Viewer,
        "me": Viewer,
        "apiKeys": Admin,
    },
    "Mutation": {
        "calibrateZone": Operator,
        "resolveAlert": Operator,
        "requestSnapshot": Operator,
        "createApiKey": Admin,
        "revokeApiKey": Admin,
    },
    "Subscription": {"occupancy": Viewer, "alerts": Viewer},
}


def test_every_root_field_needs_its_role() -> None:
    found = {}
    for type_name in NEEDS:
        definition = schema.get_type_by_name(type_name)
        assert definition is not None
        fields = {}
        for field in definition.fields:  # type: ignore[union-attr]
            perms = [
                type(p)
                for ext in field.extensions
                if isinstance(ext, PermissionExtension)
                for p in ext.permissions
            ]
            assert len(perms) == 1, f"{type_name}.{field.name}: {perms}"
            fields[schema.config.name_converter.get_graphql_name(field)] = perms[0]
        found[type_name] = fields
    assert found == NEEDS
