"""Coverage by density checked where images are scored: in the feature classifier's space, on real digits.

    python -m lab.metrics.tails_validation [hydra overrides, e.g. data=mnist5k]   (prints the table, writes nothing)

The held-out set is the reference (N images, N/10 per density decile). The real training pool is split in two
halves, seeded: a density set D that scores every point (lab.metrics.tails.KnnDensity), and a source S of
stand-in "samples" that no other step uses. Stand-in generators, each drawing N images:

- `real`: a random N of S, `draws` times: the floor band of every decile (its spread over draws, beside the
  binomial SD √(c(1−c)/(N/10)) that the reference's size alone implies);
- `no_tail`: S less its sparsest 20% by the density score against D (the lab's own score, from a disjoint set);
  early collapse by construction: the sparsest decile must fall below its floor band, the denser half stay in it;
- `shrunk`: real images pulled halfway toward their class's mean image (variance loss, the late stage): the core
  and overall recall must fall.
"""

import sys
from dataclasses import dataclass

import pandas as pd
import torch

from lab.metrics.manifold import Manifold, compare
from lab.metrics.tails import CORE, DECILES, DensityDeciles, KnnDensity
from lab.seeding import generator

TAIL_CUT = 0.2  # the share of S removed from its sparse end
PULL = 0.5  # how far `shrunk` moves each image toward its class mean


@dataclass
class Scored:
    """One stand-in generator's coverage by decile, overall recall, and its draw."""

    name: str
    draw: int
    coverage: torch.Tensor  # (DECILES,)
    recall: float


def validate(real, embed, k: int, draws: int = 5, seed: int = 0) -> list[Scored]:
    """Every stand-in's scores; `embed` maps uint8 images to the run's features (Evaluator.embed)."""
    order = torch.randperm(len(real.train_labels), generator=generator(seed, 0, "tails_validation"))
    density_half, source_half = order[: len(order) // 2], order[len(order) // 2 :]
    density = KnnDensity(embed(real.train_images[density_half]), k)
    reference = embed(real.heldout_images)
    n = len(reference)
    deciles = DensityDeciles.of(density(reference))
    reference_manifold = Manifold.of(reference, k)
    source = real.train_images[source_half]
    source_features = embed(source)
    sparse_first = density(source_features).argsort()
    kept = sparse_first[int(TAIL_CUT * len(sparse_first)) :]
    if len(kept) < n:
        raise ValueError(f"the source keeps {len(kept)} images after the cut, fewer than the reference's {n}: use a larger pool")
    shrunk = _pulled(source, real.train_labels[source_half])
    out = []
    for draw in range(draws):
        pick = torch.randperm(len(source), generator=generator(seed, draw + 1, "tails_validation_draw"))
        kept_pick = kept[torch.randperm(len(kept), generator=generator(seed, draw + 1, "tails_validation_kept"))[:n]]
        for name, features in (
            ("real", source_features[pick[:n]]),
            ("no_tail", source_features[kept_pick]),
            ("shrunk", embed(shrunk[pick[:n]])),
        ):
            comparison = compare(Manifold.of(features, k), reference_manifold)
            out.append(Scored(name, draw, deciles.coverage(comparison.real_covered), float(comparison.real_in_generated.double().mean())))
    return out


def _pulled(images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Each image moved PULL of the way toward its class's mean image (uint8 in, uint8 out)."""
    x = images.double()
    out = x.clone()
    for c in labels.unique():
        members = labels == c
        mean = x[members].mean(0, keepdim=True)
        out[members] = mean + (1 - PULL) * (x[members] - mean)
    return out.round().clamp(0, 255).to(torch.uint8)


def table(scored: list[Scored], reference_size: int) -> pd.DataFrame:
    """Decile × stand-in: mean coverage over draws; the floor's band (mean ± 3 SD over draws) and binomial SD."""
    rows = []
    per_decile = reference_size / DECILES
    for j in range(DECILES):
        real = torch.stack([s.coverage[j] for s in scored if s.name == "real"]).double()
        c = float(real.mean())
        row = {"decile": j, "floor": c, "floor_sd_over_draws": float(real.std()), "binomial_sd": (c * (1 - c) / per_decile) ** 0.5}
        for name in ("no_tail", "shrunk"):
            row[name] = float(torch.stack([s.coverage[j] for s in scored if s.name == name]).mean())
        rows.append(row)
    out = pd.DataFrame(rows)
    band = 3 * out[["floor_sd_over_draws", "binomial_sd"]].max(axis=1)
    out["band_low"], out["band_high"] = out.floor - band, (out.floor + band).clip(upper=1.0)
    return out


def recall(scored: list[Scored], name: str) -> float:
    return float(torch.tensor([s.recall for s in scored if s.name == name]).mean())


def core(frame: pd.DataFrame, column: str) -> float:
    return float(frame[column].iloc[CORE].mean())


def main(argv: list[str]) -> None:
    from hydra import compose, initialize_config_dir

    from lab.conf import CONF_DIR
    from lab.data import load_real_data
    from lab.metrics import Evaluator

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="config", overrides=argv)
    real = load_real_data(cfg.data)
    evaluator = Evaluator(real, cfg, "cpu", progress=False)
    scored = validate(real, evaluator.embed, int(cfg.metrics.nearest_k), draws=5)
    frame = table(scored, len(real.heldout_labels))
    print(
        f"data={cfg.data.name} at {cfg.data.resolution} px, {cfg.metrics.classifier.feature_dim}-d classifier features, "
        f"reference N = {len(real.heldout_labels)} ({len(real.heldout_labels) // DECILES} per decile), k = {cfg.metrics.nearest_k}, 5 floor draws"
    )
    print(frame.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"recall: real {recall(scored, 'real'):.3f}, no_tail {recall(scored, 'no_tail'):.3f}, shrunk {recall(scored, 'shrunk'):.3f}")


if __name__ == "__main__":
    main(sys.argv[1:])
