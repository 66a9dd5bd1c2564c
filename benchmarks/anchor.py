"""The lab's training loop against the anchor, side by side in one run: images/s, ratio, share of peak.

    python benchmarks/anchor.py [--model cpu] [--data mnist5k] [--batch-size 32] [--rounds 3] [--seconds 10]
                                [--device auto] [--peak-tflops X]

The anchor is a training loop written the way diffusers' examples/unconditional_image_generation/
train_unconditional.py does it: a DataLoader over PIL images with torchvision transforms, Accelerate's
`prepare`, diffusers' EMAModel (per-tensor update), AdamW as constructed there, `loss.item()` logged
every step. The lab's loop is `lab.train.train_generation` with the config's `train.speed` (override it
with e.g. `--lab train.speed.bf16=true`). Both train the same UNet (the preset's, class-conditional with
the same labels), on the same real images, batch size and device, taking turns round after round
(a shared machine's speed drifts); each reports its median.

FLOPs per training image (forward + backward) come from `torch.utils.flop_counter`; with
`--peak-tflops` (the device's dense peak for the dtype in use, e.g. 989 for bf16 on an H100/H200 SXM)
the share of peak is printed too. Needs Accelerate: `pip install -e ".[bench]"`.
"""

import argparse
import copy
import statistics
import time

import torch
import torch.nn.functional as F
from hydra import compose, initialize_config_dir
from torch.utils.data import DataLoader, Dataset

from lab import diffusion
from lab.config import CONF_DIR, resolve_device
from lab.data import load_real_data
from lab.loops import REAL, TrainingSet
from lab.seeding import generator
from lab.train import train_generation


class PILDigits(Dataset):
    """What the example's `datasets` pipeline yields: PIL images through torchvision transforms."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor):
        from torchvision import transforms

        to_pil = transforms.ToPILImage()
        self.images = [to_pil(img) for img in images]
        self.labels = labels.tolist()
        self.transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize([0.5], [0.5])])

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return self.transform(self.images[i]), self.labels[i]


def anchor_rate(unet, dataset, cfg, device, seconds: float) -> float:
    """Images/s of the example's loop (no gradient accumulation, fp32 as its default `--mixed_precision no`)."""
    from accelerate import Accelerator
    from diffusers.optimization import get_cosine_schedule_with_warmup
    from diffusers.training_utils import EMAModel

    accelerator = Accelerator(mixed_precision="no", cpu=device.type == "cpu")
    model = copy.deepcopy(unet)
    optimizer = torch.optim.AdamW(model.parameters(), lr=float(cfg.train.lr), betas=(0.95, 0.999), weight_decay=1e-6, eps=1e-8)
    loader = DataLoader(dataset, batch_size=int(cfg.train.batch_size), shuffle=True, num_workers=0, drop_last=True)
    lr_scheduler = get_cosine_schedule_with_warmup(optimizer, num_warmup_steps=50, num_training_steps=100_000)
    model, optimizer, loader, lr_scheduler = accelerator.prepare(model, optimizer, loader, lr_scheduler)
    ema = EMAModel(model.parameters(), decay=0.9999, use_ema_warmup=True, inv_gamma=1.0, power=0.75)
    ema.to(accelerator.device)
    scheduler = diffusion.build_train_scheduler(cfg.train)
    images, steps, start, warm = 0, 0, None, 5
    while start is None or time.perf_counter() - start < seconds:
        for clean, labels in loader:
            if steps == warm:  # the first steps (allocation, autotuning) are not timed
                start, images = time.perf_counter(), 0
            noise = torch.randn(clean.shape, device=clean.device)
            t = torch.randint(0, scheduler.config.num_train_timesteps, (clean.shape[0],), device=clean.device).long()
            noisy = scheduler.add_noise(clean, noise, t)
            with accelerator.accumulate(model):
                pred = model(noisy, t, class_labels=labels).sample
                loss = F.mse_loss(pred.float(), noise.float())
                accelerator.backward(loss)
                if accelerator.sync_gradients:
                    accelerator.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
                lr_scheduler.step()
                optimizer.zero_grad()
            if accelerator.sync_gradients:
                ema.step(model.parameters())
            logs = {"loss": loss.detach().item(), "lr": lr_scheduler.get_last_lr()[0], "step": steps}  # every step, as there
            del logs
            images += clean.shape[0]
            steps += 1
            if start is not None and time.perf_counter() - start >= seconds:
                break
    return images / (time.perf_counter() - start)


def lab_rate(unet, data: TrainingSet, cfg, device, seconds: float) -> float:
    scheduler = diffusion.build_train_scheduler(cfg.train)
    cfg.train.images = 8 * int(cfg.train.batch_size)  # warm-up (compiles where compile is on)
    warm = train_generation(copy.deepcopy(unet), scheduler, data, cfg.train, device, generator(0, 0, "a"), progress=False)
    cfg.train.images = max(cfg.train.images, int(seconds * warm.images_seen / warm.seconds))
    timed = train_generation(warm.model, scheduler, data, cfg.train, device, generator(0, 1, "a"), progress=False)
    return timed.images_seen / timed.seconds


def flops_per_image(unet, data: TrainingSet, device, batch: int = 8) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    model = copy.deepcopy(unet).to(device).train()
    x = diffusion.to_model_range(data.images[:batch]).to(device)
    t = torch.randint(0, 1000, (batch,), device=device)
    labels = data.labels[:batch].to(device) if diffusion.is_conditional(model) else None
    with FlopCounterMode(display=False) as counter:
        model(x, t, class_labels=labels).sample.square().mean().backward()
    return counter.get_total_flops() / batch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="cpu")
    parser.add_argument("--data", default="mnist5k")
    parser.add_argument("--batch-size", type=int, default=None, help="default: the train preset's")
    parser.add_argument("--train", default=None, help="train preset (default: the config's)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0, help="per loop and round")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--peak-tflops", type=float, default=None, help="the device's dense peak, for the share of peak")
    parser.add_argument("--lab", nargs="*", default=[], help="extra overrides for the lab's loop, e.g. train.speed.bf16=true")
    args = parser.parse_args()
    overrides = [f"model={args.model}", f"data={args.data}", "progress=false"]
    overrides += [f"train={args.train}"] if args.train else []
    overrides += [f"train.batch_size={args.batch_size}"] if args.batch_size else []
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="config", overrides=overrides + args.lab)
    device = resolve_device(args.device)
    real = load_real_data(cfg.data)
    n = len(real.train_labels)
    data = TrainingSet(real.train_images, real.train_labels, torch.full((n,), REAL), torch.arange(n))
    dataset = PILDigits(real.train_images, real.train_labels)
    torch.manual_seed(0)
    unet = diffusion.build_unet(cfg.model, int(cfg.data.resolution), int(cfg.data.channels), real.num_classes).to(device)
    flops = flops_per_image(unet, data, device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU ({torch.backends.cpu.get_cpu_capability()})"
    print(
        f"device={device} {name} threads={torch.get_num_threads()} model={args.model} data={args.data} "
        f"resolution={cfg.data.resolution} batch={cfg.train.batch_size} train.speed={dict(cfg.train.speed)} torch={torch.__version__}"
    )
    print(f"{flops / 1e9:.3f} GFLOP per training image (forward + backward, torch.utils.flop_counter)")
    rates = {"anchor": [], "lab": []}
    for _ in range(args.rounds):
        rates["anchor"].append(anchor_rate(unet, dataset, copy.deepcopy(cfg), device, args.seconds))
        rates["lab"].append(lab_rate(unet, data, copy.deepcopy(cfg), device, args.seconds))
    print(f"{'loop':>8} {'images/s':>10} {'range':>13} {'TFLOP/s':>8} {'of peak':>8} {'ratio':>6}")
    base = statistics.median(rates["anchor"])
    for loop, values in rates.items():
        rate = statistics.median(values)
        achieved = rate * flops / 1e12
        share = f"{achieved / args.peak_tflops:.1%}" if args.peak_tflops else "–"
        print(f"{loop:>8} {rate:>10.1f} {f'{min(values):.0f}–{max(values):.0f}':>13} {achieved:>8.3f} {share:>8} {rate / base:>6.2f}")


if __name__ == "__main__":
    main()
