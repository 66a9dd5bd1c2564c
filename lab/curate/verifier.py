"""verifier: keep the samples that the feature classifier gives their own label with probability ≥ curate.threshold
(unconditional samples: any class), drawing more until n are kept; the verification/curation line of Feng et
al. and Ferbach et al. A biased verifier can itself narrow the data."""

import logging
import math
from dataclasses import dataclass

import torch
from omegaconf import MISSING

from lab.curate.base import CurateConfig, Curated, Mitigation, select
from lab.errors import require
from lab.loops import Samples

log = logging.getLogger("lab")


@dataclass
class VerifierConfig(CurateConfig):
    # The classifier's probability of the sample's own label needed to keep it.
    threshold: float = MISSING


class Verifier(Mitigation):
    name = "verifier"
    Config = VerifierConfig
    needs_images = True

    @staticmethod
    def check(cfg, on_points: bool) -> None:
        require(0 < cfg.threshold <= 1, f"curate.threshold={cfg.threshold} is out of range: allowed 0 < value ≤ 1")

    def __call__(self, first: Samples, model, n: int) -> Curated:
        """Keep the verified samples in draw order; each new draw asks for what is missing at the rate seen so far."""
        budget = int(self.cfg.max_draws) * n
        kept, drawn, rejected, batch, draw = [], 0, 0, first, 0
        while True:
            verified = self._verified(batch)
            drawn, rejected = drawn + len(verified), rejected + int((~verified).sum())
            kept.append(select(batch, verified))
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
