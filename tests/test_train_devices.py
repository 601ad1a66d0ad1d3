"""Data-parallel training: the same run on 1 and on 2 (fake CPU) devices gives the same loss curve and
parameters within float tolerance. Each run is a subprocess, since XLA_FLAGS is read once per process."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
from fake_art import write_fake_art


def test_one_and_two_devices_agree(tmp_path):
    art = write_fake_art(tmp_path / "ART")
    procs = {}
    for n in (1, 2):
        flags = f"--xla_force_host_platform_device_count={n}"
        env = {**os.environ, "XLA_FLAGS": flags, "JAX_PLATFORMS": "cpu"}
        cmd = [
            sys.executable,
            "-W",
            "error",
            "-m",
            "kuaicore.cli",
            "train",
            str(art),
            "--loss",
            "mse",
            "--epochs",
            "2",
            "--batch-size",
            "64",
            "--dims",
            "16,8",
            "--run",
            f"dev{n}",
        ]
        procs[n] = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for n, proc in procs.items():
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        assert f"devices: {n} x cpu" in err
    logs = [
        [json.loads(x) for x in (art / f"runs/dev{n}/train_log.jsonl").read_text().splitlines()]
        for n in (1, 2)
    ]
    for one, two in zip(*logs, strict=True):
        np.testing.assert_allclose(one["loss"], two["loss"], rtol=1e-5)
        np.testing.assert_allclose(one["valid_loss"], two["valid_loss"], rtol=1e-5)
    with np.load(art / "runs/dev1/params.npz") as p1, np.load(art / "runs/dev2/params.npz") as p2:
        for key in p1.files:
            np.testing.assert_allclose(p1[key], p2[key], atol=1e-5, err_msg=key)


def test_configure_cpu_devices(monkeypatch):
    from kuaicore.training.devices import configure_cpu_devices

    assert configure_cpu_devices() is None  # jax is already imported in this process: leave XLA_FLAGS alone
    monkeypatch.delitem(sys.modules, "jax")
    monkeypatch.setenv("XLA_FLAGS", "--xla_force_host_platform_device_count=3")
    assert configure_cpu_devices() is None  # the user's own choice wins
    monkeypatch.setenv("XLA_FLAGS", "--xla_dump_to=/tmp/x")
    monkeypatch.setenv("KUAICORE_CPU_DEVICES", "4")
    assert configure_cpu_devices() == 4
    assert os.environ["XLA_FLAGS"] == "--xla_dump_to=/tmp/x --xla_force_host_platform_device_count=4"
    monkeypatch.delenv("XLA_FLAGS")
    monkeypatch.setenv("KUAICORE_CPU_DEVICES", "1")
    assert configure_cpu_devices() is None and "XLA_FLAGS" not in os.environ
