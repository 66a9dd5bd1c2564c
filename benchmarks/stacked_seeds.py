"""Would training several seeds' UNets in one step pay on a CPU? Measured side by side in one run.

    python benchmarks/stacked_seeds.py [--widths 32,64,64] [--batch 32] [--rounds 3]

A sweep trains the same UNet for every seed. torch.func can stack S models' weights and run one forward and
backward for all of them (functional_call under vmap of grad), so that a step's fixed cost (docs/performance.md)
is paid once for S seeds. This times a bare step (forward, MSE, backward, an SGD update) of S stacked models
against S steps of one model, taking turns over rounds, and prints model-steps per second and the ratio.
"""

import argparse
import copy
import statistics
import time

import torch
from omegaconf import OmegaConf
from torch.func import functional_call, grad, stack_module_state, vmap

from lab import diffusion


def unet(widths):
    cfg = OmegaConf.create({"block_out_channels": widths, "layers_per_block": 1, "norm_num_groups": 8, "attention": False, "conditional": True})
    return diffusion.build_unet(cfg, 16, 1, 10)


def single(widths, batch: int, steps: int) -> float:
    model = unet(widths)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
    x, t, y = torch.randn(batch, 1, 16, 16), torch.randint(0, 1000, (batch,)), torch.randint(0, 11, (batch,))
    for i in range(steps + 3):
        if i == 3:
            start = time.perf_counter()
        loss = (model(x, t, class_labels=y).sample - x).pow(2).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return steps / (time.perf_counter() - start)


def stacked(widths, batch: int, seeds: int, steps: int) -> float:
    models = [unet(widths) for _ in range(seeds)]
    params, buffers = stack_module_state(models)
    base = copy.deepcopy(models[0]).to("meta")

    def loss_of(p, b, x, t, y):
        return (functional_call(base, (p, b), (x, t), {"class_labels": y}).sample - x).pow(2).mean()

    step = vmap(grad(loss_of))
    x, t, y = torch.randn(seeds, batch, 1, 16, 16), torch.randint(0, 1000, (seeds, batch)), torch.randint(0, 11, (seeds, batch))
    keys = list(params)
    for i in range(steps + 2):
        if i == 2:
            start = time.perf_counter()
        grads = step(params, buffers, x, t, y)
        with torch.no_grad():
            torch._foreach_add_([params[k] for k in keys], [grads[k] for k in keys], alpha=-1e-3)
    return seeds * steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--widths", default="32,64,64")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seeds", default="2,4,8")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    widths = [int(w) for w in args.widths.split(",")]
    counts = [int(s) for s in args.seeds.split(",")]
    rates = {"single": [], **{s: [] for s in counts}}
    for _ in range(args.rounds):
        rates["single"].append(single(widths, args.batch, args.steps))
        for s in counts:
            rates[s].append(stacked(widths, args.batch, s, args.steps))
    base = statistics.median(rates["single"])
    print(f"widths={widths} batch={args.batch} threads={torch.get_num_threads()} torch={torch.__version__}; median of {args.rounds} rounds")
    print(f"one model:        {base:6.2f} model-steps/s   1.00")
    for s in counts:
        rate = statistics.median(rates[s])
        print(f"{s:2d} models stacked: {rate:6.2f} model-steps/s   {rate / base:.2f}")


if __name__ == "__main__":
    main()
