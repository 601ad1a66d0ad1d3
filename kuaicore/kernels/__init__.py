"""Numba kernels for recommendation and evaluation: arrays in, arrays out, no I/O.

- ``topk``: full-catalog top-K by embedding dot product (``topk_scores``) and per-user candidate ranking
  (``rank_candidates``, ``rank_scored_candidates``).
- ``metrics``: precision, recall, ndcg (binary, graded), map, mrr, hit_rate at many K in one pass.
- ``regression``: MAE/RMSE and thresholded accuracy/precision/recall of predicted watch ratio.
- ``catalog``: coverage and mean popularity of recommendation lists.
- ``bootstrap``: seeded percentile-bootstrap confidence intervals over users.

Import the submodules directly (``from kuaicore.kernels.topk import topk_scores``); this package stays
empty so that importing it does not pull in Numba.
"""
