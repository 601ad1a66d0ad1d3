"""Multi-host readiness: the train step under jax.distributed with two CPU processes on localhost (each
feeding its half of every global batch, gradients all-reduced by XLA over Gloo) gives the same parameters
as one process with two devices and the same global batches."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np

WORKER = Path(__file__).with_name("multihost_worker.py")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("localhost", 0))
        return sock.getsockname()[1]


def _run(args: list[str]) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", "JAX_PLATFORMS")}
    return subprocess.Popen([sys.executable, "-W", "error", str(WORKER), *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip


def test_two_processes_equal_one(tmp_path):
    port = str(_free_port())
    procs = [_run(["single", str(tmp_path / "single.npz")])]
    procs += [_run(["multi", str(tmp_path / "multi.npz"), str(pid), port]) for pid in (0, 1)]
    for proc in procs:
        _, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err[-3000:]
    with np.load(tmp_path / "single.npz") as one, np.load(tmp_path / "multi.npz") as two:
        assert sorted(one.files) == sorted(two.files) and len(one.files) > 4
        assert float(one["acc"][2]) == 3.0  # three steps were counted
        for key in one.files:
            np.testing.assert_allclose(one[key], two[key], rtol=1e-5, atol=1e-6, err_msg=key)
