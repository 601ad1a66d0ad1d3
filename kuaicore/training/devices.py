"""Split the CPU into one XLA device per core (up to 8) before JAX starts, so data-parallel training uses
every core on a machine without an accelerator.

XLA's CPU backend is one device by default, and its intra-op threading keeps only about one core busy on the
two-tower's small matmuls; with one device per core the sharded step runs the shards in parallel (2 cores:
~200k -> ~350k samples/s, bench_train.py). The flag only affects the CPU platform; GPUs are unchanged. It is
set only when JAX has not been imported yet and XLA_FLAGS does not already choose a device count;
``KUAICORE_CPU_DEVICES=N`` overrides the count (1 turns the split off). No JAX import here.
"""

from __future__ import annotations

import os
import sys

_FLAG = "--xla_force_host_platform_device_count"


def configure_cpu_devices(max_devices: int = 8) -> int | None:
    """Set XLA_FLAGS for one CPU device per core; returns the count set, or None when left alone."""
    if "jax" in sys.modules or _FLAG in os.environ.get("XLA_FLAGS", ""):
        return None
    wanted = os.environ.get("KUAICORE_CPU_DEVICES")
    try:
        n = int(wanted) if wanted else min(os.cpu_count() or 1, max_devices)
    except ValueError:
        return None
    if n <= 1:
        return None
    os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {_FLAG}={n}".strip()
    return n
