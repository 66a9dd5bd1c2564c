"""The data sets: each is one module of this package (a DataSet subclass, lab/datasets/base.py) with its
conf/data/<name>.yaml; the package imports every module in it, so a new data set is one new file here and one there."""

from lab.datasets.base import DataSet, ImageDataSet, PointDataSet
from lab.registry import options

__all__ = ["DATASETS", "REGISTRY", "TOY_DATASETS", "DataSet", "ImageDataSet", "PointDataSet"]

REGISTRY: dict[str, DataSet] = {name: cls() for name, cls in options(__name__, __path__, DataSet).items()}
DATASETS = tuple(sorted(REGISTRY))
TOY_DATASETS = tuple(name for name in DATASETS if REGISTRY[name].on_points)
