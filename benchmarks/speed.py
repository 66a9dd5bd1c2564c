"""Training and sampling throughput, measured side by side in one run.

    python benchmarks/speed.py [--resolution 16] [--presets cpu] [--paths plain,fused,default] [--rounds 3]

For each model preset, each training path (how a step runs: `train.speed.*`) is timed on the same
data and printed with its ratio to the first path:

    plain      fp32 eager, a Python loop over the weights in AdamW and EMA (the lab before train.speed)
    fused      fused AdamW + foreach EMA
    bf16       fused + bfloat16 autocast (fast only with bf16 arithmetic: AMX or AVX512-BF16 on a CPU, any recent GPU)
    compile    fused + torch.compile of the UNet (the first steps include the compile time; excluded here)
    bf16_compile  fused + bf16 autocast + torch.compile
    default    what `train.speed` resolves to on this device (auto settings)

Sampling is one UNet forward per step (image·steps per second), with the preset's default sampler, eager in fp32
and in bf16 (`sampler.bf16`), and (where `sampler.compile=auto` compiles on this device) compiled with its last
batch padded.
Use it to size train.images and loop.num_samples to a time budget: seconds per generation ≈
train.images / train_rate + num_samples · steps / sample_rate.
"""

import argparse
import statistics
import time

import torch
from hydra import compose, initialize_config_dir

from lab import diffusion
from lab.config import CONF_DIR, resolve_device
from lab.generators.diffusion_model import sampling_forward
from lab.loops import REAL, TrainingSet
from lab.samplers import build_sampler, sampler_of
from lab.seeding import generator
from lab.train import cpu_bf16_units, train_generation, use_bf16, use_compile

PATHS = {
    "plain": ["train.speed.fused=false", "train.speed.bf16=false", "train.speed.compile=false"],
    "fused": ["train.speed.fused=true", "train.speed.bf16=false", "train.speed.compile=false"],
    "bf16": ["train.speed.fused=true", "train.speed.bf16=true", "train.speed.compile=false"],
    "compile": ["train.speed.fused=true", "train.speed.bf16=false", "train.speed.compile=true"],
    "bf16_compile": ["train.speed.fused=true", "train.speed.bf16=true", "train.speed.compile=true"],
    "default": [],
}


def measure_training(cfg, resolution: int, seconds: float, device) -> float:
    torch.manual_seed(0)
    unet = diffusion.build_unet(cfg.model, resolution, 1, 10)
    n = 512
    data = TrainingSet(torch.randint(0, 256, (n, 1, resolution, resolution), dtype=torch.uint8), torch.arange(n) % 10, torch.full((n,), REAL), torch.arange(n))
    scheduler = diffusion.build_train_scheduler(cfg.train)
    # Warm-up run (compiles where compile is on), then a timed run sized from the warm-up's speed.
    cfg.train.images = 8 * int(cfg.train.batch_size)
    warm = train_generation(unet, scheduler, data, cfg.train, device, generator(0, 0, "b"), progress=False)
    cfg.train.images = max(cfg.train.images, int(seconds * warm.images_seen / warm.seconds))
    timed = train_generation(warm.model, scheduler, data, cfg.train, device, generator(0, 1, "b"), progress=False)
    return timed.images_seen / timed.seconds


def measure_sampling(cfg, resolution: int, seconds: float, device, compiled: bool, bf16: bool = False) -> float:
    torch.manual_seed(0)
    unet = diffusion.build_unet(cfg.model, resolution, 1, 10).to(device)
    sampler = build_sampler(cfg.sampler, diffusion.build_train_scheduler(cfg.train))
    labels = torch.arange(int(cfg.sampler.batch_size)) % 10
    forward = sampling_forward(unet, compiled, device)

    def five_steps(seed: int):
        diffusion.sample(
            unet,
            sampler,
            labels,
            5,
            0.0,
            len(labels),
            generator(0, seed, "s"),
            device,
            **sampler_of(cfg.sampler).step_kwargs(cfg.sampler),
            progress=False,
            forward=forward,
            bf16=bf16,
        )

    five_steps(-1)  # warm-up: compiles where sampler.compile is on
    start = time.perf_counter()
    steps = 0
    while time.perf_counter() - start < seconds or steps == 0:
        five_steps(steps)
        steps += 5
    return steps * len(labels) / (time.perf_counter() - start)  # image-steps per second


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--resolution", type=int, default=16)
    parser.add_argument("--presets", default="cpu")
    parser.add_argument("--paths", default="plain,fused,default")
    parser.add_argument("--seconds", type=float, default=10.0, help="per path and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=None, help="default: the train preset's")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    batch = [f"train.batch_size={args.batch_size}"] if args.batch_size else []
    device = resolve_device(args.device)
    cpu = " + ".join([torch.backends.cpu.get_cpu_capability(), *cpu_bf16_units()])
    print(
        f"device={device} ({cpu}) threads={torch.get_num_threads()} resolution={args.resolution} "
        f"batch_size={args.batch_size or 'preset'} torch={torch.__version__}"
    )
    print(f"{'preset':>10} {'params':>10} {'path':>12} {'bf16':>5} {'compile':>7} {'train img/s':>12} {'range':>11} {'ratio':>6}")
    paths = args.paths.split(",")
    for preset in args.presets.split(","):
        cfgs = {}
        for path in paths:
            with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
                cfgs[path] = compose(config_name="config", overrides=[f"model={preset}", "progress=false", *batch, *PATHS[path]])
        params = sum(p.numel() for p in diffusion.build_unet(cfgs[paths[0]].model, args.resolution, 1, 10).parameters())
        # Paths take turns, round after round, and each reports its median: a shared machine's speed drifts
        # by tens of percent over minutes, and turns spread that drift over every path alike.
        rates = {path: [] for path in paths}
        for _ in range(args.rounds):
            for path in paths:
                rates[path].append(measure_training(cfgs[path], args.resolution, args.seconds, device))
        base = statistics.median(rates[paths[0]])
        for path in paths:
            rate, speed = statistics.median(rates[path]), cfgs[path].train.speed
            bf16, compiled = use_bf16(speed.bf16, device), use_compile(speed.compile, device)
            spread = f"{min(rates[path]):.0f}–{max(rates[path]):.0f}"
            print(f"{preset:>10} {params:>10,} {path:>12} {bf16!s:>5} {compiled!s:>7} {rate:>12.1f} {spread:>11} {rate / base:>6.2f}")
        sampling = cfgs[paths[-1]]
        # fp32 and bf16 take turns too; sampler.bf16=auto picks bf16 where train.speed.bf16=auto does.
        precision = {"fp32": [], "bf16": []}
        for _ in range(args.rounds):
            for name in precision:
                precision[name].append(measure_sampling(sampling, args.resolution, args.seconds / 2, device, compiled=False, bf16=name == "bf16"))
        eager = statistics.median(precision["fp32"])
        bf16_rate = statistics.median(precision["bf16"])
        print(
            f"{preset:>10} sampling ({sampling.sampler.name}, eager): fp32 {eager:.1f}, bf16 {bf16_rate:.1f} "
            f"image·steps/s ({bf16_rate / eager:.2f}×; sampler.bf16=auto: "
            f"{'bf16' if use_bf16(sampling.sampler.bf16, device) else 'fp32'} here)"
        )
        if use_compile(sampling.sampler.compile, device):  # what sampler.compile=auto does on this device
            bf16 = use_bf16(sampling.sampler.bf16, device)
            rate = measure_sampling(sampling, args.resolution, args.seconds / 2, device, compiled=True, bf16=bf16)
            print(
                f"{preset:>10} sampling ({sampling.sampler.name}, compiled, CUDA graphs): {rate:.1f} image·steps/s, "
                f"{rate / (bf16_rate if bf16 else eager):.2f}× eager at the same precision"
            )


if __name__ == "__main__":
    main()
