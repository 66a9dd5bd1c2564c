"""The regimes: compose(generation, …) → the training set of that generation, with its provenance.

One ratio knob, `real_fraction` p, means the same thing in every loop: the share of real images among
the images a generation takes in, n_real = round(p · train_size) and n_synthetic = train_size − n_real.

    fully_synthetic   n_synthetic = train_size samples of generation t−1 (p is 0 by definition)
    mixed             the same n_real real images every generation + n_synthetic samples of t−1
    fresh             a new draw of n_real real images every generation + n_synthetic samples of t−1
    accumulate        the same n_real real images + n_synthetic samples of *every* earlier generation
    accumulate_subsample   a new random train_size subsample of the accumulate set every generation
    real_only         the control: generation 0's real images every generation (p is 1 by definition), so
                      its curve is the retraining noise band that no synthetic data widens

Generation 0 always trains on train_size real images. The fixed real images of mixed/accumulate are
the first n_real of generation 0's draw. Synthetic images are taken from the front of a generation's
samples: samples are i.i.d. draws, so the front is as random as any subset, and the accumulate loop
then re-uses exactly the same images of generation k at every later generation.
"""

from dataclasses import dataclass

import torch

from lab.seeding import generator

LOOPS = ("fully_synthetic", "mixed", "fresh", "accumulate", "accumulate_subsample", "real_only")
# Loops whose share of real data is fixed by definition: their loop.real_fraction is ignored.
FIXED_REAL_FRACTION = {"fully_synthetic": 0.0, "real_only": 1.0}
REAL = -1  # `source` value of a real image; k ≥ 0 means "a sample of generation k"


@dataclass
class Samples:
    """What one generation produced: uint8 images and the labels they were generated for (-1: none)."""

    generation: int
    images: torch.Tensor
    labels: torch.Tensor
    heldback: torch.Tensor | None = None  # drawn beside them and never trained on: the next generation's memorisation null


@dataclass
class TrainingSet:
    images: torch.Tensor  # uint8 (N, C, H, W)
    labels: torch.Tensor  # int64 (N,); -1 where unknown (samples of an unconditional model)
    source: torch.Tensor  # int64 (N,); REAL or the generation the sample came from
    real_index: torch.Tensor  # int64 (N,); index into the real training pool, -1 for samples

    def __len__(self) -> int:
        return len(self.labels)

    def provenance(self) -> dict[str, int]:
        """How many images came from real data and from each earlier generation."""
        counts = {"real": int((self.source == REAL).sum())}
        for gen in sorted(set(self.source[self.source != REAL].tolist())):
            counts[f"gen_{gen}"] = int((self.source == gen).sum())
        return counts


@dataclass
class Null:
    """What a generation's copying is measured against: fresh draws of the sources its training set came from."""

    heldback: torch.Tensor | None  # the previous generation's held-back samples (None: generation 0, or none drawn)
    real_share: float  # the training set's share of real images


def effective_real_fraction(loop: str, real_fraction: float) -> float:
    return FIXED_REAL_FRACTION.get(loop, float(real_fraction))


def split_counts(loop: str, train_size: int, real_fraction: float) -> tuple[int, int]:
    """(n_real, n_synthetic) per generation t ≥ 1."""
    n_real = int(round(effective_real_fraction(loop, real_fraction) * train_size))
    return n_real, train_size - n_real


def compose(
    loop: str,
    generation: int,
    pool_images: torch.Tensor,
    pool_labels: torch.Tensor,
    history: list[Samples],
    train_size: int,
    real_fraction: float,
    seed: int,
) -> TrainingSet:
    """The training set of `generation`. `history[k]` holds the samples of generation k (k < generation)."""
    if loop not in LOOPS:
        raise ValueError(f"unknown loop {loop!r}; allowed: {', '.join(LOOPS)}")
    gen0_real = _real_draw(len(pool_labels), train_size, seed, generation=0, purpose="real")
    if generation == 0:
        return _real(pool_images, pool_labels, gen0_real)
    n_real, n_synthetic = split_counts(loop, train_size, real_fraction)
    if loop == "fresh":
        real_idx = _real_draw(len(pool_labels), n_real, seed, generation, "fresh_real")
    else:
        real_idx = gen0_real[:n_real]
    parts = [_real(pool_images, pool_labels, real_idx)]
    if loop in ("accumulate", "accumulate_subsample"):
        parts += [_synthetic(history[k], n_synthetic) for k in range(generation)]
    else:
        parts.append(_synthetic(history[generation - 1], n_synthetic))
    combined = _concat(parts)
    if loop == "accumulate_subsample":
        keep = torch.randperm(len(combined), generator=generator(seed, generation, "subsample"))[:train_size]
        combined = _select(combined, keep.sort().values)
    return combined


def _real_draw(pool_size: int, n: int, seed: int, generation: int, purpose: str) -> torch.Tensor:
    """n distinct indices into the real pool, drawn without replacement."""
    return torch.randperm(pool_size, generator=generator(seed, generation, purpose))[:n]


def _real(pool_images, pool_labels, idx: torch.Tensor) -> TrainingSet:
    return TrainingSet(
        images=pool_images[idx],
        labels=pool_labels[idx],
        source=torch.full((len(idx),), REAL, dtype=torch.long),
        real_index=idx.clone(),
    )


def _synthetic(samples: Samples, n: int) -> TrainingSet:
    return TrainingSet(
        images=samples.images[:n],
        labels=samples.labels[:n],
        source=torch.full((n,), samples.generation, dtype=torch.long),
        real_index=torch.full((n,), -1, dtype=torch.long),
    )


def _concat(parts: list[TrainingSet]) -> TrainingSet:
    return TrainingSet(*(torch.cat([getattr(p, f) for p in parts]) for f in ("images", "labels", "source", "real_index")))


def _select(ts: TrainingSet, idx: torch.Tensor) -> TrainingSet:
    return TrainingSet(ts.images[idx], ts.labels[idx], ts.source[idx], ts.real_index[idx])
