"""mnist: MNIST's 70,000 28×28 digits (torchvision)."""

from lab.datasets.torchvision_files import TorchvisionDataSet


class Mnist(TorchvisionDataSet):
    name = "mnist"
    torchvision_class = "MNIST"
