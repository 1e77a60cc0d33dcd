"""``python -m api.auth``: API keys from the command line.

::

    python -m api.auth create --name grafana --role viewer     # prints the key once
    python -m api.auth list
    python -m api.auth revoke 3f2a9c01b7de
    python -m api.auth ensure --name demo-admin --role admin --file .run/demo-admin.key

``ensure`` (what ``make up`` runs) keeps a working key in a file (mode 0600):
it makes a new one when the file is missing or holds a key that no longer
works, and prints the file's key either way. Reads ``OCC_DATABASE_URL``.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path

import psycopg

from api.auth.keys import REVOKE, create_key_sync, parse_key, secret_matches
from api.auth.principals import Role
from streams.settings import Settings


def _works(conn: psycopg.Connection, key: str) -> bool:
    parsed = parse_key(key)
    if parsed is None:
        return False
    row = conn.execute(
        "SELECT secret_hash FROM api_keys WHERE key_id = %s AND revoked_at IS NULL", (parsed[0],)
    ).fetchone()
    return row is not None and secret_matches(row[0], parsed[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m api.auth", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("create", "ensure"):
        p = sub.add_parser(name)
        p.add_argument("--name", required=True)
        p.add_argument("--role", required=True, choices=[r.value for r in Role])
        p.add_argument("--file", type=Path, required=name == "ensure", help="write the key here")
    sub.add_parser("list")
    p = sub.add_parser("revoke")
    p.add_argument("key_id")
    args = parser.parse_args(argv)
    by = f"cli:{getpass.getuser()}"
    with psycopg.connect(Settings().database_url, autocommit=True) as conn:
        if args.command == "list":
            rows = conn.execute(
                "SELECT key_id, name, role, created_at, revoked_at FROM api_keys "
                "ORDER BY created_at"
            )
            for row in rows:
                revoked = f"  revoked {row[4]:%Y-%m-%d %H:%M}" if row[4] else ""
                print(f"{row[0]}  {row[2]:<8}  {row[1]}  created {row[3]:%Y-%m-%d %H:%M}{revoked}")
            return 0
        if args.command == "revoke":
            found = conn.execute(REVOKE, (by, args.key_id)).fetchone()
            if found is None:
                print(f"no key {args.key_id}", file=sys.stderr)
                return 1
            print(f"revoked {args.key_id}")
            return 0
        if args.command == "ensure" and args.file.exists():
            key = args.file.read_text().strip()
            if _works(conn, key):
                print(key)
                return 0
        key, _ = create_key_sync(conn, args.name, Role(args.role), by)
    if args.file is not None:
        args.file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(args.file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(key + "\n")
    print(key)
    return 0


if __name__ == "__main__":
    sys.exit(main())
