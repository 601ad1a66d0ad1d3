"""The worlds of the synthetic twin: where the planted taste lives (``kuaicore synth --world NAME``).

Every world keeps the calibrated statistics of the files (the spread of quality + affinity is about the same,
sd ~0.4 on the log watch-ratio scale, beside the video length's ~0.45 that every world shares), and moves the
planted signal between its sources:

- ``mixed`` (default): taste split between tags/categories, latent factors no feature shows, and quality.
- ``collaborative``: taste mostly in latent factors; only ids and co-occurrence reveal it (meant to favour
  id-based models; at 600 and 1,500 users they tie with the rest, BENCHMARKS.md "Models across worlds").
- ``content``: taste mostly in tags and first-level categories, which the user's history over them shows
  (feature models catch up; the two-tower, which sees them, leads).
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
    exposure: float  # how much the logging feed follows the user's affinity (log-weight per unit)
    purpose: str


WORLDS: dict[str, WorldSpec] = {
    w.name: w
    for w in (
        WorldSpec("mixed", 0.24, 0.176, 0.208, 0.176, 0.8, "taste in tags, categories and latent factors"),
        WorldSpec(
            "collaborative", 0.064, 0.048, 0.368, 0.176, 0.8, "taste in latent factors that no feature shows"
        ),
        WorldSpec("content", 0.288, 0.224, 0.056, 0.176, 0.8, "taste in tags and categories"),
        WorldSpec("popular", 0.064, 0.048, 0.048, 0.384, 0.8, "little personal taste: quality dominates"),
    )
}
DEFAULT_WORLD = WORLD_NAMES[0]
assert tuple(WORLDS) == WORLD_NAMES, "kuaicore.config.WORLDS names the worlds defined here, in this order"
