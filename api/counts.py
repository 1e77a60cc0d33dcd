"""Print live zone counts from the GraphQL API, as a table.

``python -m api.counts [--url http://127.0.0.1:8000] [--key-file F] [--watch SECONDS]``

The API key comes from ``OCC_API_KEY``, else from ``--key-file`` (``make up``
keeps its demo admin key in ``.run/demo-admin.key``).
"""

from __future__ import annotations

import argparse
import json
import os
import time
import urllib.request
from pathlib import Path

__all__ = ["fetch_zones", "format_table", "main"]

QUERY = "{ zones { id name occupancy entries exits capacity updatedAt } }"


def fetch_zones(url: str, key: str) -> list[dict[str, object]]:
    request = urllib.request.Request(
        url.rstrip("/") + "/graphql",
        data=json.dumps({"query": QUERY}).encode(),
        headers={"content-type": "application/json", "authorization": f"Bearer {key}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        body = json.load(response)
    if body.get("errors"):
        raise RuntimeError(f"GraphQL errors: {body['errors']}")
    zones: list[dict[str, object]] = body["data"]["zones"]
    return zones


def format_table(zones: list[dict[str, object]]) -> str:
    lines = [f"  {'zone':<10} {'occupancy':>9} {'capacity':>8} {'entries':>8} {'exits':>6}"]
    for z in zones:
        capacity = z["capacity"] if z["capacity"] is not None else "-"
        lines.append(
            f"  {z['id']!s:<10} {z['occupancy']!s:>9} {capacity!s:>8} "
            f"{z['entries']!s:>8} {z['exits']!s:>6}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--key-file", type=Path, default=Path(".run/demo-admin.key"))
    parser.add_argument("--watch", type=float, default=0.0, help="refresh every N seconds")
    args = parser.parse_args(argv)
    key = os.environ.get("OCC_API_KEY") or (
        args.key_file.read_text().strip() if args.key_file.exists() else ""
    )
    if not key:
        parser.error("no API key: set OCC_API_KEY or pass --key-file")
    while True:
        print(format_table(fetch_zones(args.url, key)), flush=True)
        if not args.watch:
            break
        time.sleep(args.watch)
        print()


if __name__ == "__main__":
    main()
