"""Random draws (training: batch order, noise, noise levels, label dropout; sampling: the noise), on host or device.

On the host (a CPU generator) a seed trains and samples the same on every device. On a GPU that costs a host draw
and a copy every step, and a copy from pageable host memory waits for the GPU: `train.speed.device_draws` moves the
draws onto the device, seeded from the host generator, at the price of device-specific random streams.
"""

import torch
from diffusers.training_utils import compute_density_for_timestep_sampling

from lab.named import Named


class TimestepKind(Named):
    """train.timesteps: how training draws its noise levels (Draws.timesteps)."""

    uniform = "uniform"
    logit_normal = "logit_normal"


def placed(generator: torch.Generator, device: torch.device, on_device: bool) -> torch.Generator:
    """`generator` itself, or with `on_device` a generator on `device` seeded from it. On a CPU the host generator
    already is the device's: the same draws either way."""
    if not on_device or device.type == "cpu":
        return generator
    return torch.Generator(device).manual_seed(int(torch.randint(0, 2**63 - 1, (1,), generator=generator)))


class Draws:
    def __init__(self, generator: torch.Generator, device: torch.device, on_device: bool):
        self.device = device
        self.generator = placed(generator, device, on_device)
        self.origin = self.generator.device

    def _here(self, x: torch.Tensor) -> torch.Tensor:
        return x.to(self.device, non_blocking=True)

    def randn(self, shape) -> torch.Tensor:
        return self._here(torch.randn(shape, generator=self.generator, device=self.origin))

    def rand(self, n: int) -> torch.Tensor:
        return self._here(torch.rand(n, generator=self.generator, device=self.origin))

    def randperm(self, n: int) -> torch.Tensor:
        return self._here(torch.randperm(n, generator=self.generator, device=self.origin))

    def timesteps(self, kind: str, num_train_timesteps: int, n: int) -> torch.Tensor:
        """Training noise levels. uniform: every t alike (DDPM). logit_normal: t/T = sigmoid(N(0, 1)) (Esser et al.
        2024, diffusers' SD3 helper), which spends the steps on the middle noise levels, where the model has the most
        to learn, and few on the nearly clean and nearly pure-noise ends."""
        if kind == "uniform":
            t = torch.randint(0, num_train_timesteps, (n,), generator=self.generator, device=self.origin)
        elif kind == "logit_normal":
            u = compute_density_for_timestep_sampling("logit_normal", n, logit_mean=0.0, logit_std=1.0, device=self.origin, generator=self.generator)
            t = (u * num_train_timesteps).long().clamp(max=num_train_timesteps - 1)
        else:
            raise ValueError(f"train.timesteps={kind} is not allowed; allowed: {', '.join(TimestepKind.values())}")
        return self._here(t)

    def batches(self, n: int, batch_size: int, steps: int):
        """Index batches from successive random permutations (epochs), `steps` batches in all."""
        produced = 0
        while produced < steps:
            perm = self.randperm(n)
            for start in range(0, n - batch_size + 1 if n >= batch_size else 1, batch_size):
                yield perm[start : start + batch_size]
                produced += 1
                if produced == steps:
                    return
