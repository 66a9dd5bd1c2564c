"""Model merges applied to a generation's fitted model before it samples (`merge=`).

Each merge is one module of this package (a Merge subclass) with its conf/merge/<name>.yaml; the package imports
every module in it. What they share: lab/merge/base.py.
"""

from lab.errors import one_of
from lab.merge.base import Merge, MergeConfig
from lab.registry import options

__all__ = ["MERGES", "Merge", "MergeConfig", "build_merge", "check_merge"]

REGISTRY: dict[str, type[Merge]] = options(__name__, __path__, Merge)
MERGES = tuple(sorted(REGISTRY))


def build_merge(cfg) -> Merge:
    return REGISTRY[cfg.merge.name](cfg)


def check_merge(cfg) -> None:
    one_of("merge.name", cfg.merge.name, MERGES)
    REGISTRY[cfg.merge.name].check(cfg)
