"""Mitigations applied to a generation's samples before they enter later training sets (`curate=`).

Each mitigation is one module of this package (a Mitigation subclass) with its conf/curate/<name>.yaml;
the package imports every module in it. What they share: lab/curate/base.py.
"""

import importlib
import pkgutil

from lab.curate.base import CurateConfig, Curated, Mitigation
from lab.errors import at_least, one_of

__all__ = ["CURATORS", "Curated", "CurateConfig", "Mitigation", "build_curator", "check_curate"]

for _module in pkgutil.iter_modules(__path__):
    if _module.name != "base":
        importlib.import_module(f"{__name__}.{_module.name}")


def _subclasses(cls: type) -> list[type]:
    return [c for sub in cls.__subclasses__() for c in (sub, *_subclasses(sub))]


REGISTRY: dict[str, type[Mitigation]] = {c.name: c for c in _subclasses(Mitigation) if "name" in vars(c)}
CURATORS = tuple(sorted(REGISTRY))


def build_curator(cfg, real, evaluator, seed: int) -> Mitigation:
    return REGISTRY[cfg.name](cfg, real, evaluator, seed)


def check_curate(cfg, on_points: bool) -> None:
    one_of("curate.name", cfg.name, CURATORS)
    at_least("curate.max_draws", cfg.max_draws, 1)
    REGISTRY[cfg.name].check(cfg, on_points)
