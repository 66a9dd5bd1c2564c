"""The diffusion model: a diffusers UNet2DModel, its DDPM training schedule and a few-step sampler."""

import torch
from diffusers import DDIMScheduler, DDPMScheduler, UNet2DModel
from tqdm.auto import tqdm

from lab import faults


def build_unet(model_cfg, resolution: int, channels: int, num_classes: int) -> UNet2DModel:
    """A UNet sized by the preset. Class-conditional models get one extra class: the "no label" token."""
    widths = list(model_cfg.block_out_channels)
    last_down = "AttnDownBlock2D" if model_cfg.attention else "DownBlock2D"
    first_up = "AttnUpBlock2D" if model_cfg.attention else "UpBlock2D"
    return UNet2DModel(
        sample_size=resolution,
        in_channels=channels,
        out_channels=channels,
        layers_per_block=int(model_cfg.layers_per_block),
        block_out_channels=widths,
        down_block_types=["DownBlock2D"] * (len(widths) - 1) + [last_down],
        up_block_types=[first_up] + ["UpBlock2D"] * (len(widths) - 1),
        norm_num_groups=int(model_cfg.norm_num_groups),
        num_class_embeds=num_classes + 1 if model_cfg.conditional else None,
    )


def null_label(unet: UNet2DModel) -> int:
    """Index of the "no label" class (label dropout in training, the unconditional half of CFG)."""
    return unet.config.num_class_embeds - 1


def is_conditional(unet: UNet2DModel) -> bool:
    return unet.config.num_class_embeds is not None


def build_train_scheduler(train_cfg) -> DDPMScheduler:
    return DDPMScheduler(
        num_train_timesteps=int(train_cfg.num_train_timesteps),
        beta_schedule=train_cfg.beta_schedule,
        prediction_type=train_cfg.prediction_type,
    )


def to_model_range(images: torch.Tensor) -> torch.Tensor:
    return images.float() / 127.5 - 1.0


def to_uint8(x: torch.Tensor) -> torch.Tensor:
    return ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


@torch.no_grad()
def sample(
    unet: UNet2DModel,
    scheduler,
    labels: torch.Tensor,
    steps: int,
    guidance_scale: float,
    batch_size: int,
    generator: torch.Generator,
    device: torch.device,
    eta: float = 0.0,
    progress: bool = True,
    forward=None,
    bf16: bool = False,
) -> torch.Tensor:
    """uint8 images, one per entry of `labels` (ignored by an unconditional model).

    `bf16`: the UNet's forward under bfloat16 autocast; its ε comes back in fp32, and the solver's update (the
    scheduler) always runs in fp32.

    `forward`: `unet` under torch.compile. Every batch then runs at `batch_size`, the last one padded and the
    padding discarded, so that one compiled graph (one CUDA graph) serves them all.

    Classifier-free guidance: ε = ε(x, ∅) + (1 + w)(ε(x, y) − ε(x, ∅)); w = 0 is plain conditional
    sampling, and MAD's sampling bias is λ = 1/(1+w).
    """
    unet.eval()
    compiled = forward is not None
    forward = unet if forward is None else forward
    shape = (unet.config.in_channels, unet.config.sample_size, unet.config.sample_size)
    out = []
    batches = range(0, len(labels), batch_size)
    bar = tqdm(total=len(batches) * steps, desc="sampling", unit="step", disable=not progress, leave=False)
    for start in batches:
        y = labels[start : start + batch_size]
        n = len(y)
        if compiled and n < batch_size:
            y = torch.cat([y, y[:1].expand(batch_size - n)])
        y = y.to(device)
        # Noise comes from `generator` where it lives: on the host, a seed gives the same images on every device.
        x = torch.randn((len(y), *shape), generator=generator, device=generator.device).to(device)
        scheduler.set_timesteps(steps)  # DPM-Solver is stateful: reset before every trajectory
        x = x * scheduler.init_noise_sigma
        for t in scheduler.timesteps:
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                eps = _predict(unet, forward, scheduler.scale_model_input(x, t), t, y, guidance_scale)
            if compiled:  # a CUDA graph's output is overwritten by its next replay: the scheduler may keep it
                eps = eps.clone()
            # Stochastic samplers (DDIM with η > 0, SDE DPM-Solver++) draw their noise from the same generator.
            kwargs = {"eta": eta, "generator": generator} if isinstance(scheduler, DDIMScheduler) else {"generator": generator}
            x = scheduler.step(eps, t, x, **kwargs).prev_sample
            bar.update(1)
        out.append(to_uint8(x[:n]).cpu())
        faults.point("sample")
    bar.close()
    return torch.cat(out)


def _predict(unet, forward, x, t, y, guidance_scale: float) -> torch.Tensor:
    """ε from one forward of `forward` (`unet` or its compiled self); with guidance, both halves in one batch.
    In fp32 also under bf16 autocast, so that the guidance and the solver's arithmetic stay fp32."""
    if not is_conditional(unet):
        return forward(x, t).sample.float()
    if guidance_scale == 0:
        return forward(x, t, class_labels=y).sample.float()
    null = torch.full_like(y, null_label(unet))
    both = forward(torch.cat([x, x]), t, class_labels=torch.cat([y, null])).sample.float()
    cond, uncond = both.chunk(2)
    return uncond + (1.0 + guidance_scale) * (cond - uncond)
