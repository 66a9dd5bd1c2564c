"""The regimes: compose(loop, generation, …) → the training set of that generation, with its provenance.

Each loop is one module of this package (a Loop subclass) with its conf/loop/<name>.yaml; the package
imports every module in it, so a new regime is one new file here and one there. Generation 0 always
trains on train_size real images; a loop decides generations t ≥ 1.
"""

import torch

from lab.loops.base import REAL, Loop, Null, Samples, Step, TrainingSet, real_draw
from lab.registry import options

__all__ = ["LOOPS", "REAL", "Loop", "Null", "Samples", "Step", "TrainingSet", "compose", "effective_real_fraction", "split_counts"]

# One instance per loop: a loop holds no state.
REGISTRY: dict[str, Loop] = {name: cls() for name, cls in options(__name__, __path__, Loop).items()}
LOOPS = tuple(sorted(REGISTRY))


def effective_real_fraction(loop: str, real_fraction: float) -> float:
    """The share of real data the loop trains on; a loop this code does not know (an old run's) keeps its setting."""
    fixed = getattr(REGISTRY.get(loop), "real_fraction", None)
    return float(real_fraction) if fixed is None else fixed


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
    taken: list[int] | None = None,
) -> TrainingSet:
    """The training set of `generation`. `history[k]` holds the samples of generation k (k < generation); `taken[k]`
    how many of them entered a training set when they were new (a schedule's; default: this generation's n_synthetic)."""
    if loop not in REGISTRY:
        raise ValueError(f"unknown loop {loop!r}; allowed: {', '.join(LOOPS)}")
    first_real = real_draw(len(pool_labels), train_size, seed, generation=0, purpose="real")
    n_real, n_synthetic = split_counts(loop, train_size, real_fraction)
    taken = [n_synthetic] * generation if taken is None else taken
    step = Step(generation, pool_images, pool_labels, history, train_size, n_real, n_synthetic, seed, first_real, taken)
    if generation == 0:
        return step.real(first_real)
    return REGISTRY[loop].compose(step)
