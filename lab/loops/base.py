"""What every loop shares: the images a chain passes along, the training set a loop composes, and the
Loop a new regime subclasses (one file in lab/loops/ and one in conf/loop/; nothing else to edit).

One ratio knob, `real_fraction` p, means the same thing in every loop: the share of real images among
the images a generation takes in, n_real = round(p · train_size) and n_synthetic = train_size − n_real.

Generation 0 always trains on train_size real images. The fixed real images of mixed/accumulate are
the first n_real of generation 0's draw. Synthetic images are taken from the front of a generation's
samples: samples are i.i.d. draws, so the front is as random as any subset, and the accumulate loop
then re-uses exactly the same images of generation k at every later generation.
"""

from dataclasses import dataclass
from typing import ClassVar

import torch

from lab.registry import Option
from lab.seeding import generator

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

    def weights(self, synthetic_weight: float) -> torch.Tensor | None:
        """Each image's weight in the training risk: train.synthetic_weight for a sample against 1 for a real image,
        scaled to a mean of 1 over the set, so that the loss keeps its scale (gradient clipping sees the same sizes)
        and only the ratio moves. None where every weight is equal (the weight 1, or a set of one kind): the
        unweighted code runs as it always did."""
        real = self.source == REAL
        if float(synthetic_weight) == 1.0 or bool(real.all()) or not bool(real.any()):
            return None
        weights = torch.where(real, 1.0, float(synthetic_weight)).double()
        return (weights / weights.mean()).to(torch.float32)

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


class Loop(Option):
    """A regime: which images generation t ≥ 1 trains on. Subclass it in a new module of lab/loops/ with
    `name` (the value of loop=…, also conf/loop/<name>.yaml) and `compose`; the package finds it.

    `real_fraction` is set where the loop fixes the share of real data by definition (its loop.real_fraction
    is then ignored); None means the loop uses loop.real_fraction.
    """

    group = "loop"
    name: ClassVar[str]
    real_fraction: ClassVar[float | None] = None
    # True where each generation's labels are a multinomial resample of the last generation's alone: the
    # Wright–Fisher chain from which the report predicts a class's extinction.
    pure_resampling: ClassVar[bool] = False

    def compose(self, step: "Step") -> TrainingSet:
        raise NotImplementedError


@dataclass
class Step:
    """Everything a loop may compose generation t ≥ 1 from, with the draws every loop shares."""

    generation: int
    pool_images: torch.Tensor
    pool_labels: torch.Tensor
    history: list[Samples]  # history[k]: the samples of generation k < generation
    train_size: int
    n_real: int
    n_synthetic: int
    seed: int
    first_real: torch.Tensor  # generation 0's real draw (indices into the pool)
    taken: list[int]  # taken[k]: samples of generation k that entered a training set when new (at generation k + 1)

    def fixed_real(self) -> TrainingSet:
        """The same n_real real images every generation: the first n_real of generation 0's."""
        return self.real(self.first_real[: self.n_real])

    def fresh_real(self) -> TrainingSet:
        """A new draw of n_real real images, its own for this generation."""
        return self.real(real_draw(len(self.pool_labels), self.n_real, self.seed, self.generation, "fresh_real"))

    def real(self, idx: torch.Tensor) -> TrainingSet:
        return TrainingSet(
            images=self.pool_images[idx],
            labels=self.pool_labels[idx],
            source=torch.full((len(idx),), REAL, dtype=torch.long),
            real_index=idx.clone(),
        )

    def samples_of(self, generation: int, n: int | None = None) -> TrainingSet:
        """The first n (default n_synthetic) samples of a generation: samples are i.i.d. draws, so the front is as
        random as any subset, and a loop that re-uses generation k later takes exactly the same images."""
        samples, n = self.history[generation], self.n_synthetic if n is None else n
        return TrainingSet(
            images=samples.images[:n],
            labels=samples.labels[:n],
            source=torch.full((n,), samples.generation, dtype=torch.long),
            real_index=torch.full((n,), -1, dtype=torch.long),
        )

    def random_generator(self, purpose: str) -> torch.Generator:
        """A generator seeded by (seed, generation, purpose): the loop's own random choices, reproducible."""
        return generator(self.seed, self.generation, purpose)


def real_draw(pool_size: int, n: int, seed: int, generation: int, purpose: str) -> torch.Tensor:
    """n distinct indices into the real pool, drawn without replacement."""
    return torch.randperm(pool_size, generator=generator(seed, generation, purpose))[:n]


def concat(*parts: TrainingSet) -> TrainingSet:
    return TrainingSet(*(torch.cat([getattr(p, f) for p in parts]) for f in ("images", "labels", "source", "real_index")))


def select(ts: TrainingSet, idx: torch.Tensor) -> TrainingSet:
    return TrainingSet(ts.images[idx], ts.labels[idx], ts.source[idx], ts.real_index[idx])
