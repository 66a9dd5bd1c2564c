"""What a data set is to the lab: a name, toy points or images, a check of its own settings, and its data.

An image data set returns its native uint8 (N, C, H, W) images and labels (lab.data resizes, splits and trims
them); a toy data set returns its true distribution (lab.toy_data draws the pool and the held-out set from it).
A new data set is one module of this package (a subclass naming itself) and conf/data/<name>.yaml, whose defaults
name schema_images or schema_points first (lab/schema.py)."""

from typing import ClassVar

import torch

from lab.errors import at_least, one_of, require
from lab.registry import Option


class DataSet(Option):
    group: ClassVar[str] = "data"
    on_points: ClassVar[bool] = False  # toy points with a known distribution, or images

    @staticmethod
    def check(data_cfg) -> None:
        """Range checks of the data set's own settings (raise LabError); those of its kind are check_kind's."""

    @staticmethod
    def check_kind(data_cfg) -> None:
        """Range checks of the settings every data set of its kind (images or points) has."""
        at_least("data.heldout_size", data_cfg.heldout_size, 2)


class ImageDataSet(DataSet):
    @staticmethod
    def check_kind(data_cfg) -> None:
        DataSet.check_kind(data_cfg)
        one_of("data.channels", data_cfg.channels, (1, 3))
        at_least("data.resolution", data_cfg.resolution, 4)

    def images(self, data_cfg) -> tuple[torch.Tensor, torch.Tensor]:
        """Native-resolution uint8 (N, C, H, W) images and int64 labels of the whole data set."""
        raise NotImplementedError


class PointDataSet(DataSet):
    on_points = True

    @staticmethod
    def check_kind(data_cfg) -> None:
        DataSet.check_kind(data_cfg)
        at_least("data.dim", data_cfg.dim, 1)
        at_least("data.pool_size", data_cfg.pool_size, 2)

    @staticmethod
    def check(data_cfg) -> None:
        require(
            data_cfg.class_shares is None,
            f"data.class_shares={data_cfg.class_shares} is not a setting of data={data_cfg.name} (one mode); allowed: data.class_shares=null",
        )

    def distribution(self, data_cfg):
        """The true distribution (lab.toy_data.Distribution) the pool and the held-out set are drawn from."""
        raise NotImplementedError
