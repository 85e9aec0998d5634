"""`python -m stack.demo.healthcheck URL`: exit 0 when URL answers 200 within the timeout, else
1 with the reason on stderr. Standard library only (the image has no curl or wget)."""

from __future__ import annotations

import argparse
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence

__all__ = ["check", "main"]


def check(url: str, timeout: float) -> str | None:
    """None when healthy, else why not."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return None if resp.status == 200 else f"status {resp.status}"
    except urllib.error.HTTPError as exc:
        return f"status {exc.code}"
    except (OSError, ValueError) as exc:
        return f"{type(exc).__name__}: {exc}"


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m stack.demo.healthcheck", description=__doc__)
    p.add_argument("url")
    p.add_argument("--timeout", type=float, default=2.0, metavar="SECONDS")
    args = p.parse_args(argv)
    problem = check(args.url, args.timeout)
    if problem is not None:
        print(f"unhealthy: {args.url}: {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
