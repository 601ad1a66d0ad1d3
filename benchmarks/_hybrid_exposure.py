"""Hybrid variants with exposure factors, as `compare` plugins (FILE.py:NAME) for bench_worlds.py.

    P=benchmarks/_hybrid_exposure.py
    python benchmarks/bench_worlds.py --keep /tmp/worlds --baseline hybrid \\
        --models hybrid,mf,$P:Implicit8,$P:Implicit16,$P:Implicit16Path

The built-in hybrid with exposure factors (kuaicore.models.exposure): ``Implicit8``/``Implicit16`` with 8/16
factors under the side penalty only (``implicit_reg=""``, hybrid's default); ``Implicit16Path`` also tries
a lighter exposure penalty (0.05) after the side path. Runs are named ``NAME-sSEED``
with the names below.
"""

from __future__ import annotations

from dataclasses import dataclass

from kuaicore.models.contract import Fitted, ModelData
from kuaicore.models.hybrid import HybridOptions, fit_art


@dataclass(frozen=True)
class Implicit8Options(HybridOptions):
    implicit: int = 8
    implicit_reg: str = ""


@dataclass(frozen=True)
class Implicit16Options(HybridOptions):
    implicit: int = 16
    implicit_reg: str = ""


@dataclass(frozen=True)
class Implicit16PathOptions(HybridOptions):
    implicit: int = 16
    implicit_reg: str = "0.05"


class Implicit8:
    name = "hybrid-implicit8"
    Options = Implicit8Options

    def fit(self, data: ModelData, options: HybridOptions) -> Fitted:
        return fit_art(data, options)


class Implicit16(Implicit8):
    name = "hybrid-implicit16"
    Options = Implicit16Options


class Implicit16Path(Implicit8):
    name = "hybrid-implicit16-path"
    Options = Implicit16PathOptions
