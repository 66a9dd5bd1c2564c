"""What one optimizer step of the lab's diffusers UNet costs on this machine, by width, batch and thread count.

    python benchmarks/step_overhead.py [--resolution 16] [--rounds 3] [--steps 40]

A bare training step (forward, MSE loss, backward, fused AdamW; no EMA, no noise schedule) of UNet2DModel at the
widths below, each timed in turn over several rounds (a shared machine drifts), median steps/s printed with its
ratio to the CPU default's ([32, 64, 64], batch 32). It answers one question: how much of a generation's cost is
per step rather than per image. When a 4× narrower UNet at a quarter of the batch is not 10× faster per step, a
cheaper generation has to take fewer steps, and the lab's step-count record (docs/results/2026-11-29-cpu-default.md)
says quality follows the steps.
"""

import argparse
import statistics
import time

import torch
from omegaconf import OmegaConf

from lab import diffusion

WIDTHS = {"cpu default": [32, 64, 64], "half": [16, 32, 32], "half, 2 levels": [16, 32], "quarter, 2 levels": [8, 16]}


def steps_per_second(widths, batch: int, resolution: int, steps: int, bf16: bool) -> float:
    torch.manual_seed(0)
    groups = 8 if widths[0] >= 8 else 4
    cfg = OmegaConf.create({"block_out_channels": widths, "layers_per_block": 1, "norm_num_groups": groups, "attention": False, "conditional": True})
    unet = diffusion.build_unet(cfg, resolution, 1, 10)
    optimizer = torch.optim.AdamW(unet.parameters(), lr=1e-3, fused=True)
    x, t, y = torch.randn(batch, 1, resolution, resolution), torch.randint(0, 1000, (batch,)), torch.randint(0, 11, (batch,))
    for i in range(steps + 5):
        if i == 5:  # the first steps allocate
            start = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            out = unet(x, t, class_labels=y).sample
        loss = (out.float() - x).pow(2).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--resolution", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--batches", default="16,32,64")
    parser.add_argument("--bf16", action="store_true", help="bf16 autocast (fast only with AMX or AVX512-BF16)")
    args = parser.parse_args()
    cases = [(name, b, n) for n in map(int, args.threads.split(",")) for name in WIDTHS for b in map(int, args.batches.split(","))]
    times = {case: [] for case in cases}
    for _ in range(args.rounds):
        for name, batch, threads in cases:
            torch.set_num_threads(threads)
            times[(name, batch, threads)].append(steps_per_second(WIDTHS[name], batch, args.resolution, args.steps, args.bf16))
    print(f"resolution={args.resolution} bf16={args.bf16} torch={torch.__version__}; median of {args.rounds} rounds")
    print(f"{'threads':>7} {'UNet':>18} {'widths':>13} {'batch':>5} {'steps/s':>8} {'images/s':>8} {'ratio':>6}")
    for threads in map(int, args.threads.split(",")):
        base = statistics.median(times.get(("cpu default", 32, threads), [float("nan")]))
        for name, batch, n in cases:
            if n != threads:
                continue
            rate = statistics.median(times[(name, batch, n)])
            print(f"{n:>7} {name:>18} {str(WIDTHS[name]):>13} {batch:>5} {rate:8.1f} {rate * batch:8.0f} {rate / base:6.2f}")


if __name__ == "__main__":
    main()
