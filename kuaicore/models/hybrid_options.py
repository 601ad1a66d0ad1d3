"""The hybrid model's options (``--option key=value``), side-column selection and validation candidates.

Kept apart from :mod:`kuaicore.models.hybrid` (the fit) so that each module has one job; the hybrid module
re-exports these names.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kuaicore.errors import UsageError
from kuaicore.models.interactions import columns_with_prefix
from kuaicore.models.mf import RANKS, REGS, TARGETS, factor_penalties, smaller_ranks
from kuaicore.options import number_list
from kuaicore.protocol import Validation

__all__ = ["INITS", "HybridOptions", "Validation", "side_columns"]


@dataclass(frozen=True)
class HybridOptions:
    """Options of the hybrid model (``--option key=value``).

    ``reg``: the factors' penalty, or several (comma-separated, weakest first: zero factors are a fixed point
    of the alternation, so a path cannot recover from a penalty that collapsed them): the side path runs at
    the first, then each next one is fitted from the best fit so far for ``path_iterations`` and kept where
    validation scores better; the path stops at the first that scores worse than the best so far. The right
    strength depends on how much signal the ratings carry (a penalty past it shrinks the factors to nothing):
    on the twin's taste worlds 0.02-0.03 scores +0.03 to +0.09 ndcg@10 on valid over 0.05, while 0.05 is best
    where taste is weak (BENCHMARKS.md "Choosing the factor penalty on valid").
    ``ranks``: smaller numbers of factors to try last (validation only; "" for none), each from the best
    fit so far with its factor product truncated to that rank (side weights and biases kept), for
    ``path_iterations``; kept where validation scores better (as ``mf``'s ``ranks``).
    ``side_reg``: one penalty for the side weights, or several (comma-separated, strongest first): each is
    fitted in turn, warm-started from the previous one for ``path_iterations`` more iterations, and the one
    whose embeddings score best on the validation split is kept (without validation candidates: the last).
    ``item_side``/``user_side``: feature-name prefixes (comma-separated) of the side columns; "" for none.
    ``relax``: over-relaxation of the item step (1 = plain ALS; > 1 extrapolates each step, which the slow
    shrinkage directions of ALS need; switched off for good the first time the ridge objective rises).
    ``implicit``: factors of an implicit ALS of the exposure pattern (which videos each user was shown;
    :mod:`kuaicore.models.exposure`) appended to both sides' side columns; 0: none. On the side path they
    share the side penalty; then each penalty of ``implicit_reg`` (comma-separated; "" for none) is fitted
    for ``path_iterations`` from the best fit so far, and kept where it scores better on validation. Both
    off by default (BENCHMARKS.md "Exposure factors"): on the twin they tie on valid, and a light exposure
    penalty that valid prefers (0.05) ranks the unbiased evaluation block far worse: valid rows were shown
    by the same feed, so "was shown" looks like taste there.
    ``ensemble``: after the last stage, the mean prediction of the 2, 3, ... ``ensemble`` fits of the path
    that validation scores best (their embeddings concatenated, each scaled by 1/sqrt(m)) is scored too and
    kept where it scores better than every single fit (validation only; 1: off). Off by default (BENCHMARKS.md
    "The mean of the best fits"): on the twin's 15 world/seed ARTs it ties on valid (+0.0005, within what
    choosing on valid adds by itself) and does not carry to the evaluation block (-0.002).
    ``neighbours``: weights of the item-neighbourhood term (:mod:`kuaicore.models.neighbours`: each user's
    deviations from the baseline on the videos they rated, averaged over each video's most similar ones,
    as ``neighbour_rank`` embedding columns) to try after the last stage, each scored on valid and kept
    where it scores better than the fit without it (validation only; "" for none). On the twin's taste
    worlds valid keeps a weight of 0.5-1.5 and the evaluation block gains +0.01 ndcg@10 (BENCHMARKS.md
    "The neighbourhood term"). ``neighbour_shrink``: a similarity seen on ``c`` common users is scaled by
    ``c / (c + neighbour_shrink)``. ``neighbour_size_limit``: skip the term (with a log line) above
    kuaicore.models.neighbours' budget (MAX_CELLS, MAX_WORK: the real files' size is above it; the exact
    term costs ``4 x users x videos^2`` multiply-adds); false: compute it at any size.
    ``clusters``: numbers of taste groups to try after the last stage (:mod:`kuaicore.models.user_clusters`:
    k-means of the users' penalty-scaled coefficients, each user's ridge then shrunk toward their group's
    centre instead of zero, for ``cluster_rounds`` rounds, the videos fixed), each scored on valid and kept
    where it scores better than the fit without it (validation only; "" for none). Where taste follows
    tags in groups of users, valid keeps it and the evaluation block gains; elsewhere valid declines it
    (BENCHMARKS.md "What the ratings allow, and taste groups").
    ``covariance_groups``: numbers of taste groups (1: the whole population) to try the same way with a
    full penalty matrix: the inverse of the users' covariance within their groups
    (kuaicore.models.user_clusters.prior_precision), shrunk toward the identity by ``covariance_shrink`` and
    scaled to a mean penalty of ``covariance_strength`` times the plain ridge's; scored on valid beside the
    groups and kept where better ("" for none). Users who like one tag tend to like certain others: the
    covariance lets a user's ratings inform the tags and factors they did not rate (BENCHMARKS.md "The
    users' covariance as a prior").
    ``mixture_groups``: numbers of taste groups to try as a mixture fitted by EM
    (kuaicore.models.user_clusters.taste_mixture, ``mixture_rounds`` rounds): each user placed in the
    groups, softly, by how well each group's prior (its centre, the shared covariance penalty above)
    explains the user's own ratings, instead of by k-means of the noisy fitted coefficients; scored on
    valid beside the groups and kept where better ("" for none). On the twin valid keeps it where users'
    tastes come in segments mixed with latent taste (``mixed-taste``, ``collaborative``) and the block
    gains +0.01-0.02 of the oracle; it declines it elsewhere (BENCHMARKS.md "A taste mixture fitted by EM").
    ``mixture_power``: how the weight of the mixture's prior grows with a user's number of ratings ``n_u``,
    as ``n_u^power`` (scaled to equal ``n_u`` at the users' mean count; kuaicore.models.user_clusters.
    prior_weights); each power (comma-separated, in [0, 1]) is fitted for every number of groups and kept
    where validation scores it better. 1 is weighted-lambda, where the prior is a fixed share of every
    user's data; below it a user with few ratings leans on their group more and one with many on their own
    ratings, as a Bayesian prior of fixed precision (0) would. Which suits depends on how many ratings the
    users have against how far their tastes stray from their group's: on the twin at 1,500 users valid
    chooses 0.5 in ``mixed-taste`` (block +0.009 of the oracle) and 1 elsewhere (BENCHMARKS.md "The
    mixture's prior weighed by the square root of the user's ratings").
    ``refit``: once validation has chosen every setting above, the chosen fit is fitted again on the
    training and validation rows together, from its own parameters for ``path_iterations`` (then its taste
    groups and neighbourhood term; kuaicore.models.hybrid.refit; the run keeps the chosen fit's embeddings
    for tests on the validation rows). The validation rows are each user's most recent tenth,
    with the first rows of late videos. Chosen by validation one level down (each twin ART's training rows
    split again by time, the original valid rows the test): the default +0.016 ndcg@10 over 24 ARTs, the
    hybrid alone +0.032; the block +0.002 / +0.005 (BENCHMARKS.md "Refitted on train + valid"). false: the
    run is the fit on the training rows.
    ``tol``: a stage stops early once an iteration moves the parameters by less than ``tol`` of their norm
    (0: never). Not the training error, which flattens long before the ranking of unseen pairs does: on sparse
    data (600 users) the parameters still move 0.4% an iteration at 40 and every iteration counts; at full
    scale they settle in ~20, so the default costs half as much there.
    """

    factors: int = 16
    iterations: int = 40
    path_iterations: int = 15
    reg: str = REGS
    ranks: str = RANKS
    side_reg: str = "8,2,0.5"
    bias_reg: float = 0.01
    item_side: str = "tag_,duration_ms"
    user_side: str = ""
    implicit: int = 0
    implicit_reg: str = ""
    ensemble: int = 1
    clusters: str = "6,12"
    cluster_rounds: int = 3
    covariance_groups: str = "1,6"
    covariance_shrink: float = 0.3
    covariance_strength: float = 4.0
    mixture_groups: str = "8,12"
    mixture_rounds: int = 6
    mixture_power: str = "1,0.5"
    neighbours: str = "0.25,0.5,1,1.5,2,3"
    neighbour_rank: int = 32
    neighbour_shrink: float = 100.0
    neighbour_size_limit: bool = True
    target: str = "log"
    relax: float = 1.5
    tol: float = 0.002
    init: str = "svd"
    init_scale: float = 0.1
    refit: bool = True
    seed: int = 0

    def __post_init__(self) -> None:
        if self.target not in TARGETS:
            raise UsageError(f"--option target={self.target}: not one of {', '.join(TARGETS)}")
        if self.init not in INITS:
            raise UsageError(f"--option init={self.init}: not one of {', '.join(INITS)}")
        lows = (
            ("factors", 0), ("iterations", 1), ("path_iterations", 1), ("implicit", 0), ("ensemble", 1),
            ("neighbour_rank", 1), ("cluster_rounds", 1), ("mixture_rounds", 1),
        )  # fmt: skip
        for name, low in lows:
            if getattr(self, name) < low:
                raise UsageError(f"--option {name}: must be >= {low}, got {getattr(self, name)}")
        for name in ("bias_reg", "init_scale", "relax", "tol", "neighbour_shrink"):
            value = getattr(self, name)
            if not (value >= 0 and np.isfinite(value)):
                raise UsageError(f"--option {name}: must be a finite number >= 0, got {value}")
        if not 0.0 < self.covariance_shrink <= 1.0:
            raise UsageError(f"--option covariance_shrink: must be in (0, 1], got {self.covariance_shrink}")
        if not (self.covariance_strength > 0 and np.isfinite(self.covariance_strength)):
            raise UsageError(
                f"--option covariance_strength: must be a finite number > 0, got {self.covariance_strength}"
            )
        if not self.bias_reg > 0:
            raise UsageError(f"--option bias_reg: must be > 0, got {self.bias_reg}")
        if not 1.0 <= self.relax < 2.0:
            raise UsageError(f"--option relax: must be in [1, 2), got {self.relax}")
        self.regs()
        self.ranks_to_try()
        self.side_regs()
        self.implicit_regs()
        self.neighbour_weights()
        self.cluster_counts()
        self.covariance_counts()
        self.mixture_counts()
        self.mixture_powers()

    def regs(self) -> tuple[float, ...]:
        """The factor penalties to fit, in order (each finite and > 0)."""
        return factor_penalties(self.reg)

    def ranks_to_try(self) -> tuple[int, ...]:
        """The smaller ranks to try after the penalty paths, largest first."""
        return smaller_ranks(self.ranks, self.factors)

    def side_regs(self) -> tuple[float, ...]:
        """The side penalties to fit, in order (each finite and > 0)."""
        values = _penalties(self.side_reg)
        if not values:
            raise UsageError(
                f"--option side_reg={self.side_reg}: expected numbers > 0, comma-separated (e.g. 8,2,0.5)"
            )
        return values

    def implicit_regs(self) -> tuple[float, ...]:
        """The exposure penalties to try after the side path (each finite and > 0; may be none)."""
        return _optional_positives("implicit_reg", self.implicit_reg)

    def cluster_counts(self) -> tuple[int, ...]:
        """The numbers of taste groups to try (whole numbers >= 2; may be none)."""
        return _group_counts("clusters", self.clusters, 2)

    def covariance_counts(self) -> tuple[int, ...]:
        """The numbers of taste groups to try with their covariance as the penalty (whole numbers >= 1; may be
        none)."""
        return _group_counts("covariance_groups", self.covariance_groups, 1)

    def mixture_counts(self) -> tuple[int, ...]:
        """The numbers of groups of the taste mixture to try (whole numbers >= 2; may be none)."""
        return _group_counts("mixture_groups", self.mixture_groups, 2)

    def mixture_powers(self) -> tuple[float, ...]:
        """The powers of the mixture prior's weight to try, in order (each in [0, 1]; at least one)."""
        values = number_list(self.mixture_power, lambda v: 0.0 <= v <= 1.0)
        if not values:
            raise UsageError(
                f"--option mixture_power={self.mixture_power}: expected numbers in [0, 1], comma-separated"
                " (e.g. 1,0.5)"
            )
        return tuple(float(v) for v in values)

    def neighbour_weights(self) -> tuple[float, ...]:
        """The weights of the neighbourhood term to try (each finite and > 0; may be none)."""
        return _optional_positives("neighbours", self.neighbours)


def _group_counts(name: str, text: str, low: int) -> tuple[int, ...]:
    """``--option name=text``: comma-separated whole numbers >= ``low``, or empty; UsageError naming it."""
    values = number_list(text, lambda v: v >= low and float(v).is_integer())
    if values is None:
        raise UsageError(
            f"--option {name}={text}: expected whole numbers >= {low}, comma-separated, or empty"
        )
    return tuple(int(v) for v in values)


def _optional_positives(name: str, text: str) -> tuple[float, ...]:
    """``--option NAME=TEXT``: comma-separated numbers, each finite and > 0, or none at all; UsageError naming
    the option otherwise."""
    values = _penalties(text)
    if values is None:
        raise UsageError(f"--option {name}={text}: expected numbers > 0, comma-separated, or empty")
    return values


def _penalties(text: str) -> tuple[float, ...] | None:
    """Comma-separated penalties (each finite and > 0); None when one is not."""
    return number_list(text, lambda v: bool(np.isfinite(v)) and v > 0)


INITS = ("svd", "random")


def side_columns(names: list[str], spec: str) -> np.ndarray:
    """Indices of the feature ``names`` that start with one of the comma-separated prefixes of ``spec``."""
    prefixes = tuple(p.strip() for p in spec.split(",") if p.strip())
    return columns_with_prefix(names, prefixes) if prefixes else np.zeros(0, dtype=np.int64)
