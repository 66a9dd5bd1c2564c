"""Data sets load as uint8 NCHW with integer labels and split deterministically; torchvision's loaders
are tested against small files written in their real on-disk formats (no download)."""

import os
import pickle
import struct

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf
from PIL import Image

from lab.data import RealData, convert, load_real_data, with_class_shares
from lab.errors import LabError


def data_cfg(name, **kw):
    base = {"name": name, "root": None, "download": False, "resolution": 16, "channels": 1, "heldout_size": 100, "split_seed": 0, "class_shares": None}
    return OmegaConf.create(base | kw)


def test_mnist5k_split_is_stratified_and_deterministic():
    real = load_real_data(data_cfg("mnist5k", heldout_size=1000))
    assert real.train_images.dtype == torch.uint8 and real.train_images.shape == (4000, 1, 16, 16)
    assert real.heldout_images.shape == (1000, 1, 16, 16)
    assert torch.bincount(real.heldout_labels).tolist() == [100] * 10  # 500 per class in the data set
    assert int(real.train_images.max()) > 200  # real ink, not a 0–1 float cast to uint8
    again = load_real_data(data_cfg("mnist5k", heldout_size=1000))
    assert torch.equal(real.heldout_images, again.heldout_images)
    other = load_real_data(data_cfg("mnist5k", heldout_size=1000, split_seed=1))
    assert not torch.equal(real.heldout_labels, other.heldout_labels) or not torch.equal(real.heldout_images, other.heldout_images)


def hand_built(counts):
    labels = torch.cat([torch.full((n,), c) for c, n in enumerate(counts)])
    index = torch.arange(len(labels))
    images = torch.stack([index // 256, index % 256], dim=1).to(torch.uint8).view(-1, 1, 1, 2)  # each image knows its index
    return RealData("hand", images, labels, images[:40], torch.arange(40) % len(counts), len(counts))


def test_class_shares_build_a_long_tailed_pool():
    real = hand_built([100, 100, 80, 100])
    trimmed = with_class_shares(real, [1.0, 0.5, 0.25, 0.1], seed=0)
    # The largest pool in those proportions: every class has enough for 100 × its weight.
    assert torch.bincount(trimmed.train_labels).tolist() == [100, 50, 25, 10]
    assert trimmed.class_distribution.tolist() == pytest.approx([100 / 185, 50 / 185, 25 / 185, 10 / 185])
    # The held-out set keeps its own shares; the untrimmed pool is kept for the feature classifier.
    assert torch.equal(trimmed.heldout_labels, real.heldout_labels)
    assert trimmed.untrimmed is real
    # Kept images are real images of their own class, each at most once.
    kept = trimmed.train_images.view(-1, 2).long() @ torch.tensor([256, 1])
    assert len(set(kept.tolist())) == len(kept) and torch.equal(real.train_labels[kept], trimmed.train_labels)
    # The class with the fewest images per unit of weight limits the pool.
    assert torch.bincount(with_class_shares(real, [1, 1, 1, 1], seed=0).train_labels).tolist() == [80] * 4
    assert torch.equal(with_class_shares(real, [1.0, 0.5, 0.25, 0.1], seed=0).train_images, trimmed.train_images)


@pytest.mark.parametrize("shares", [[1.0, 0.5, 0.25], [1.0, 0.5, 0.0, 0.1], [1, "a", 1, 1]])
def test_bad_class_shares_give_one_clear_line(shares):
    with pytest.raises(LabError, match=r"^data.class_shares=.* give 4 positive weights") as info:
        with_class_shares(hand_built([10, 10, 10, 10]), shares, seed=0)
    assert "\n" not in str(info.value)


def test_mnist5k_with_class_shares():
    real = load_real_data(data_cfg("mnist5k", heldout_size=1000, class_shares=[0.1 ** (c / 9) for c in range(10)]))
    counts = torch.bincount(real.train_labels).tolist()
    assert counts[0] == 400 and counts[9] == 40 and counts == sorted(counts, reverse=True)
    assert torch.bincount(real.heldout_labels).tolist() == [100] * 10


def test_digits_are_rescaled_to_full_range():
    real = load_real_data(data_cfg("digits", resolution=8))
    assert real.num_classes == 10 and len(real.train_labels) + len(real.heldout_labels) == 1797
    assert int(real.train_images.max()) == 255


def test_convert_resizes_and_changes_channels():
    rgb = torch.randint(0, 256, (5, 3, 32, 32), dtype=torch.uint8)
    grey = convert(rgb, 16, 1)
    assert grey.shape == (5, 1, 16, 16) and grey.dtype == torch.uint8
    assert convert(grey, 16, 3).shape == (5, 3, 16, 16)


def write_idx(path, array):
    # The IDX format of the MNIST files: magic (0, 0, dtype 0x08 = ubyte, ndim), big-endian sizes, data.
    with open(path, "wb") as f:
        f.write(struct.pack(">BBBB", 0, 0, 0x08, array.ndim))
        f.write(struct.pack(f">{array.ndim}I", *array.shape))
        f.write(array.astype(np.uint8).tobytes())


@pytest.mark.parametrize(("name", "folder"), [("mnist", "MNIST"), ("fashion_mnist", "FashionMNIST")])
def test_torchvision_mnist_formats(tmp_path, name, folder):
    raw = tmp_path / folder / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 60), ("t10k", 40)):
        write_idx(raw / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28)))
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", np.arange(n) % 10)
    real = load_real_data(data_cfg(name, root=str(tmp_path), resolution=28, heldout_size=20))
    assert real.train_images.shape == (80, 1, 28, 28) and real.heldout_images.shape == (20, 1, 28, 28)
    assert torch.bincount(real.heldout_labels).tolist() == [2] * 10


def test_torchvision_cifar10_format(tmp_path, monkeypatch):
    import torchvision.datasets.cifar as cifar

    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name in names:
        batch = {"data": rng.integers(0, 256, (10, 3072)).astype(np.uint8), "labels": list(range(10))}
        with open(folder / name, "wb") as f:
            pickle.dump(batch, f)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": [f"c{i}" for i in range(10)]}, f)
    # The only thing not real here: the MD5 check against the official files (existence is still checked).
    monkeypatch.setattr(cifar, "check_integrity", lambda path, md5=None: os.path.isfile(path))
    real = load_real_data(data_cfg("cifar10", root=str(tmp_path), resolution=32, channels=3, heldout_size=10))
    assert real.train_images.shape == (50, 3, 32, 32) and real.train_images.dtype == torch.uint8
    # Channel order survives: CIFAR stores planes R, G, B per image.
    first = pickle.load(open(folder / "data_batch_1", "rb"))["data"][0].reshape(3, 32, 32)
    all_images = torch.cat([real.train_images, real.heldout_images])
    assert any(torch.equal(img, torch.from_numpy(first)) for img in all_images)


def test_missing_torchvision_files_give_one_clear_line(tmp_path):
    with pytest.raises(LabError) as err:
        load_real_data(data_cfg("mnist", root=str(tmp_path / "nowhere"), resolution=28))
    message = str(err.value)
    assert "\n" not in message
    assert "data=mnist" in message and str(tmp_path / "nowhere") in message and "data.download=true" in message


def test_imagefolder(tmp_path):
    for c, colour in enumerate(((255, 0, 0), (0, 255, 0), (0, 0, 255))):
        (tmp_path / f"class_{c}").mkdir()
        for i in range(6):
            size = 20 if i % 2 else 24  # mixed sizes are resized
            Image.new("RGB", (size, size), colour).save(tmp_path / f"class_{c}" / f"{i}.png")
    real = load_real_data(data_cfg("imagefolder", root=str(tmp_path), resolution=8, channels=3, heldout_size=3))
    assert real.num_classes == 3 and real.train_images.shape == (15, 3, 8, 8)
    # Class 1 is green: its images must be green after the split.
    green = real.train_images[real.train_labels == 1]
    assert int(green[:, 1].min()) == 255 and int(green[:, 0].max()) == 0


def test_imagefolder_without_a_directory(tmp_path):
    with pytest.raises(LabError, match="data.root=.* is not a directory"):
        load_real_data(data_cfg("imagefolder", root=str(tmp_path / "missing")))
