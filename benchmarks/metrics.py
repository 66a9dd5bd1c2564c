"""What each per-generation metric costs: seconds per call on N images at the default settings.

    python benchmarks/metrics.py [--rounds 5] [overrides …]      e.g. data=digits, metrics.kid.subsets=50

Real training images stand in for a generation's samples (the cost does not depend on what the images
show), with a training set of loop.train_size real images for the memorisation test. Each metric of
metrics.run is timed alone over several rounds (median), after one untimed call that fills the shared
caches (features, class probabilities, the k-NN comparison with the reference): the table shows each
metric's own cost, and the first row what the shared pass costs once per generation.
"""

import argparse
import statistics
import time

import torch
from hydra import compose, initialize_config_dir

from lab.config import CONF_DIR
from lab.data import load_real_data
from lab.metrics import Evaluator, Generated


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="config", overrides=args.overrides)
    real = load_real_data(cfg.data)
    evaluator = Evaluator(real, cfg, "cpu", progress=False)
    n, train_size = evaluator.num_samples, int(cfg.loop.train_size)
    # A random pick: the pool is ordered by class, and its first N would be two digits only.
    order = torch.randperm(len(real.train_labels), generator=torch.Generator().manual_seed(0))
    images, labels = real.train_images[order[:n]], real.train_labels[order[:n]]
    train = real.train_images[order[-train_size:]]

    def fresh() -> Generated:
        return Generated(images, labels, images, labels, train, None, evaluator)

    def shared_pass() -> None:
        g = fresh()
        _ = g.features, g.probs, g.comparison

    rows = [("features, class probabilities, k-NN comparison (shared)", shared_pass)]
    for metric in evaluator.metrics:
        warm = fresh()
        _ = warm.features, warm.probs, warm.comparison
        rows.append((metric.name, lambda m=metric, g=warm: m(g)))
    if hasattr(evaluator, "density"):  # inside `tails`: the samples' density scores against the density set
        rows.append((f"  of which: density scores ({len(evaluator.density.density_set)} real)", lambda g=warm: evaluator.density(g.features)))
    print(f"N = {n} samples, training set {train_size}, {torch.get_num_threads()} threads, {args.rounds} rounds (median)")
    total = 0.0
    for name, call in rows:
        times = []
        for _ in range(args.rounds):
            start = time.perf_counter()
            call()
            times.append(time.perf_counter() - start)
        seconds = statistics.median(times)
        total += 0.0 if name.startswith("  of which") else seconds
        print(f"{name:<56} {seconds:8.3f} s")
    print(f"{'all metrics of one generation':<56} {total:8.3f} s")


if __name__ == "__main__":
    main()
