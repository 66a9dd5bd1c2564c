"""cifar10: CIFAR-10's 60,000 32×32 colour images (torchvision)."""

from lab.datasets.torchvision_files import TorchvisionDataSet


class Cifar10(TorchvisionDataSet):
    name = "cifar10"
    torchvision_class = "CIFAR10"
