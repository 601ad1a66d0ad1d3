"""The model contract: what a model's ``fit`` receives (:class:`ModelData`) and returns (:class:`Fitted`).

Every model that is not trained by the JAX loop, built in or a user's own file, is an object with

- ``fit(data: ModelData, options) -> Fitted`` (required), and
- ``Options``: a frozen dataclass of its ``--option key=value`` settings (optional; none when absent).

``ModelData`` opens the ART lazily: a model reads only what it asks for (the training interactions as a CSR
matrix, the feature matrices, the rows of a split as arrays). ``Fitted`` holds what the run writer turns into
``runs/NAME/`` (docs/ARTIFACTS.md): user and item embeddings whose dot product ranks as the model does, or --
the ``score_pairs`` capability -- a function scoring (user_idx, item_idx) pairs, for a model that cannot be
written as a dot product (then only the small-matrix protocol can evaluate it); optionally a watch-ratio
predictor (``eval_pred.npy``, for MAE/RMSE), parameters, a training log and an info dict for config.json.
A model of the JAX loop states the same capability in its Objective (kuaicore.training.objective: id-mlp).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from kuaicore.config import TrainConfig
from kuaicore.progress import log

PairFunction = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Fitted:
    """A trained model, as ``fit`` returns it: embeddings or a pair scorer (at least one of the two)."""

    user_emb: np.ndarray | None = None  # float32 [n_users, d], row = user_idx
    item_emb: np.ndarray | None = None  # float32 [n_items, d], row = item_idx
    score_pairs: PairFunction | None = None  # (user_idx, item_idx) -> score; when no embeddings
    predict_watch_ratio: PairFunction | None = None  # (user_idx, item_idx) -> predicted capped watch ratio
    info: dict[str, Any] = field(default_factory=dict)  # recorded in config.json under "info"
    params: dict[str, np.ndarray] | None = None  # written as params.npz
    log: list[dict[str, Any]] | None = None  # rows of train_log.jsonl [default: one row]
    # the embeddings of the fit that validation chose, where the run's own were refitted on the training and
    # validation rows together (the hybrid's ``refit``): a test on held-out training rows (evaluate
    # --protocol valid, tune's scores) ranks with these, which never saw them
    heldout_user_emb: np.ndarray | None = None
    heldout_item_emb: np.ndarray | None = None
    # other fits that the model's validation scored in its last step (the hybrid's fits with and without its
    # taste groups), not written to the run: a model that combines this one (blend) may choose among them
    # by its own validation, since the fit that ranks best alone is not always the best complement
    alternatives: tuple[Fitted, ...] = ()

    @property
    def has_embeddings(self) -> bool:
        return self.user_emb is not None and self.item_emb is not None

    def heldout(self) -> tuple[np.ndarray | None, np.ndarray | None]:
        """The embeddings that never saw the validation rows: ``heldout_*_emb`` where the fit was refitted on
        them, else its own (as :meth:`kuaicore.runs.RunOutputs.heldout` reads them back from a run)."""
        if self.heldout_user_emb is not None and self.heldout_item_emb is not None:
            return self.heldout_user_emb, self.heldout_item_emb
        return self.user_emb, self.item_emb


class ModelData:
    """What ``fit`` receives: the ART folder opened lazily, and the run's training configuration.

    Attributes load on first use: ``folder`` (the typed ART: kuaicore.art.open_art), ``manifest``,
    ``interactions`` (training rows as a CSR user x item matrix of summed capped watch ratios,
    :class:`kuaicore.models.interactions.Interactions`), ``interactions_with_valid`` (the training and
    validation rows together, for a refit after validation), ``features``
    (:class:`kuaicore.models.interactions.FeatureSet`). ``rows(split, columns)`` reads a split's columns as
    NumPy arrays; ``eval_pairs()`` the (user_idx, item_idx) of every eval.parquet row; ``validation`` the
    validation split as the evaluation protocol scores it.
    """

    def __init__(self, config: TrainConfig) -> None:
        self.config = config
        self.art = Path(config.art)
        self.seed = config.seed
        self.log = log

    @cached_property
    def folder(self) -> Any:
        """The ART as :class:`kuaicore.art.Art` (typed loaders: features, raw features, id maps, rows)."""
        from kuaicore.art import open_art

        return open_art(self.art)

    @property
    def manifest(self) -> dict[str, Any]:
        return self.folder.manifest

    @property
    def n_users(self) -> int:
        return self.folder.n_users

    @property
    def n_items(self) -> int:
        return self.folder.n_items

    @cached_property
    def interactions(self) -> Any:
        from kuaicore.models.interactions import load_interactions

        return load_interactions(self.art)

    @cached_property
    def interactions_with_valid(self) -> Any:
        """The training and the validation rows together, as ``interactions`` holds the training rows: what
        a model refitted after validation has chosen its settings trains on."""
        from kuaicore.models.interactions import load_interactions

        return load_interactions(self.art, ("train", "valid"))

    @cached_property
    def features(self) -> Any:
        from kuaicore.models.interactions import load_features

        return load_features(self.art)

    def rows(
        self, split: str = "train", columns: tuple[str, ...] = ("user_idx", "item_idx", "target")
    ) -> dict[str, np.ndarray]:
        """``columns`` of ``ART/{split}.parquet`` (train, valid or eval) as NumPy arrays."""
        return self.folder.rows(split, columns)

    def eval_pairs(self) -> tuple[np.ndarray, np.ndarray]:
        from kuaicore.art import eval_pairs

        return eval_pairs(self.art)

    @cached_property
    def validation(self) -> Any:
        """valid.parquet as :class:`kuaicore.protocol.Validation` (each user's held-out rows, the ART's like
        rule, ndcg@10): what a fit scores its alternatives on. None when the split holds no row."""
        from kuaicore.art import valid_candidates
        from kuaicore.protocol import VALID_K, Validation

        cands = valid_candidates(self.art)
        threshold = float(self.manifest.get("like_threshold", 2.0))
        return Validation(cands, threshold, VALID_K) if cands.users.size else None
