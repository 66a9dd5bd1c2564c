"""Real data sets → uint8 NCHW tensors + integer labels, split into a training pool and a held-out set.

Images stay uint8 everywhere (compact and exact, what a real data set holds); the model converts them
to [-1, 1] floats at its own edge.
"""

from dataclasses import replace

import numpy as np
import torch
from sklearn.model_selection import train_test_split
from torchvision.transforms.v2 import functional as TF

from lab.datasets import DATASETS, REGISTRY
from lab.errors import LabError
from lab.real_data import RealData
from lab.seeding import derive_seed
from lab.toy_data import draw_toy_data


def load_real_data(data_cfg) -> RealData:
    if data_cfg.name not in REGISTRY:
        raise LabError(f"data.name={data_cfg.name} is not known; allowed: {', '.join(DATASETS)}")
    dataset = REGISTRY[data_cfg.name]
    if dataset.on_points:
        return draw_toy_data(data_cfg, dataset.distribution(data_cfg))
    images, labels = dataset.images(data_cfg)
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
