"""Train one generation: DDPM loss (min-SNR weighted), AdamW with warm-up + cosine decay, EMA weights.

How a step runs (fused optimizer, bf16 autocast, torch.compile) is `train.speed`, chosen per device."""

import contextlib
import copy
import math
import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from diffusers import DDPMScheduler, UNet2DModel
from diffusers.optimization import get_cosine_schedule_with_warmup
from diffusers.training_utils import EMAModel, compute_density_for_timestep_sampling
from tqdm.auto import tqdm

from lab import faults
from lab.diffusion import is_conditional, null_label, to_model_range
from lab.loops import TrainingSet


@dataclass
class TrainResult:
    model: UNet2DModel  # the weights that keep training (warm start continues from these)
    ema_model: UNet2DModel  # the weights that sample (a copy of `model` when EMA is off)
    loss: float  # mean loss over the last 10% of steps
    step_losses: list[float]  # every step's loss, in order
    images_seen: int
    seconds: float


def train_generation(
    unet: UNet2DModel,
    scheduler: DDPMScheduler,
    data: TrainingSet,
    train_cfg,
    device: torch.device,
    generator: torch.Generator,
    progress: bool = True,
) -> TrainResult:
    batch_size = int(train_cfg.batch_size)
    steps = max(1, math.ceil(int(train_cfg.images) / batch_size))
    unet.to(device).train()
    speed = train_cfg.speed
    # fused: one AdamW kernel over all weights instead of a Python loop over ~100 tensors (CPU and CUDA).
    optimizer = torch.optim.AdamW(unet.parameters(), lr=float(train_cfg.lr), weight_decay=float(train_cfg.weight_decay),
                                  fused=bool(speed.fused) or None)
    warmup = min(steps // 2, math.ceil(int(train_cfg.warmup_images) / batch_size))
    lr_schedule = get_cosine_schedule_with_warmup(optimizer, warmup, steps)
    ema = _make_ema(unet, train_cfg.ema, foreach=bool(speed.fused))
    forward = torch.compile(unet) if use_compile(speed.compile, device) else unet
    autocast = bf16_autocast(speed.bf16, device)
    conditional = is_conditional(unet)
    if conditional and bool((data.labels < 0).any()):
        raise ValueError("a class-conditional model needs a label for every training image")

    losses = []
    start = time.perf_counter()
    order = _batches(len(data), batch_size, steps, generator)
    bar = tqdm(order, total=steps, desc="training", unit="batch", disable=not progress, leave=False)
    for idx in bar:
        x0 = to_model_range(data.images[idx]).to(device)
        noise = torch.randn(x0.shape, generator=generator).to(device)
        t = _timesteps(train_cfg.timesteps, scheduler.config.num_train_timesteps, len(idx), generator).to(device)
        labels = None
        if conditional:
            labels = data.labels[idx].clone()
            # Label dropout teaches the same network the unconditional score needed for guidance.
            dropped = torch.rand(len(idx), generator=generator) < float(train_cfg.label_dropout)
            labels[dropped] = null_label(unet)
            labels = labels.to(device)
        with autocast:
            pred = forward(scheduler.add_noise(x0, noise, t), t, class_labels=labels).sample
        per_image = F.mse_loss(pred.float(), _target(scheduler, x0, noise, t), reduction="none").mean(dim=(1, 2, 3))
        loss = (per_image * _loss_weight(scheduler, t, train_cfg.snr_gamma)).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(unet.parameters(), float(train_cfg.grad_clip))
        optimizer.step()
        lr_schedule.step()
        if ema is not None:
            ema.step(unet.parameters())
        losses.append(loss.detach())
        if len(losses) == steps // 2:
            faults.point("train")
        if len(losses) % 50 == 0:  # reading a loss back waits for the device: not every step
            bar.set_postfix(loss=f"{losses[-1].item():.4f}", refresh=False)
    bar.close()
    step_losses = torch.stack(losses).float().cpu().tolist()  # waits for the device: before the clock stops
    seconds = time.perf_counter() - start

    sampling_model = copy.deepcopy(unet).eval()
    if ema is not None:
        ema.copy_to(sampling_model.parameters())
    tail = step_losses[-max(1, len(step_losses) // 10) :]
    return TrainResult(unet, sampling_model, sum(tail) / len(tail), step_losses, steps * batch_size, seconds)


def _timesteps(kind: str, num_train_timesteps: int, n: int, generator: torch.Generator) -> torch.Tensor:
    """Training noise levels. uniform: every t alike (DDPM). logit_normal: t/T = sigmoid(N(0, 1)) (Esser et al.
    2024, diffusers' SD3 helper), which spends the steps on the middle noise levels, where the model has the most to
    learn, and few on the nearly clean and nearly pure-noise ends."""
    if kind == "uniform":
        return torch.randint(0, num_train_timesteps, (n,), generator=generator)
    u = compute_density_for_timestep_sampling("logit_normal", n, logit_mean=0.0, logit_std=1.0, generator=generator)
    return (u * num_train_timesteps).long().clamp(max=num_train_timesteps - 1)


def _target(scheduler: DDPMScheduler, x0, noise, t) -> torch.Tensor:
    """What the network predicts, per the schedule's prediction_type (the samplers read the same)."""
    kind = scheduler.config.prediction_type
    if kind == "epsilon":
        return noise
    if kind == "v_prediction":
        return scheduler.get_velocity(x0, noise, t)
    if kind == "sample":
        return x0
    raise ValueError(f"train.prediction_type={kind} is not supported; allowed: epsilon, v_prediction, sample")


def use_bf16(setting, device: torch.device) -> bool:
    """auto: bf16 where the hardware has bf16 matrix units (CUDA GPUs that support it, CPUs with AMX).

    On a CPU without AMX, bf16 convolutions are emulated and run slower than fp32 (benchmarks/speed.py).
    """
    if setting != "auto":
        return bool(setting)
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return device.type == "cpu" and torch.cpu._is_amx_tile_supported()


def bf16_autocast(setting, device: torch.device):
    if not use_bf16(setting, device):
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16)


def use_compile(setting, device: torch.device) -> bool:
    """auto: compile on CUDA only; on a CPU the compile time is not earned back (benchmarks/speed.py)."""
    if setting != "auto":
        return bool(setting)
    return device.type == "cuda"


def _loss_weight(scheduler: DDPMScheduler, t: torch.Tensor, snr_gamma) -> torch.Tensor | float:
    """Min-SNR-γ weighting (Hang et al. 2023): caps the weight of the low-noise steps, whose easy
    gradients otherwise dominate, so a short training run spends more of itself on global structure.
    Expressed for the prediction type in use, so that it equals min(SNR, γ) weighting of the x0 error."""
    if snr_gamma is None:
        return 1.0
    alpha_bar = scheduler.alphas_cumprod.to(t.device)[t]
    snr = alpha_bar / (1 - alpha_bar)
    capped = torch.clamp(snr, max=float(snr_gamma))
    kind = scheduler.config.prediction_type
    return {"epsilon": capped / snr, "v_prediction": capped / (snr + 1), "sample": capped}[kind]


def _make_ema(unet: UNet2DModel, ema_cfg, foreach: bool) -> EMAModel | None:
    if not ema_cfg.enabled:
        return None
    # With warm-up the decay is 1 − (1 + step)^−power (capped at max_decay): a fixed 0.9999 would leave
    # the average at the initial weights after a few thousand CPU steps.
    return EMAModel(
        unet.parameters(),
        decay=float(ema_cfg.max_decay),
        use_ema_warmup=True,
        inv_gamma=1.0,
        power=float(ema_cfg.power),
        foreach=foreach,
    )


def _batches(n: int, batch_size: int, steps: int, generator: torch.Generator):
    """Index batches from successive random permutations (epochs), `steps` batches in all."""
    produced = 0
    while produced < steps:
        perm = torch.randperm(n, generator=generator)
        for start in range(0, n - batch_size + 1 if n >= batch_size else 1, batch_size):
            yield perm[start : start + batch_size]
            produced += 1
            if produced == steps:
                return
