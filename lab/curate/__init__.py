"""Mitigations applied to a generation's samples before they enter later training sets (`curate=`).

Each mitigation is one module of this package (a Mitigation subclass) with its conf/curate/<name>.yaml;
the package imports every module in it. What they share: lab/curate/base.py.
"""

from lab.curate.base import CurateConfig, Curated, Mitigation
from lab.errors import LabError, at_least, one_of
from lab.registry import options

__all__ = ["CURATORS", "Curated", "CurateConfig", "Mitigation", "build_curator", "check_curate"]

REGISTRY: dict[str, type[Mitigation]] = options(__name__, __path__, Mitigation)
CURATORS = tuple(sorted(REGISTRY))


def build_curator(cfg, real, evaluator, seed: int) -> Mitigation:
    return REGISTRY[cfg.name](cfg, real, evaluator, seed)


def check_curate(cfg, on_points: bool) -> None:
    one_of("curate.name", cfg.name, CURATORS)
    if on_points and REGISTRY[cfg.name].needs_images:
        others = "|".join(name for name in CURATORS if not REGISTRY[name].needs_images)
        raise LabError(f"curate={cfg.name} needs the feature classifier of an image data set; allowed with the toy data sets: curate={others}")
    at_least("curate.max_draws", cfg.max_draws, 1)
    REGISTRY[cfg.name].check(cfg, on_points)
