"""Metrics added as one file each: every Metric subclass in a module of this package that names itself runs on every
generation of an image run after the built-in metrics (and on the real floor), its keys logged as metrics/<key>.
None ships here yet; tests/test_extending.py adds one."""

from lab.metrics.plugins.base import Metric
from lab.registry import options

__all__ = ["PLUGINS", "Metric"]

PLUGINS: dict[str, type[Metric]] = options(__name__, __path__, Metric)
