"""Sample quality against the number of steps, for each sampler, on one trained model.

    python benchmarks/samplers.py RUN_DIR [--generation 0] [--steps 10,20,50] [--samplers …] [--num-samples N]
                                  [--precisions fp32,bf16]

RUN_DIR is a run of `python -m lab` that kept the generation's checkpoint (`loop.generations=1`, or
`loop.keep=all`). Every sampler draws the same labels and is scored with the run's own metrics
(classifier Fréchet distance and unrecognised share against the held-out set, same N), printed next to
the real-data floor (N real training images scored the same way). Every sampler costs one UNet
evaluation per step and image, so the steps column is the cost (benchmarks/speed.py: evaluations/s).
`--precisions fp32,bf16` scores each sampler with the UNet's forward in both (`sampler.bf16`), on the same
noise: the paired difference is what bf16 sampling costs in quality.
"""

import argparse
from pathlib import Path

import torch
from diffusers import UNet2DModel
from omegaconf import OmegaConf

from lab import diffusion
from lab.config import resolve_device
from lab.data import load_real_data
from lab.metrics import Evaluator
from lab.samplers import build_sampler
from lab.seeding import generator

# (label, sampler settings): the deterministic ODE samplers, then the stochastic ones.
SAMPLERS = {
    "ddim": ("DDIM η=0 (ODE)", {"name": "ddim", "eta": 0.0}),
    "dpm_solver": ("DPM-Solver++ 2M (ODE)", {"name": "dpm_solver", "spacing": "trailing"}),
    "ddim_eta1": ("DDIM η=1 (ancestral, DDPM-like)", {"name": "ddim", "eta": 1.0}),
    "dpm_solver_sde": ("SDE-DPM-Solver++ 2M", {"name": "dpm_solver_sde", "spacing": "trailing"}),
    "dpm_solver_log_snr": ("DPM-Solver++ 2M, log-SNR steps", {"name": "dpm_solver", "spacing": "log_snr"}),
    "dpm_solver_sde_log_snr": ("SDE-DPM-Solver++ 2M, log-SNR steps", {"name": "dpm_solver_sde", "spacing": "log_snr"}),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--generation", type=int, default=0)
    parser.add_argument("--steps", default="10,20,50")
    parser.add_argument("--samplers", default=",".join(SAMPLERS))
    parser.add_argument("--num-samples", type=int, default=None, help="default: the run's metrics.num_samples")
    parser.add_argument("--precisions", default="fp32", help="fp32, bf16 or both (fp32,bf16)")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    precisions = args.precisions.split(",")
    if not set(precisions) <= {"fp32", "bf16"}:
        parser.error(f"--precisions={args.precisions} is not allowed; allowed: fp32, bf16 or fp32,bf16")

    cfg = OmegaConf.load(args.run_dir / "config.yaml")
    device = resolve_device(args.device)
    real = load_real_data(cfg.data)
    evaluator = Evaluator(real, cfg, device, progress=False)
    n = args.num_samples or evaluator.num_samples
    unet = UNet2DModel.from_pretrained(args.run_dir / "checkpoints" / f"gen_{args.generation:03d}" / "unet_ema").to(device)
    train_scheduler = diffusion.build_train_scheduler(cfg.train)
    labels = torch.multinomial(real.class_distribution.float(), n, replacement=True, generator=generator(0, 0, "bench"))
    fd = evaluator.fd_name
    floor = evaluator.baseline
    print(
        f"model: {args.run_dir} generation {args.generation} (prediction_type={cfg.train.prediction_type}, "
        f"beta_schedule={cfg.train.beta_schedule}, {cfg.train.images} images seen); N={n}; "
        f"threads={torch.get_num_threads()}"
    )
    print(f"| sampler | steps | precision | {fd} | × floor | unrecognised |")
    print("|---|---|---|---|---|---|")
    print(f"| real training images (the floor) | – | – | {floor[fd]:.1f} | 1.0 | {floor['unrecognised_share']:.1%} |")
    for key in args.samplers.split(","):
        label, settings = SAMPLERS[key]
        for steps in [int(s) for s in args.steps.split(",")]:
            for precision in precisions:
                sampler = build_sampler(OmegaConf.create(settings), train_scheduler)
                images = diffusion.sample(
                    unet,
                    sampler,
                    labels,
                    steps,
                    0.0,
                    500,
                    generator(0, 0, "bench_noise"),
                    device,
                    eta=settings.get("eta", 0.0),
                    progress=False,
                    bf16=precision == "bf16",
                )
                scores = evaluator(images)
                print(f"| {label} | {steps} | {precision} | {scores[fd]:.1f} | {scores[fd] / floor[fd]:.1f} | {scores['unrecognised_share']:.1%} |", flush=True)


if __name__ == "__main__":
    main()
