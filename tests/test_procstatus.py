"""procstatus.status_kib: one field of /proc/PID/status, None where it cannot be read."""

from __future__ import annotations

import os
import sys

import pytest

from kuaicore.procstatus import status_kib


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="no /proc on this platform")
def test_reads_this_process_peak_and_current_rss():
    block = bytearray(64 << 20)  # touch 64 MiB so that both fields are well above it
    block[::4096] = b"x" * len(block[::4096])
    rss = status_kib("VmRSS")
    hwm = status_kib("VmHWM")  # read second: the peak so far is at least the earlier current size
    assert hwm is not None and rss is not None
    assert hwm >= rss >= 64 << 10
    assert status_kib("VmHWM", os.getpid()) >= hwm


def test_missing_field_or_process_is_none():
    assert status_kib("NoSuchField") is None
    assert status_kib("VmHWM", 2**31 - 1) is None  # no such pid
    assert sys.platform.startswith("linux") or status_kib("VmHWM") is None
