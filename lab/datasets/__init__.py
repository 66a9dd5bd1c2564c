"""The data sets: each is one module of this package (a DataSet subclass, lab/datasets/base.py) with its
conf/data/<name>.yaml; the package imports every module in it, so a new data set is one new file here and one there."""

from lab.datasets.base import DataSet, ImageDataSet, PointDataSet
from lab.registry import options

__all__ = ["DATASETS", "REGISTRY", "TOY_DATASETS", "DataSet", "ImageDataSet", "PointDataSet", "check_data"]

REGISTRY: dict[str, DataSet] = {name: cls() for name, cls in options(__name__, __path__, DataSet).items()}
DATASETS = tuple(sorted(REGISTRY))
TOY_DATASETS = tuple(name for name in DATASETS if REGISTRY[name].on_points)


def check_data(data_cfg) -> None:
    """The settings of the data set's kind (images or points), then its own."""
    data_set = REGISTRY[data_cfg.name]
    data_set.check_kind(data_cfg)
    data_set.check(data_cfg)
