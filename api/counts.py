"""Print live zone counts from the GraphQL API, as a table.

``python -m api.counts [--url http://127.0.0.1:8000] [--watch SECONDS]``
"""

from __future__ import annotations

import argparse
import json
import time
import urllib.request

__all__ = ["fetch_zones", "format_table", "main"]

QUERY = "{ zones { id name occupancy entries exits capacity updatedAt } }"


def fetch_zones(url: str) -> list[dict[str, object]]:
    request = urllib.request.Request(
        url.rstrip("/") + "/graphql",
        data=json.dumps({"query": QUERY}).encode(),
        headers={"content-type": "application/json"},
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
    parser.add_argument("--watch", type=float, default=0.0, help="refresh every N seconds")
    args = parser.parse_args(argv)
    while True:
        print(format_table(fetch_zones(args.url)), flush=True)
        if not args.watch:
            break
        time.sleep(args.watch)
        print()


if __name__ == "__main__":
    main()
