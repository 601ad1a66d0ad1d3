"""Hybrid variants with exposure factors, as `compare` plugins (FILE.py:NAME) for bench_worlds.py.

    python benchmarks/bench_worlds.py --keep /tmp/worlds \
        --models hybrid,mf,benchmarks/_hybrid_exposure.py:Implicit8,benchmarks/_hybrid_exposure.py:Implicit16

Each is the built-in hybrid with ``--option implicit=K`` as its default (kuaicore.models.exposure); its runs
are named ``hybrid-implicitK-sSEED``.
"""

from __future__ import annotations

from dataclasses import dataclass

from kuaicore.models.contract import Fitted, ModelData
from kuaicore.models.hybrid import HybridOptions, fit_art


@dataclass(frozen=True)
class Implicit8Options(HybridOptions):
    implicit: int = 8


@dataclass(frozen=True)
class Implicit16Options(HybridOptions):
    implicit: int = 16


class Implicit8:
    name = "hybrid-implicit8"
    Options = Implicit8Options

    def fit(self, data: ModelData, options: HybridOptions) -> Fitted:
        return fit_art(data, options)


class Implicit16(Implicit8):
    name = "hybrid-implicit16"
    Options = Implicit16Options
