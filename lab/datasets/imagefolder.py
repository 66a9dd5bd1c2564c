"""imagefolder: your own images, data.root=DIR with one sub-folder per class holding PNG/JPEG files."""

from pathlib import Path

import torch
from torchvision.transforms.v2 import functional as TF

from lab.datasets.base import ImageDataSet
from lab.errors import LabError, require


class ImageFolder(ImageDataSet):
    name = "imagefolder"

    @staticmethod
    def check(data_cfg) -> None:
        root = Path(str(data_cfg.root)).expanduser()
        require(root.is_dir(), f"data.root={data_cfg.root} is not a directory: data=imagefolder needs a folder with one sub-folder per class")

    def images(self, data_cfg):
        from torchvision.datasets import ImageFolder as Folder

        root, channels = data_cfg.root, int(data_cfg.channels)
        if root is None or not Path(str(root)).expanduser().is_dir():
            raise LabError(f"data.root={root} is not a directory; data=imagefolder needs data.root=DIR with one sub-folder per class holding PNG/JPEG images")
        mode = "L" if channels == 1 else "RGB"
        try:
            folder = Folder(str(Path(str(root)).expanduser()), loader=lambda p: _open(p, mode))
        except FileNotFoundError as exc:  # no class sub-folders, or no image in any of them
            raise LabError(
                f"data.root={root} holds no PNG/JPEG images in class sub-folders ({exc}); data=imagefolder needs data.root=DIR with one sub-folder per class"
            ) from None
        images, labels = [], []
        sizes = set()
        for path, label in folder.samples:
            try:
                img = _open(path, mode)
            except OSError as exc:  # a truncated or mislabelled file
                raise LabError(f"data.root={root}: {path} is not a readable image ({exc}); remove or replace it") from None
            images.append(TF.pil_to_tensor(img))
            labels.append(label)
            sizes.add(img.size)
        if len(sizes) > 1:
            # Different sizes: bring every image to the largest one before stacking; lab.data resizes later.
            side = max(max(s) for s in sizes)
            images = [TF.resize(i, [side, side], antialias=True) for i in images]
        return torch.stack(images), torch.tensor(labels, dtype=torch.long)


def _open(path: str, mode: str):
    from PIL import Image

    with Image.open(path) as img:
        return img.convert(mode)
