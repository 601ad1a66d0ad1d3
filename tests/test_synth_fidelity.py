"""The twin's scale-free statistics match the real files' (REAL_STATS.md) at a reduced size, with the
tolerances of kuaicore.data.synth.fidelity; the full-scale table lives in BENCHMARKS.md."""

from __future__ import annotations

import math

import pytest

from kuaicore.data.synth import resolve_sizes, write_files
from kuaicore.data.synth.fidelity import TOLERANCE, Stat, measure

# Scale-free by definition, yet missed at full scale too (BENCHMARKS.md "Fidelity of the synthetic twin"
# lists them): none since the third calibration (the length deciles now hold, see NOW_HELD).
KNOWN_MISSES: set[str] = set()
# Within tolerance at full scale but shifted at this size (the exposure mix and the small block, 300 x 700
# here, depend on the catalogue size): asserted within 3x their tolerance.
LOOSER_BELOW_FULL_SIZE = {
    "share watch_ratio >= 2",
    "small: watch_ratio p99",
    "length-bucket label in small: highest bucket rate",
}
# Missed (or held only loosely) at this size before the twin's second calibration, asserted at 1x tolerance
# since: the per-video shape (small users lighter in big) and the small block's length-bucket positives;
# since the third: the length deciles' extremes (short clips loop, replays past the end are compressed).
NOW_HELD = {
    "rows per video (dedup): mean / p50",
    "length-bucket label: positives in small",
    "watch_ratio >= 2 in the shortest length decile",
    "watch_ratio >= 2 in the longest length decile",
}


@pytest.fixture(scope="module")
def stats(tmp_path_factory) -> list[Stat]:
    """The `small` scale (1,500 users x 2,500 videos, 600k big rows: the real rows per user / catalogue)."""
    folder = tmp_path_factory.mktemp("fidelity")
    write_files(folder, resolve_sizes("small"), seed=0)
    return measure(folder, threads=2, memory_limit="1GB")


def test_every_statistic_is_measured(stats):
    assert len(stats) >= 60
    assert all(not math.isnan(s.twin) for s in stats), [s.name for s in stats if math.isnan(s.twin)]
    assert {s.name for s in stats if s.scale_free} >= KNOWN_MISSES | LOOSER_BELOW_FULL_SIZE | NOW_HELD


def test_scale_free_statistics_within_tolerance(stats):
    misses = [
        f"{s.name}: twin {s.twin:.4g} vs real {s.real:.4g} ({s.kind})"
        for s in stats
        if s.scale_free and s.name not in KNOWN_MISSES | LOOSER_BELOW_FULL_SIZE and not s.ok
    ]
    assert not misses, "\n".join(misses)
    for s in stats:
        if s.name in LOOSER_BELOW_FULL_SIZE:
            assert abs(s.twin - s.real) <= 3 * TOLERANCE[s.kind] * abs(s.real), s


def test_verdicts_hand_checked():
    assert Stat("a", 0.10, 0.109, "share", True).ok and not Stat("a", 0.10, 0.111, "share", True).ok
    assert Stat("b", 100, 124, "tail", True).ok and not Stat("b", 100, 126, "tail", True).ok
    assert Stat("c", 1, 1, "order", True).ok and not Stat("c", 1, 0, "order", True).ok
