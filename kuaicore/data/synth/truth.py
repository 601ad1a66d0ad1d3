"""The planted generative truth of the synthetic KuaiRec twin (pure NumPy, no I/O).

Every user u has a taste segment s(u) (one of 6; truth only, no feature column shows it), tastes over the
31 tags ``t_u`` and the first-level categories ``c_u`` (segment mean + own part), rank-8 latent factors
``x_u`` and an activity bias ``b_u``. Every video i has 1-4 tags with weights ``w_i`` (sum 1, the first tag
counts double), a first-level category ``k(i)``, a quality ``q_i``, latent factors ``y_i``, a duration
``d_i`` (ms, lognormal mixture, median ~9.6 s), a popularity ``log p_i = POP_Z z_i + POP_Q q_i/sd(q) - POP_D
(log d_i - log d0)`` (clipped around its median; new videos get NEW_BOOST) and a life in the feed
(``upload_day .. last_day``). How large each taste source is, and the weight lam of the length effect (1
except in the taste worlds), depend on the world (:mod:`kuaicore.data.synth.worlds`).

    affinity   a_ui = t_u . w_i + c_u[k(i)] + x_u . y_i
    body mean  m_ui = MU [+ FEED_MU in big] + b_u + q_i + a_ui - lam f(d_i) - (1 - lam) mean_j f(d_j),
               f(d) = BETA (log d - log d0) - BETA_SHORT max(log 6 s - log d, 0)
    skip prob  s_ui = sigmoid(G0 [+ FEED_SKIP in big] - G1 a_ui - G2 q_i - G3 hold_i)

(hold_i = standardised log p_i: the feed's popular videos hold attention). One view of (u, i): with prob
s_ui a quick skip, play = L ms with L ~ LogNormal(log 800, .6^2) (play = 0 with prob .03); otherwise
the body ratio r = c(exp(m_ui + sd e)), e ~ N(0,1), sd = SIGMA (small block) or hypot(SIGMA, FEED_SD) (big:
the feed's context adds noise), where c(x) = x up to 1 and x ** kappa above (a replay past the end is
rarer than watching to it; kappa = 1 - lam (1 - KAPPA)); with prob P_TAIL a rare long stay r *= 1 + 3
Lomax(alpha=1.6). Then the view loops with prob l_i = lam^LOOP_WORLD_POW LOOP_P sigmoid((LOG_LOOP - log
d_i) / LOOP_W) (clips under ~5.7 s autoplay again and again: r += 1 + Exp(LOOP_EXTRA) plays); a view that
does not loop is a partial watch with prob p = min(PART_MAX, K s_ui), r *= U(.1, .7) (K = PART_K in the
small block, FEED_PART_K in big: the feed's viewers leave early more often). play = round(r d_i) ms, r
capped at 600 and play at 999,639 ms (the real maximum; events this far out are ignored below). The
expected watch ratio of every small cell, written to truth.npz (small-block conditions, no feed terms):

    E[r_ui] = (1 - s_ui) [C(m_ui) (1 + P_TAIL 3/(alpha-1)) (l_i + (1 - l_i)(1 - p_ui + p_ui .4))
                          + l_i (1 + LOOP_EXTRA)] + s_ui .97 exp(log 800 + .18) / d_i,
    p_ui = min(PART_MAX, PART_K s_ui),   C(m) = E[c(exp(m + SIGMA e))] (lognormal partial means, closed form)

Constants are fitted so that the files match ``../shared/kuairec/REAL_STATS.md`` (see
:mod:`kuaicore.data.synth.fidelity` and BENCHMARKS.md "Fidelity of the synthetic twin"). Side information
carries signal only as the world says: tags and categories through t_u, c_u; quality through the (noisy)
engagement rates of item_daily_features; popularity through its counters and the log itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kuaicore.data.synth.catalogue import CUT_DAY, N_TAGS, durations, lifecycles, tags_and_weights
from kuaicore.data.synth.worlds import DEFAULT_WORLD, WORLDS, WorldSpec

N_CATEGORIES = 38  # first-level category ids 0..37; index 38 stands for the -124 (UNKNOWN) sentinel
UNKNOWN_CATEGORY = N_CATEGORIES
N_SEGMENTS = 6
RANK = 8

MU, BETA, LOG_D0 = -0.205, 0.85, float(np.log(9600.0))
BETA_SHORT, LOG_SHORT = 0.4, float(np.log(6000.0))  # videos under 6 s are looped: a steeper length effect
G0, G1, G2, G3 = -2.3, 0.6, 1.5, 1.3
FEED_SD = 0.25  # the feed's context noise on big_matrix views (real big is more dispersed than small)
FEED_MU = 0.045  # the feed's views are watched a little longer than the small block's (the block is harder)
FEED_SKIP = 1.3  # big_matrix views are skipped more than the small block's (real p25 0.315 vs 0.466)
SIGMA = 0.12
P_TAIL, TAIL_SCALE, TAIL_ALPHA = 0.028, 3.0, 1.6
# a replay past the end is rarer than watching to it: a body ratio above 1 becomes r ** KAPPA (real: 33.8%
# of rows >= 1 yet only ~1.4% >= 2 outside the shortest length decile)
KAPPA = 0.6
# clips under ~5.7 s loop (real: 62% of the shortest decile's rows >= 2): a view loops with prob LOOP_P
# sigmoid((LOG_LOOP - log d) / LOOP_W) and adds 1 + Exp(LOOP_EXTRA) plays (never a partial watch); the taste
# worlds scale it by lam ** LOOP_WORLD_POW so that their "watch_ratio > 2" stays mostly taste
LOOP_P, LOG_LOOP, LOOP_W, LOOP_EXTRA = 0.95, float(np.log(5700.0)), 0.03, 0.6
LOOP_WORLD_POW = 2.0
SKIP_LOG_MS, SKIP_SD, P_ZERO_PLAY = float(np.log(800.0)), 0.6, 0.03
FEED_PART_K = 2.2  # big_matrix views are also left early more often (real p25 0.315 vs the block's 0.466)
PART_K, PART_MAX, PART_LO, PART_HI = 0.7, 0.6, 0.1, 0.7  # partial watch, prob min(PART_MAX, PART_K s_ui):
# the body ratio times U(PART_LO, PART_HI) (viewers who tend to skip a video also tend to leave it early)
MAX_RATIO = 600.0
MAX_PLAY_MS = 999_639  # the real files' longest play_duration
POP_Z, POP_Q, POP_D = 1.6, 0.575, 0.0
POP_LO, POP_HI = 3.54, 5.6
NEW_BOOST = -0.2  # a new video's push in the feed (log popularity)


@dataclass(frozen=True)
class World:
    """All planted parameters; user and item arrays are indexed by dataset id (0..n-1)."""

    spec: WorldSpec
    segment: np.ndarray  # int64 [U] (truth only: no feature column shows it)
    taste_tag: np.ndarray  # float64 [U, 31]
    taste_cat: np.ndarray  # float64 [U, 39]
    user_factors: np.ndarray  # float64 [U, RANK]
    user_bias: np.ndarray  # float64 [U]
    tags: tuple[tuple[int, ...], ...]  # per item, first = primary
    tag_weights: np.ndarray  # float64 [I, 31]
    category: np.ndarray  # int64 [I] in 0..38
    quality: np.ndarray  # float64 [I]
    item_factors: np.ndarray  # float64 [I, RANK]
    duration_ms: np.ndarray  # int64 [I]
    log_popularity: np.ndarray  # float64 [I]
    upload_day: np.ndarray  # int64 [I], day index (0 = 2020-07-05; negative = before the log)
    last_day: np.ndarray  # int64 [I], last day the feed shows the video (N_DAYS - 1 = to the end)


def _rng(seed: int, stream: int, chunk: int = 0) -> np.random.Generator:
    return np.random.default_rng([seed, stream, chunk])


def make_world(n_users: int, n_items: int, seed: int, world: str = DEFAULT_WORLD) -> World:
    """Draw every planted parameter for ``n_users`` users and ``n_items`` videos (deterministic in seed)."""
    spec = WORLDS[world]
    rng = _rng(seed, 1)
    seg_p = np.array([0.3, 0.22, 0.18, 0.14, 0.1, 0.06])
    segment = rng.choice(N_SEGMENTS, size=n_users, p=seg_p).astype(np.int64)
    seg_tag = rng.normal(0.0, 0.92, (N_SEGMENTS, N_TAGS))
    seg_cat = rng.normal(0.0, 0.92, (N_SEGMENTS, N_CATEGORIES + 1))
    seg_bias = np.linspace(-0.12, 0.12, N_SEGMENTS)[rng.permutation(N_SEGMENTS)]
    taste_tag = spec.tag_sd * (seg_tag[segment] + rng.normal(0.0, 0.39, (n_users, N_TAGS)))
    taste_cat = spec.cat_sd * (seg_cat[segment] + rng.normal(0.0, 0.39, (n_users, N_CATEGORIES + 1)))
    factor_sd = (spec.factor_sd**2 / RANK) ** 0.25
    user_factors = rng.normal(0.0, factor_sd, (n_users, RANK))
    user_bias = seg_bias[segment] + rng.normal(0.0, 0.15, n_users)

    rng = _rng(seed, 2)
    tags, tag_weights = tags_and_weights(rng, n_items)
    primary = np.array([t[0] for t in tags])
    other_cat = rng.integers(0, N_CATEGORIES, n_items)
    category = np.where(rng.random(n_items) < 0.67, primary, other_cat)
    category = np.where(rng.random(n_items) < 0.004, UNKNOWN_CATEGORY, category).astype(np.int64)
    quality = rng.normal(0.0, spec.quality_sd, n_items)
    item_factors = rng.normal(0.0, factor_sd, (n_items, RANK))
    duration_ms = durations(rng, n_items)
    z = np.clip(rng.normal(0.0, 1.0, n_items), -3.5, 3.5)
    # the platform's feed pushes videos that hold attention: good and short ones are shown more
    log_popularity = POP_Z * z + POP_Q * quality / spec.quality_sd - POP_D * (np.log(duration_ms) - LOG_D0)
    mid = float(np.median(log_popularity))
    log_popularity = np.clip(log_popularity, mid - POP_LO, mid + POP_HI)
    upload_day, last_day = lifecycles(rng, n_items, z)
    log_popularity = np.where(upload_day >= CUT_DAY, log_popularity + NEW_BOOST, log_popularity)
    return World(
        spec,
        segment,
        taste_tag,
        taste_cat,
        user_factors,
        user_bias,
        tags,
        tag_weights,
        category,
        quality,
        item_factors,
        duration_ms,
        log_popularity,
        upload_day,
        last_day,
    )


def affinity(world: World, users: np.ndarray, items: np.ndarray | None = None) -> np.ndarray:
    """a_ui for a block of users x videos (all videos when ``items`` is None)."""
    items = np.arange(len(world.quality)) if items is None else items
    a = world.taste_tag[users] @ world.tag_weights[items].T
    a += world.taste_cat[users][:, world.category[items]]
    a += world.user_factors[users] @ world.item_factors[items].T
    return a


def length_term(log_d: np.ndarray) -> np.ndarray:
    """f(d) of the body mean given the log video length (ms): slope BETA, steeper below 6 s (looped clips)."""
    return BETA * (log_d - LOG_D0) - BETA_SHORT * np.maximum(LOG_SHORT - log_d, 0)


def _length_shift(world: World) -> float:
    """(1 - lam) times the mean length term over the catalogue: a weaker length effect (lam < 1) keeps the
    mean, so that the taste worlds keep the watch-ratio level of the calibrated ones."""
    weight = world.spec.length
    if weight == 1.0:
        return 0.0
    return (1.0 - weight) * float(np.mean(length_term(np.log(world.duration_ms.astype(np.float64)))))


def mean_and_skip(
    world: World, a: np.ndarray, users: np.ndarray, items: np.ndarray, feed: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """(m_ui, s_ui) given the affinity ``a`` and broadcastable user/video id arrays of the same shape;
    ``feed`` for a big_matrix view (scrolling the logged feed: the skip logit is FEED_SKIP higher)."""
    log_d = np.log(world.duration_ms[items].astype(np.float64))
    q = world.quality[items]
    lam = world.spec.length
    m = MU + FEED_MU * feed + world.user_bias[users] + q + a - lam * length_term(log_d)
    if lam != 1.0:
        m = m - _length_shift(world)
    lp = world.log_popularity
    hold = (lp[items] - np.median(lp)) / max(float(np.std(lp)), 1e-9)
    s = 1.0 / (1.0 + np.exp(-(G0 + FEED_SKIP * feed - G1 * a - G2 * q - G3 * hold)))
    return m, s


def body_mean_and_skip(
    world: World, users: np.ndarray, items: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(m_ui, s_ui) for a block of users x videos."""
    items = np.arange(len(world.quality)) if items is None else items
    return mean_and_skip(world, affinity(world, users, items), users[:, None], items[None, :])


def expected_watch_ratio(world: World, users: np.ndarray, items: np.ndarray | None = None) -> np.ndarray:
    """E[watch_ratio] for a block of users x videos under the full observation model (skips and tail)."""
    items = np.arange(len(world.quality)) if items is None else items
    m, s = body_mean_and_skip(world, users, items)
    tail = 1.0 + P_TAIL * TAIL_SCALE / (TAIL_ALPHA - 1.0)
    p_part = np.minimum(PART_MAX, PART_K * s)
    loop = loop_prob(world, items)[None, :]
    kept = loop + (1.0 - loop) * (1.0 - p_part + p_part * (PART_LO + PART_HI) / 2)
    body = _compressed_mean(m, SIGMA, replay_power(world)) * tail * kept + loop * (1.0 + LOOP_EXTRA)
    skip = (
        (1.0 - P_ZERO_PLAY)
        * np.exp(SKIP_LOG_MS + SKIP_SD**2 / 2)
        / world.duration_ms[items].astype(np.float64)
    )
    return (1.0 - s) * body + s * skip[None, :]


def loop_prob(world: World, items: np.ndarray) -> np.ndarray:
    """The probability that a (non-skipped) view of each video loops: LOOP_P under ~LOG_LOOP, scaled by
    LOOP_WORLD_POW-th power of the world's length weight lam (the taste worlds keep "watch_ratio > 2" mostly
    about taste)."""
    log_d = np.log(world.duration_ms[items].astype(np.float64))
    weight = world.spec.length**LOOP_WORLD_POW
    return weight * LOOP_P / (1.0 + np.exp(-(LOG_LOOP - log_d) / LOOP_W))


def replay_power(world: World) -> float:
    """kappa of the replay compression c(r) = r ** kappa above 1: KAPPA in the calibrated worlds, closer to 1
    (less compression) as the length weight lam falls (the taste worlds' ratios above 1 are taste)."""
    return 1.0 - world.spec.length * (1.0 - KAPPA)


def _compressed_mean(m: np.ndarray, sd: float, kappa: float) -> np.ndarray:
    """E[c(exp(X))], X ~ N(m, sd^2), c(r) = r for r <= 1 and r ** kappa above (lognormal partial means)."""
    from scipy.special import ndtr

    below = np.exp(m + sd**2 / 2) * ndtr(-(m + sd**2) / sd)
    above = np.exp(kappa * m + (kappa * sd) ** 2 / 2) * ndtr((m + kappa * sd**2) / sd)
    return below + above


def sample_play_ms(
    rng: np.random.Generator,
    world: World,
    m: np.ndarray,
    s: np.ndarray,
    items: np.ndarray,
    feed: bool = False,
) -> np.ndarray:
    """One observed play_duration (ms, int64) per view of video ``items``, given that view's m_ui and s_ui;
    a ``feed`` view (big_matrix) carries the feed's context noise too (sd FEED_SD on the log ratio)."""
    n = len(m)
    duration_ms = world.duration_ms[items]
    sd = np.hypot(SIGMA, FEED_SD) if feed else SIGMA
    r = np.exp(m + sd * rng.standard_normal(n))
    r = np.where(r > 1.0, r ** replay_power(world), r)
    tail = rng.random(n) < P_TAIL
    r[tail] *= 1.0 + TAIL_SCALE * rng.pareto(TAIL_ALPHA, int(tail.sum()))
    loops = rng.random(n) < loop_prob(world, items)
    part = ~loops & (rng.random(n) < np.minimum(PART_MAX, (FEED_PART_K if feed else PART_K) * s))
    r[part] *= rng.uniform(PART_LO, PART_HI, int(part.sum()))
    r[loops] += 1.0 + rng.exponential(LOOP_EXTRA, int(loops.sum()))
    r = np.minimum(r, MAX_RATIO)
    play = np.minimum(r * duration_ms, MAX_PLAY_MS)
    skipped = rng.random(n) < s
    skip_ms = np.exp(SKIP_LOG_MS + SKIP_SD * rng.standard_normal(n))
    skip_ms[rng.random(n) < P_ZERO_PLAY] = 0.0
    play = np.where(skipped, skip_ms, play)
    return np.round(play).astype(np.int64)
