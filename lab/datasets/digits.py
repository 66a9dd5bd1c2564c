"""digits: scikit-learn's 1,797 8×8 digits, shipped with scikit-learn."""

import numpy as np
import torch

from lab.datasets.base import ImageDataSet


class Digits(ImageDataSet):
    name = "digits"

    def images(self, data_cfg):
        from sklearn.datasets import load_digits

        digits = load_digits()
        # Values are 0–16 ink counts: spread them over 0–255 like any image.
        scaled = np.rint(digits.images * (255.0 / 16.0)).astype(np.uint8)
        return torch.from_numpy(scaled[:, None]), torch.from_numpy(digits.target).long()
