"""fashion_mnist: Fashion-MNIST's 70,000 28×28 clothing images (torchvision)."""

from lab.datasets.torchvision_files import TorchvisionDataSet


class FashionMnist(TorchvisionDataSet):
    name = "fashion_mnist"
    torchvision_class = "FashionMNIST"
