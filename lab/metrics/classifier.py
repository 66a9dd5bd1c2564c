"""The feature extractor: a small CNN trained on the real training pool, cached per data set and size.

Inception features are meaningless on digits (and need weights from the internet); MAD measured its
MNIST "FID" in LeNet features. This plays that role. Its penultimate layer gives the features of the
Fréchet distance; its softmax gives the class predictions of class coverage.
"""

import hashlib
import json
import logging
import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from lab.data import RealData
from lab.locks import exclusive
from lab.seeding import derive_seed, generator

log = logging.getLogger(__name__)
CACHE_VERSION = 1  # bump when the architecture or training recipe changes: old caches are ignored


class Classifier(nn.Module):
    def __init__(self, channels: int, num_classes: int, feature_dim: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, 32, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(32, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2, ceil_mode=True),
            nn.Conv2d(32, 64, 3, padding=1),
            nn.ReLU(),
            # Adaptive pooling makes one architecture fit 8×8 to 32×32 inputs.
            nn.AdaptiveAvgPool2d(4),
            nn.Flatten(),
            nn.Linear(64 * 16, feature_dim),
        )
        self.head = nn.Sequential(nn.ReLU(), nn.Dropout(0.3), nn.Linear(feature_dim, num_classes))
        self.num_features = feature_dim  # read by torchmetrics instead of probing a 299×299 dummy

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 (N, C, H, W) → (N, feature_dim): the layer before the class head, before its ReLU."""
        dtype = next(self.parameters()).dtype
        return self.body(images.to(dtype) / 127.5 - 1.0)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.features(images)

    def logits(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images))


def load_or_train(real: RealData, data_cfg, classifier_cfg, cache_dir, device, progress=True) -> tuple[Classifier, dict]:
    """The classifier for this data set + resolution, from the cache or trained now (and cached)."""
    real = real.untrimmed or real  # data.class_shares trims the loops' pool, never the extractor's
    key = _cache_key(data_cfg, classifier_cfg)
    path = Path(cache_dir).expanduser() / "classifiers" / f"{data_cfg.name}-{data_cfg.resolution}px-{key}.pt"
    path.parent.mkdir(parents=True, exist_ok=True)
    # Parallel jobs of a sweep need the same classifier: the first trains it, the others wait, then load it.
    with exclusive(path.with_name(path.name + ".lock"), f"classifier cache {path}", wait=True):
        return _load_or_train(path, real, data_cfg, classifier_cfg, device, progress)


def _load_or_train(path: Path, real: RealData, data_cfg, classifier_cfg, device, progress) -> tuple[Classifier, dict]:
    # Weight init and dropout draw from torch's global generator: seed it here (and restore it after), so
    # that every machine and every parallel job trains the same extractor — FDs are comparable only then.
    cached = path.exists()
    with torch.random.fork_rng():
        torch.manual_seed(derive_seed(0, 0, "classifier_init"))
        model = Classifier(int(data_cfg.channels), real.num_classes, int(classifier_cfg.feature_dim))
        if not cached:
            info = _train(model, real, classifier_cfg, device, progress)
    if cached:
        saved = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict(saved["state_dict"])
        info = dict(saved["info"], cached=True, path=str(path))
        log.info("classifier from cache %s (held-out accuracy %.4f)", path, info["heldout_accuracy"])
    else:
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        torch.save({"state_dict": model.state_dict(), "info": info}, tmp)
        os.replace(tmp, path)  # atomic: parallel runs never read a half-written file
        info = dict(info, cached=False, path=str(path))
        log.info("classifier trained, held-out accuracy %.4f, cached at %s", info["heldout_accuracy"], path)
    return model.to(device).eval(), info


def _cache_key(data_cfg, classifier_cfg) -> str:
    fields = {
        "version": CACHE_VERSION,
        "data": {k: data_cfg[k] for k in ("name", "resolution", "channels", "heldout_size", "split_seed")},
        "root": str(data_cfg.root) if data_cfg.name == "imagefolder" else None,
        "classifier": {k: classifier_cfg[k] for k in ("feature_dim", "epochs", "batch_size", "lr")},
    }
    return hashlib.sha1(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()[:12]


def _train(model: Classifier, real: RealData, cfg, device, progress: bool) -> dict:
    # Seeded by the data split only, so every run on this data set gets the same extractor.
    gen = generator(0, 0, "classifier")
    model.to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=float(cfg.lr), weight_decay=1e-4)
    batch_size, epochs = int(cfg.batch_size), int(cfg.epochs)
    steps = epochs * -(-len(real.train_labels) // batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=float(cfg.lr), total_steps=steps)
    bar = tqdm(total=steps, desc="classifier", unit="batch", disable=not progress, leave=False)
    for _ in range(epochs):
        perm = torch.randperm(len(real.train_labels), generator=gen)
        for start in range(0, len(perm), batch_size):
            idx = perm[start : start + batch_size]
            images = _augment(real.train_images[idx], gen).to(device)
            loss = F.cross_entropy(model.logits(images), real.train_labels[idx].to(device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            bar.update(1)
    bar.close()
    model.eval()
    accuracy = float((predict(model, real.heldout_images, device).argmax(1).cpu() == real.heldout_labels).float().mean())
    return {"heldout_accuracy": accuracy, "epochs": epochs, "train_images": len(real.train_labels)}


def _augment(images: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Random shifts of up to 1/8 of the side: a few thousand digits otherwise over-fit quickly."""
    pad = max(1, images.shape[-1] // 8)
    padded = F.pad(images, (pad, pad, pad, pad))
    dx, dy = torch.randint(0, 2 * pad + 1, (2,), generator=gen).tolist()
    return padded[..., dy : dy + images.shape[-2], dx : dx + images.shape[-1]]


@torch.no_grad()
def predict(model: Classifier, images: torch.Tensor, device, batch_size: int = 1000) -> torch.Tensor:
    """Class probabilities (N, K) of uint8 images."""
    model.eval()
    out = [F.softmax(model.logits(images[i : i + batch_size].to(device)), dim=1) for i in range(0, len(images), batch_size)]
    return torch.cat(out).float().cpu()
