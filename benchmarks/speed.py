"""Training and sampling throughput of the model presets, measured side by side in one run.

    python benchmarks/speed.py [--resolution 16] [--presets tiny,cpu] [--seconds 20] [--device auto]

Prints images/s for training (forward + backward + AdamW + EMA) and for sampling (one UNet forward
per step), and each preset's ratio to the first one. Use it to size train.images and loop.num_samples
to a time budget: seconds per generation ≈ train.images / train_rate + num_samples · steps / sample_rate.
"""

import argparse
import time

import torch
from hydra import compose, initialize_config_dir

from lab import diffusion
from lab.config import CONF_DIR, resolve_device
from lab.loops import REAL, TrainingSet
from lab.seeding import generator
from lab.train import train_generation


def measure(preset: str, resolution: int, seconds: float, device) -> tuple[int, float, float]:
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="config", overrides=[f"model={preset}", "progress=false"])
    unet = diffusion.build_unet(cfg.model, resolution, 1, 10)
    params = sum(p.numel() for p in unet.parameters())
    n = 512
    data = TrainingSet(torch.randint(0, 256, (n, 1, resolution, resolution), dtype=torch.uint8), torch.arange(n) % 10,
                       torch.full((n,), REAL), torch.arange(n))
    scheduler = diffusion.build_train_scheduler(cfg.train)
    # Warm-up run, then a timed run sized from the warm-up's speed.
    cfg.train.images = 4 * int(cfg.train.batch_size)
    warm = train_generation(unet, scheduler, data, cfg.train, device, generator(0, 0, "b"), progress=False)
    cfg.train.images = max(cfg.train.images, int(seconds * warm.images_seen / warm.seconds))
    timed = train_generation(unet, scheduler, data, cfg.train, device, generator(0, 1, "b"), progress=False)
    train_rate = timed.images_seen / timed.seconds

    sampler = diffusion.build_sampler(cfg.sampler, scheduler)
    labels = torch.arange(int(cfg.sampler.batch_size)) % 10
    start = time.perf_counter()
    steps = 0
    while time.perf_counter() - start < seconds / 2 or steps == 0:
        diffusion.sample(timed.ema_model, sampler, labels, 5, 0.0, len(labels), generator(0, steps, "s"), device, progress=False)
        steps += 5
    sample_rate = steps * len(labels) / (time.perf_counter() - start)  # image-steps per second
    return params, train_rate, sample_rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--resolution", type=int, default=16)
    parser.add_argument("--presets", default="tiny,cpu")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    device = resolve_device(args.device)
    print(f"device={device} threads={torch.get_num_threads()} resolution={args.resolution}")
    print(f"{'preset':>10} {'params':>10} {'train img/s':>12} {'ratio':>6} {'sample img·step/s':>18} {'ratio':>6}")
    base = None
    for preset in args.presets.split(","):
        params, train_rate, sample_rate = measure(preset, args.resolution, args.seconds, device)
        base = base or (train_rate, sample_rate)
        print(f"{preset:>10} {params:>10,} {train_rate:>12.1f} {train_rate / base[0]:>6.2f} "
              f"{sample_rate:>18.1f} {sample_rate / base[1]:>6.2f}")


if __name__ == "__main__":
    main()
