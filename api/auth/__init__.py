"""Access control: API keys and OIDC bearer tokens, roles, the checks at the edge.

- :mod:`api.auth.principals`: roles (viewer < operator < admin) and the caller;
- :mod:`api.auth.keys`: API keys, stored as argon2 hashes in PostgreSQL;
- :mod:`api.auth.oidc`: JWTs checked against the identity provider's JWKS;
- :mod:`api.auth.http`: the HTTP/WebSocket edge (credentials, Origin);
- :mod:`api.auth.permissions`: the role each GraphQL field needs;
- :mod:`api.auth.graphql`: ``me``, ``apiKeys``, ``createApiKey``, ``revokeApiKey``;
- ``python -m api.auth``: keys from the command line (the first admin key).
"""
