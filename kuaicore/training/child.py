"""A training child of `kuaicore compare`: ``python -m kuaicore.training.child`` with a TrainConfig as JSON on
stdin trains it through the Python API (kuaicore.api.train), in a process of its own so that its wall time
and peak RSS are measured alone. Errors are reported as by the CLI: one line on stderr and the exit code.
"""

from __future__ import annotations

import json
import sys
from dataclasses import fields
from pathlib import Path
from typing import Any

from kuaicore.config import TrainConfig


def config_from_json(data: dict[str, Any]) -> TrainConfig:
    """The TrainConfig that :func:`kuaicore.config.to_jsonable` wrote as ``data`` (lists back to tuples)."""
    kwargs = {f.name: data[f.name] for f in fields(TrainConfig) if f.name in data}
    kwargs["art"] = Path(kwargs["art"])
    if "dims" in kwargs:
        kwargs["dims"] = tuple(kwargs["dims"])
    return TrainConfig(**kwargs)


def main() -> int:
    """Train the config read from stdin; the exit code (0, or that of the error, as the CLI's)."""
    from kuaicore.failures import SignalGuard, classify
    from kuaicore.training.runner import train

    cfg = config_from_json(json.loads(sys.stdin.read()))
    with SignalGuard() as guard:
        try:
            train(cfg)
        except BaseException as err:
            known = classify(err, guard.terminated)
            if known is None:
                raise
            print(f"error: {known[0]}", file=sys.stderr)
            return known[1]
    return 0


if __name__ == "__main__":
    sys.exit(main())
