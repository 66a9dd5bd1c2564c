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
from diffusers.training_utils import EMAModel
from tqdm.auto import tqdm

from lab import faults
from lab.diffusion import is_conditional, null_label, to_model_range
from lab.draws import Draws
from lab.errors import at_least, auto_or_bool, one_of, require
from lab.loops import TrainingSet

# torch.compile's modes (torch._inductor.list_mode_options()).
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")

# Reading a loss back waits for the device; the progress bar shows one every this many steps, and the losses of
# all steps come back in one transfer at the end.
LOSS_READBACK_EVERY = 50


def check_train(train) -> None:
    """Range checks of train.* (types and named values are the schema's): one LabError line each."""
    at_least("train.images", train.images, 1)
    if train.finetune_images is not None:
        at_least("train.finetune_images", train.finetune_images, 1)
    at_least("train.batch_size", train.batch_size, 1)
    require(train.lr > 0, f"train.lr={train.lr} is out of range: allowed > 0")
    require(
        train.snr_gamma is None or (isinstance(train.snr_gamma, (int, float)) and train.snr_gamma > 0),
        f"train.snr_gamma={train.snr_gamma} is out of range: allowed null or > 0",
    )
    require(0 <= train.label_dropout < 1, f"train.label_dropout={train.label_dropout} is out of range: allowed 0 ≤ value < 1")
    at_least("train.warmup_images", train.warmup_images, 0)
    at_least("train.weight_decay", train.weight_decay, 0)
    require(train.grad_clip > 0, f"train.grad_clip={train.grad_clip} is out of range: allowed > 0")
    check_synthetic_weight(train.synthetic_weight)
    at_least("train.num_train_timesteps", train.num_train_timesteps, 2)
    require(0 < train.ema.max_decay < 1, f"train.ema.max_decay={train.ema.max_decay} is out of range: allowed 0 < value < 1")
    require(train.ema.power > 0, f"train.ema.power={train.ema.power} is out of range: allowed > 0")
    for key in ("bf16", "compile", "device_draws"):
        auto_or_bool(f"train.speed.{key}", train.speed[key])
    one_of("train.speed.compile_mode", train.speed.compile_mode, COMPILE_MODES)


def check_synthetic_weight(value) -> None:
    """train.synthetic_weight, for every generator that takes it (the diffusion model, the Gaussian toy)."""
    require(isinstance(value, (int, float)) and value > 0, f"train.synthetic_weight={value} is out of range: allowed > 0 (1: a sample counts as a real image)")


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
    forward=None,
    sampling_model: UNet2DModel | None = None,
    images: int | None = None,
) -> TrainResult:
    """`forward`: `unet` as compiled once by the caller (`compiled`), so that a chain's generations reuse the compiled
    code and its CUDA graphs; `sampling_model`: a module of the same shape that receives the EMA weights in place
    (a sampler compiled on it stays valid). Without them, both are made here. `images`: the budget (default train.images)."""
    batch_size = int(train_cfg.batch_size)
    steps = max(1, math.ceil(int(train_cfg.images if images is None else images) / batch_size))
    unet.to(device).train()
    optimisation = _Optimisation.of(unet, train_cfg, steps)
    forward = compiled(unet, train_cfg.speed, device) if forward is None else forward
    conditional = is_conditional(unet)
    if conditional and bool((data.labels < 0).any()):
        raise ValueError("a class-conditional model needs a label for every training image")
    draws = Draws(generator, device, use_device_draws(train_cfg.speed.device_draws, device))
    # The whole training set lives on the device (60k MNIST digits are 47 MB of uint8): no copy per step.
    on_device = _TrainingImages(
        data.images.to(device), data.labels.to(device), null_label(unet) if conditional else None, _to(data.weights(train_cfg.synthetic_weight), device)
    )
    loss_of = _DenoisingLoss(forward, scheduler, train_cfg, draws, on_device)
    losses, start = [], time.perf_counter()
    bar = tqdm(draws.batches(len(data), batch_size, steps), total=steps, desc="training", unit="batch", disable=not progress, leave=False)
    for idx in bar:
        loss = loss_of(idx)
        optimisation.step(unet, loss)
        losses.append(loss.detach())
        if len(losses) == steps // 2:
            faults.point("train")
        if len(losses) % LOSS_READBACK_EVERY == 0:  # reading a loss back waits for the device: not every step
            bar.set_postfix(loss=f"{losses[-1].item():.4f}", refresh=False)
    bar.close()
    step_losses = torch.stack(losses).float().cpu().tolist()  # waits for the device: before the clock stops
    seconds = time.perf_counter() - start
    sampling_model = _sampling_weights(unet, optimisation.ema, sampling_model)
    tail = step_losses[-max(1, len(step_losses) // 10) :]
    return TrainResult(unet, sampling_model, sum(tail) / len(tail), step_losses, steps * batch_size, seconds)


@dataclass
class _Optimisation:
    """AdamW with warm-up and cosine decay, gradient clipping, and the EMA of the weights (None: off)."""

    optimizer: torch.optim.Optimizer
    lr_schedule: torch.optim.lr_scheduler.LRScheduler
    ema: EMAModel | None
    grad_clip: float

    @classmethod
    def of(cls, unet: UNet2DModel, train_cfg, steps: int) -> "_Optimisation":
        fused = bool(train_cfg.speed.fused)
        # fused: one AdamW kernel over all weights instead of a Python loop over ~100 tensors (CPU and CUDA).
        optimizer = torch.optim.AdamW(unet.parameters(), lr=float(train_cfg.lr), weight_decay=float(train_cfg.weight_decay), fused=fused or None)
        warmup = min(steps // 2, math.ceil(int(train_cfg.warmup_images) / int(train_cfg.batch_size)))
        lr_schedule = get_cosine_schedule_with_warmup(optimizer, warmup, steps)
        return cls(optimizer, lr_schedule, _make_ema(unet, train_cfg.ema, foreach=fused), float(train_cfg.grad_clip))

    def step(self, unet: UNet2DModel, loss: torch.Tensor) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(unet.parameters(), self.grad_clip)
        self.optimizer.step()
        self.lr_schedule.step()
        if self.ema is not None:
            self.ema.step(unet.parameters())


@dataclass
class _TrainingImages:
    images: torch.Tensor  # uint8, on the training device
    labels: torch.Tensor
    null: torch.Tensor | None  # the label that means "no class" (None: an unconditional model)
    weights: torch.Tensor | None  # each image's loss weight (train.synthetic_weight); None: every image 1


class _DenoisingLoss:
    """One batch's min-SNR weighted DDPM loss; its noise, noise levels and label dropout are drawn in that order,
    as seeded runs have always drawn them."""

    def __init__(self, forward, scheduler: DDPMScheduler, train_cfg, draws: Draws, data: _TrainingImages):
        self.forward, self.scheduler, self.cfg, self.draws, self.data = forward, scheduler, train_cfg, draws, data
        self.autocast = bf16_autocast(train_cfg.speed.bf16, data.images.device)

    def __call__(self, idx: torch.Tensor) -> torch.Tensor:
        x0 = to_model_range(self.data.images[idx])
        noise = self.draws.randn(x0.shape)
        t = self.draws.timesteps(self.cfg.timesteps, self.scheduler.config.num_train_timesteps, len(idx))
        labels = None
        if self.data.null is not None:
            # Label dropout teaches the same network the unconditional score needed for guidance (torch.where,
            # not a masked assignment: that would wait for the device every step).
            dropped = self.draws.rand(len(idx)) < float(self.cfg.label_dropout)
            labels = torch.where(dropped, self.data.null, self.data.labels[idx])
        with self.autocast:
            pred = self.forward(self.scheduler.add_noise(x0, noise, t), t, class_labels=labels).sample
        per_image = F.mse_loss(pred.float(), _target(self.scheduler, x0, noise, t), reduction="none").mean(dim=(1, 2, 3))
        per_image = per_image * _loss_weight(self.scheduler, t, self.cfg.snr_gamma)
        if self.data.weights is not None:
            per_image = per_image * self.data.weights[idx]
        return per_image.mean()


def _to(tensor: torch.Tensor | None, device) -> torch.Tensor | None:
    return None if tensor is None else tensor.to(device)


def _sampling_weights(unet: UNet2DModel, ema: EMAModel | None, sampling_model: UNet2DModel | None) -> UNet2DModel:
    """The model that samples: the trained weights, or their EMA, in `sampling_model` (kept, so that a sampler
    compiled on it stays valid) or in a copy."""
    if sampling_model is None:
        sampling_model = copy.deepcopy(unet)
    else:
        sampling_model.load_state_dict(unet.state_dict())
    sampling_model.eval()
    if ema is not None:
        ema.copy_to(sampling_model.parameters())
    return sampling_model


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
    """auto: bf16 where the hardware has bf16 arithmetic (CUDA GPUs that support it; CPUs with AMX tiles or with
    AVX512-BF16's bf16 dot products, which oneDNN's convolutions use).

    On a CPU with neither, bf16 convolutions are emulated and run slower than fp32 (benchmarks/speed.py).
    """
    if setting != "auto":
        return bool(setting)
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return device.type == "cpu" and bool(cpu_bf16_units())


def cpu_bf16_units() -> list[str]:
    """The bf16 arithmetic this CPU has, by name (benchmarks/speed.py prints them)."""
    return [name for name, has in (("AMX", torch.cpu._is_amx_tile_supported()), ("AVX512-BF16", torch.cpu._is_avx512_bf16_supported())) if has]


def bf16_autocast(setting, device: torch.device):
    if not use_bf16(setting, device):
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16)


def _on_cuda_when_auto(setting, device: torch.device) -> bool:
    return device.type == "cuda" if setting == "auto" else bool(setting)


def use_device_draws(setting, device: torch.device) -> bool:
    """auto: on CUDA, where a host draw and copy every step would leave the GPU waiting (lab/draws.py)."""
    return _on_cuda_when_auto(setting, device)


def compiled(unet: UNet2DModel, speed, device: torch.device):
    """The UNet under torch.compile where `train.speed.compile` says so (mode `train.speed.compile_mode`; its
    default, reduce-overhead, replays the step's kernels as CUDA graphs), else the UNet itself."""
    if not use_compile(speed.compile, device):
        return unet
    return torch.compile(unet, mode=speed.compile_mode)


def use_compile(setting, device: torch.device) -> bool:
    """auto: compile on CUDA only; on a CPU the compile time is not earned back (benchmarks/speed.py)."""
    return _on_cuda_when_auto(setting, device)


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
