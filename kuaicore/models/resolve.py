"""Resolve ``--model NAME`` to a :class:`Model`: a registry entry (kuaicore.models.registry) or a user's own.

A user's model is ``path/to/file.py:Name`` or ``package.module:Name``: an object (or a class, instantiated
without arguments) with ``fit(data, options) -> Fitted`` (kuaicore.models.contract) and optionally ``Options``
(a frozen dataclass of its ``--option key=value`` settings) and ``name`` (its run-name prefix; default: Name).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from kuaicore.errors import UsageError
from kuaicore.models.registry import MODELS, is_plugin


def load_attribute(ref: str) -> Any:
    """The object ``module:attr`` or ``path/to/file.py:attr`` names; UsageError naming what is missing."""
    target, _, attr = ref.rpartition(":")
    if not target or not attr:
        raise UsageError(f"--model {ref!r}: expected NAME, FILE.py:NAME or MODULE:NAME")
    if target.endswith(".py") or "/" in target or "\\" in target:
        path = Path(target).expanduser()
        if not path.is_file():
            raise UsageError(f"--model {ref}: no such file {path}")
        digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]
        module_name = f"kuaicore_user_model_{digest}"  # one module per file, loaded once per process
        module = sys.modules.get(module_name)
        if module is None:
            spec = importlib.util.spec_from_file_location(module_name, path)
            if spec is None or spec.loader is None:
                raise UsageError(f"--model {ref}: {path} is not a Python file")
            module = importlib.util.module_from_spec(spec)
            sys.modules[module_name] = module  # dataclasses of the file look their module up here
            spec.loader.exec_module(module)
    else:
        try:
            module = importlib.import_module(target)
        except ImportError as err:
            raise UsageError(f"--model {ref}: cannot import {target} ({err})") from None
    try:
        return getattr(module, attr)
    except AttributeError:
        raise UsageError(f"--model {ref}: {target} has no {attr}") from None


@dataclass(frozen=True)
class Model:
    """A resolved model, built in or a user's: what `train` calls. A built-in's code is imported on first
    use of ``fit``, ``options_class`` or ``objective`` (JAX must not load before the devices are set)."""

    name: str  # what config.json records: the registry name or the FILE.py:NAME / MODULE:NAME given
    prefix: str  # run names start with it
    losses: tuple[str, ...]  # non-empty: a model of the JAX loop (an objective)
    refs: tuple[str | None, str | None, str | None] = (None, None, None)  # built-in fit, options, objective
    plugin: Any = None  # a user's model object

    @property
    def fit(self) -> Callable[..., Any] | None:
        return self.plugin.fit if self.plugin is not None else _load(self.refs[0])

    @property
    def options_class(self) -> type | None:
        return getattr(self.plugin, "Options", None) if self.plugin is not None else _load(self.refs[1])

    @property
    def objective(self) -> Callable[..., Any] | None:
        return None if self.plugin is not None else _load(self.refs[2])

    @property
    def trains_in_loop(self) -> bool:
        """Whether the JAX loop (kuaicore.training.loop) trains it through its objective."""
        return self.plugin is None and self.refs[2] is not None

    def run_name(self, loss: str, seed: int) -> str:
        """The run folder without --run: ``NAME-LOSS-sSEED`` for objective models, ``NAME-sSEED`` else."""
        return f"{self.prefix}-{loss}-s{seed}" if self.losses else f"{self.prefix}-s{seed}"

    def make_options(self, raw: dict[str, Any], seed: int | None = None) -> Any:
        """The options dataclass from ``--option`` text values (converted to each field's type); the run's
        seed fills a ``seed`` field that is not given. UsageError for an unknown key or a bad value."""
        if self.options_class is None:
            if raw:
                raise UsageError(f"--option: {self.name} takes no --option (its settings are train's flags)")
            return None
        known = {f.name: f for f in fields(self.options_class)}
        unknown = sorted(set(raw) - set(known))
        if unknown:
            raise UsageError(
                f"--option {unknown[0]}: not an option of {self.name} (known: {', '.join(known)})"
            )
        kwargs = {k: _convert(k, v, known[k].type) for k, v in raw.items()}
        if seed is not None and "seed" in known:
            kwargs.setdefault("seed", seed)
        return self.options_class(**kwargs)


def _convert(name: str, value: Any, annotation: Any) -> Any:
    """A --option value (text) as the option's declared type (int, float, bool or str)."""
    if not isinstance(value, str):
        return value
    kind = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "str")
    try:
        if kind == "int":
            return int(value)
        if kind == "float":
            return float(value)
        if kind == "bool":
            return value.lower() in ("1", "true", "yes", "on")
    except ValueError:
        raise UsageError(f"--option {name}={value}: expected a value of type {kind}") from None
    return value


def resolve(name: str) -> Model:
    """The model ``--model name`` means: a registry entry, or a user's ``FILE.py:NAME`` / ``MODULE:NAME``."""
    entry = MODELS.get(name)
    if entry is not None:
        return Model(entry.name, entry.name, entry.losses, (entry.fit, entry.options, entry.objective))
    if not is_plugin(name):
        raise UsageError(
            f"--model: unknown model {name!r} (choose from {', '.join(MODELS)},"
            " or FILE.py:NAME / MODULE:NAME)"
        )
    obj = load_attribute(name)
    if isinstance(obj, type):
        obj = obj()
    fit = getattr(obj, "fit", None)
    if not callable(fit):
        raise UsageError(f"--model {name}: has no fit(data, options) method (see README 'Add a model')")
    prefix = str(getattr(obj, "name", name.rpartition(":")[2]))
    return Model(name, prefix, (), plugin=obj)


def _load(ref: str | None) -> Any:
    return load_attribute(ref) if ref is not None else None
