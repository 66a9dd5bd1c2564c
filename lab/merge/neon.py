"""merge=neon — Neon, negative extrapolation from self-training (Alemohammad et al. 2025).

Each generation, after its fit: the model draws merge.samples samples (a seeded stream of their own, so the
generation's scored samples are drawn after, from the merged model), a copy of it trains on them for merge.images
images (from its sampling weights; the diffusion model with a fresh optimiser at merge.lr_scale × train.lr, the
Gaussian toy by refitting), and the sampling weights move away from the copy's:

    θ ← θ − w·(θ_self − θ) = (1 + w)·θ − w·θ_self        (w = merge.weight; floating-point tensors only)

Self-training on one's own samples moves the weights toward what the sampler over-produces (mode-seeking, a
shrinking spread); stepping the other way undoes part of it. The step must stay small for that first-order reading
to hold: the paper fine-tunes at a tenth of the base learning rate, and at the full rate the copy's move is mostly
optimiser noise, which the extrapolation amplifies (at weight 1 it wrecked the CPU default's model in generation
0: docs/results/2026-12-05-neon-cpu.md). The paper applies it once, to a trained model; here
it runs every generation, which is the question the lab can ask: does it slow or stop collapse in a loop?

The Gaussian toy's closed form: the ML fit of m samples shrinks Σ by (m−1)/m in expectation, so the merge gives
E[Σ_neon] = (1 + w/m)·Σ, and the next generation's ML fit of n samples (n−1)/n of that: w = m/(n−1) keeps the
expected variance where it is (tests/test_neon.py checks the chain against it). The mean is extrapolated as well:
it stays unbiased but gathers the extra variance w²·Σ/m per generation.
"""

import time
from dataclasses import dataclass

import torch
from omegaconf import MISSING

from lab.errors import at_least, require
from lab.merge.base import Merge, MergeConfig
from lab.older_runs import added_later

SELF_DRAW = -2  # the draw index of the self-training samples (HELD_BACK is −1; curators' redraws count up from 1)


@dataclass
class NeonConfig(MergeConfig):
    weight: float = 1.0
    samples: int | None = None
    images: int = 3200
    # The self-training's learning rate ÷ train.lr (the diffusion model only). Runs before it trained at train.lr.
    lr_scale: float = added_later(1.0, MISSING)


class Neon(Merge):
    name = "neon"
    Config = NeonConfig

    @staticmethod
    def check(cfg) -> None:
        merge = cfg.merge
        require(merge.weight >= 0, f"merge.weight={merge.weight} is out of range: allowed ≥ 0 (0: no merge)")
        if merge.samples is not None:
            at_least("merge.samples", merge.samples, 2)
        at_least("merge.images", merge.images, 1)
        require(merge.lr_scale > 0, f"merge.lr_scale={merge.lr_scale} is out of range: allowed > 0 (the self-training's learning rate ÷ train.lr)")
        require(
            cfg.model.family in ("diffusion", "gaussian"),
            f"merge=neon is not allowed for model={cfg.model.name}: a mixture's components have no fixed order to extrapolate; "
            "allowed: the diffusion models, model=gaussian",
        )

    def __call__(self, model, generation: int, fit) -> None:
        start = time.perf_counter()
        merge = self.cfg.merge
        m = int(self.cfg.loop.train_size if merge.samples is None else merge.samples)
        own = model.sample(m, generation, draw=SELF_DRAW)
        base = model.sampling_weights()
        trained = model.self_trained(own, int(merge.images), generation, float(merge.lr_scale))
        w = float(merge.weight)
        model.load_sampling_weights({k: (1 + w) * v - w * trained[k] if v.is_floating_point() else v for k, v in base.items()})
        fit.scalars["merge/self_step"] = _norm({k: trained[k] - v for k, v in base.items() if v.is_floating_point()})
        fit.timing["timing/merge_seconds"] = time.perf_counter() - start


def _norm(delta: dict) -> float:
    """‖θ_self − θ‖ over every floating-point tensor (merge/self_step): how far self-training moved the weights."""
    return float(torch.sqrt(sum((d.double() ** 2).sum() for d in delta.values())))
