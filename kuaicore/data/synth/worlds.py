"""The worlds of the synthetic twin: where the planted taste lives (``kuaicore synth --world NAME``).

``mixed`` and ``popular`` keep every calibrated statistic of the files: there the video's length outweighs
taste (quality + affinity ~0.4 on the log watch-ratio scale): clips under ~6 s loop and carry ~80% of the
small block's "watch_ratio > 2", as the real length deciles imply, and popularity by mean watch ratio reaches
95-100% of the oracle. The taste worlds (``collaborative``, ``content``, ``mixed-taste``) weaken the length
effect (``length`` < 1; the loops by its square), plant more taste
and push the small block's videos less hard (``push`` 3 instead of 9.5: the other users then watch more of
the other videos, which links the block's users to its videos through the log). There the planted truth
ranks each user's videos far from popularity (popularity by the mean truth reaches ~0.5 of the oracle's
ndcg@10, ``tests/test_synth_worlds.py``). They keep the file sizes and most watch-ratio shares and trade away
the duration-dominated positive rate (README "synth", BENCHMARKS.md "Taste worlds"):

- ``mixed`` (default): taste split between tags/categories, latent factors no feature shows, and quality.
- ``collaborative``: taste mostly in latent factors; only ids and co-occurrence reveal it (id-based models).
- ``content``: taste mostly in tags and first-level categories, which the user's history over them shows.
- ``mixed-taste``: latent factors and tags together, weak quality (the independent checks' "mix" world).
- ``popular``: little personal taste; quality dominates, so popularity by mean watch ratio is near the oracle.

No world writes the taste segment or any other planted parameter into a feature column: user_features are
drawn independently of taste (only ``user_active_degree`` follows the number of rows, as in the real file).
"""

from __future__ import annotations

from dataclasses import dataclass

from kuaicore.config import WORLDS as WORLD_NAMES


@dataclass(frozen=True)
class WorldSpec:
    """How strongly each planted source drives the watch ratio (standard deviations, log scale)."""

    name: str
    tag_sd: float  # sd of the user's taste over tags (segment part + own part)
    cat_sd: float  # sd of the user's taste over first-level categories
    factor_sd: float  # sd of the latent-factor product x_u . y_i
    quality_sd: float  # sd of the video quality q_i
    length: float  # weight of the video-length effect (1 = calibrated to the real files' duration effect)
    exposure: float  # how much the logging feed follows the user's affinity (log-weight per unit)
    push: float  # how hard the feed pushes the small block's videos to the other users (log-weight)
    purpose: str


_CALIBRATED_PUSH, _TASTE_PUSH = 9.5, 3.0
WORLDS: dict[str, WorldSpec] = {
    w.name: w
    for w in (
        # name, tag_sd, cat_sd, factor_sd, quality_sd, length, exposure, push, purpose
        WorldSpec(
            "mixed", 0.24, 0.176, 0.208, 0.176, 1.0, 0.8, _CALIBRATED_PUSH, "tags, categories, factors"
        ),
        WorldSpec("collaborative", 0.064, 0.048, 0.5, 0.176, 0.4, 0.8, _TASTE_PUSH, "latent factors only"),
        WorldSpec("content", 0.432, 0.336, 0.056, 0.176, 0.3, 0.8, _TASTE_PUSH, "tags and categories"),
        WorldSpec("mixed-taste", 0.3, 0.2, 0.4, 0.12, 0.5, 0.8, _TASTE_PUSH, "latent factors and tags"),
        WorldSpec("popular", 0.064, 0.048, 0.048, 0.384, 1.0, 0.8, _CALIBRATED_PUSH, "quality dominates"),
    )
}
DEFAULT_WORLD = WORLD_NAMES[0]
assert tuple(WORLDS) == WORLD_NAMES, "kuaicore.config.WORLDS names the worlds defined here, in this order"
