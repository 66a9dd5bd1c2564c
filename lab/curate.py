"""Mitigations applied to a generation's samples before they enter later training sets (`curate=`).

    none              the samples as drawn
    verifier          keep the samples that the feature classifier gives their own label with probability ≥
                      curate.threshold (unconditional samples: any class); the verification/curation line
                      of Feng et al. and Ferbach et al.
    self_correction   move each sample toward its nearest k-means centre of the real pool of its class,
                      x ← (1 − s)·x + s·c with s = curate.strength (Gillman et al.: 16 centres per digit)
    diversity         draw curate.candidates × n samples and keep n chosen for spread in feature space by
                      greedy farthest-point selection (the entropy-based selection of Shi et al. 2025)

A filter that removes samples draws more (new seeded draws, each as large as the rate of acceptance so far
says is missing, at most curate.max_draws × n samples in all) until n are kept, so every regime trains on
the same number of images. What each step did is logged: curate/removed (samples the filter rejected or
did not choose), curate/changed, curate/draws (samples drawn ÷ n), and curate/shortfall where the budget
ran out first.
The metrics of a generation measure the generator's own samples (the first draw, before curation):
curation changes what the next generation learns from, not how the current one is scored.
"""

import logging
import math
from dataclasses import dataclass

import torch
from sklearn.cluster import KMeans

from lab.loops import Samples
from lab.seeding import derive_seed, generator

log = logging.getLogger("lab")
CURATORS = ("none", "verifier", "self_correction", "diversity")


@dataclass
class Curated:
    samples: Samples  # what the loop feeds to later generations: n of them unless draws ran out
    removed: int  # samples the filter rejected (verifier) or did not choose (diversity)
    changed: int  # kept samples whose values were altered
    draws: float  # samples drawn ÷ n

    def scalars(self, n: int) -> dict:
        out = {"curate/removed": self.removed, "curate/changed": self.changed, "curate/draws": self.draws}
        return out | ({"curate/shortfall": n - len(self.samples.labels)} if len(self.samples.labels) < n else {})


class Curator:
    def __init__(self, curate_cfg, real, evaluator, seed: int):
        self.cfg, self.evaluator, self.seed = curate_cfg, evaluator, seed
        self.name = curate_cfg.name
        if self.name == "self_correction":
            self.centres, self.centre_labels = _class_centres(real, int(curate_cfg.centres_per_class), seed)

    def __call__(self, first: Samples, model, n: int) -> Curated:
        if self.name == "none":
            return Curated(first, 0, 0, 1.0)
        if self.name == "self_correction":
            return self._correct(first)
        if self.name == "verifier":
            return self._filter(first, model, n)
        return self._diverse(first, model, n)

    def _filter(self, first: Samples, model, n: int) -> Curated:
        """Keep the verified samples in draw order; each new draw asks for what is missing at the rate seen so far."""
        budget = int(self.cfg.max_draws) * n
        kept, drawn, rejected, batch, draw = [], 0, 0, first, 0
        while True:
            verified = self._verified(batch)
            drawn, rejected = drawn + len(verified), rejected + int((~verified).sum())
            kept.append(_select(batch, verified))
            missing = n - sum(len(k.labels) for k in kept)
            if missing <= 0 or drawn >= budget:
                break
            rate = (drawn - rejected) / drawn
            size = budget - drawn if rate == 0 else min(budget - drawn, math.ceil(1.1 * missing / rate) + 8)
            draw += 1
            batch = model.sample(size, first.generation, draw=draw)
        chosen = Samples(first.generation, torch.cat([k.images for k in kept])[:n], torch.cat([k.labels for k in kept])[:n])
        if len(chosen.labels) < n:
            log.warning(
                "curate=verifier kept %d of the %d samples wanted after drawing %d (curate.max_draws=%s × n): generation %d feeds fewer samples to the loop",
                len(chosen.labels),
                n,
                drawn,
                self.cfg.max_draws,
                first.generation,
            )
        return Curated(chosen, rejected, 0, drawn / n)

    def _verified(self, batch: Samples) -> torch.Tensor:
        probs = self.evaluator.probabilities(batch.images)
        labelled = batch.labels >= 0
        own = torch.where(labelled, probs.gather(1, batch.labels.clamp_min(0)[:, None])[:, 0], probs.max(1).values)
        return own >= float(self.cfg.threshold)

    def _correct(self, first: Samples) -> Curated:
        x = first.images.float().flatten(1)
        distances = torch.cdist(x, self.centres)
        if bool((first.labels >= 0).all()):  # a conditional sample moves toward its own class's centres
            distances[first.labels[:, None] != self.centre_labels[None, :]] = math.inf
        target = self.centres[distances.argmin(1)]
        s = float(self.cfg.strength)
        moved = ((1 - s) * x + s * target).reshape(first.images.shape)
        if first.images.dtype == torch.uint8:
            moved = moved.round().clamp(0, 255).to(torch.uint8)
        changed = int((moved != first.images).flatten(1).any(1).sum())
        return Curated(Samples(first.generation, moved, first.labels), 0, changed, 1.0)

    def _diverse(self, first: Samples, model, n: int) -> Curated:
        draws = math.ceil(float(self.cfg.candidates))
        batches = [first] + [model.sample(n, first.generation, draw=d) for d in range(1, draws)]
        pool = Samples(first.generation, torch.cat([b.images for b in batches]), torch.cat([b.labels for b in batches]))
        pool = _select(pool, torch.arange(min(len(pool.labels), math.ceil(float(self.cfg.candidates) * n))))
        start = int(torch.randint(len(pool.labels), (1,), generator=generator(self.seed, first.generation, "diversity")))
        keep = farthest_points(self.evaluator.features_of(pool.images), n, start)
        # Back in draw order: a loop takes the front of a generation's samples as a random subset, and the
        # selection order would put the most extreme samples first.
        return Curated(_select(pool, keep.sort().values), len(pool.labels) - n, 0, len(pool.labels) / n)


def farthest_points(features: torch.Tensor, k: int, start: int) -> torch.Tensor:
    """Greedy farthest-point selection: each pick is the point farthest from every earlier pick (indices, in order)."""
    chosen = [start]
    nearest = torch.cdist(features, features[start : start + 1])[:, 0]
    nearest[start] = -math.inf  # never picked twice, even among exact duplicates (a collapsed generator's)
    for _ in range(k - 1):
        pick = int(nearest.argmax())
        chosen.append(pick)
        nearest = torch.minimum(nearest, torch.cdist(features, features[pick : pick + 1])[:, 0])
        nearest[pick] = -math.inf
    return torch.tensor(chosen)


def _class_centres(real, per_class: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """k-means centres of each class of the real training pool (in the data's own values, flattened)."""
    centres, labels = [], []
    for c in range(real.num_classes):
        members = real.train_images[real.train_labels == c].float().flatten(1)
        if len(members) == 0:
            continue
        k = min(per_class, len(members))
        fitted = KMeans(k, n_init=3, random_state=derive_seed(seed, 0, f"centres_{c}") % 2**32).fit(members.numpy())
        centres.append(torch.from_numpy(fitted.cluster_centers_).float())
        labels.append(torch.full((k,), c))
    return torch.cat(centres), torch.cat(labels)


def _select(samples: Samples, idx: torch.Tensor) -> Samples:
    return Samples(samples.generation, samples.images[idx], samples.labels[idx])
