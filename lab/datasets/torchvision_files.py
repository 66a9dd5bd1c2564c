"""torchvision's data sets read from their files on disk (data.root), or downloaded with data.download=true and a
network; mnist.py, fashion_mnist.py and cifar10.py name theirs."""

from pathlib import Path
from typing import ClassVar

import numpy as np
import torch

from lab.datasets.base import ImageDataSet
from lab.errors import LabError


class TorchvisionDataSet(ImageDataSet):
    torchvision_class: ClassVar[str]  # the class in torchvision.datasets

    def images(self, data_cfg):
        import torchvision.datasets as tvd

        cls = getattr(tvd, self.torchvision_class)
        root = Path(str(data_cfg.root)).expanduser().resolve()
        download = bool(data_cfg.download)
        parts = []
        for train in (True, False):
            try:
                ds = cls(root=str(root), train=train, download=download)
            except Exception as exc:  # torchvision raises RuntimeError (missing) or URLError (no network)
                how = (
                    "the download failed (no network?); copy the files there"
                    if download
                    else "run once with data.download=true on a machine with a network, or copy the files there"
                )
                raise LabError(f"data={self.name}: torchvision's {cls.__name__} files were not found under {root} ({type(exc).__name__}); {how}") from None
            data = torch.as_tensor(np.asarray(ds.data))
            # MNIST-likes hold (N, H, W); CIFAR holds (N, H, W, C).
            data = data[:, None] if data.ndim == 3 else data.permute(0, 3, 1, 2)
            parts.append((data, torch.as_tensor(np.asarray(ds.targets)).long()))
        return torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])
