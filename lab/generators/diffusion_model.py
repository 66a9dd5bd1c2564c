"""The diffusion model behind the generator seam: a diffusers UNet, its DDPM training and few-step sampler."""

from copy import deepcopy
from dataclasses import dataclass
from pathlib import Path

import torch
from diffusers import UNet2DModel
from omegaconf import MISSING, OmegaConf

from lab import diffusion, faults
from lab.draws import placed
from lab.errors import require
from lab.generators.base import Fit, Generator, ModelConfig
from lab.labels import draw_labels, label_distribution
from lab.loops import REAL, Samples, TrainingSet
from lab.samplers import build_sampler, sampler_of
from lab.seeding import derive_seed, draw_purpose, generator
from lab.train import compiled, train_generation, use_bf16, use_compile, use_device_draws


def sampling_forward(unet: UNet2DModel, setting, device: torch.device):
    """`unet` compiled for sampling where `sampler.compile` says so, else None (eager). Sampling runs without
    gradients at one fixed batch shape (lab.diffusion.sample pads the last batch): CUDA graphs replay it whole."""
    return torch.compile(unet, mode="reduce-overhead") if use_compile(setting, device) else None


@dataclass
class DiffusionConfig(ModelConfig):
    """The UNet (diffusers' UNet2DModel): one width per level, halving the resolution between levels."""

    block_out_channels: list[int] = MISSING
    layers_per_block: int = MISSING
    norm_num_groups: int = MISSING
    # Self-attention in the lowest-resolution down and up blocks. The UNet's middle block has its own attention
    # whatever this says (diffusers' UNet2DModel default, kept so that existing runs' models stay the same).
    attention: bool = MISSING


class DiffusionGenerator(Generator):
    family = "diffusion"
    Config = DiffusionConfig

    @staticmethod
    def check(cfg) -> None:
        model, data = cfg.model, cfg.data
        levels = len(model.block_out_channels)
        factor = 2 ** (levels - 1)
        require(
            data.resolution % factor == 0,
            f"data.resolution={data.resolution} does not fit model={model.name}: its {levels} levels need a multiple of {factor}",
        )
        for width in model.block_out_channels:
            require(
                width % model.norm_num_groups == 0,
                f"model.block_out_channels={list(model.block_out_channels)}: every width must be a multiple of model.norm_num_groups={model.norm_num_groups}",
            )

    def __init__(self, cfg, real, device, progress: bool):
        self.cfg, self.device, self.progress = cfg, device, progress
        self.num_classes = real.num_classes
        self.pool_distribution = real.class_distribution
        self.training_labels: torch.Tensor | None = None  # what the last fit trained on: sampler.labels=training_set
        self.train_scheduler = diffusion.build_train_scheduler(cfg.train)
        self.sampler = build_sampler(cfg.sampler, self.train_scheduler)
        self.model: UNet2DModel | None = None  # the weights that keep training (a warm start continues them)
        self.ema_model: UNet2DModel | None = None  # the weights that sample
        # Both modules are kept for the whole chain (re-initialised and overwritten in place), so that the code
        # torch.compile made for them, and the CUDA graphs recorded on their weights, serve every generation.
        self._train_forward = None
        self._sample_forward = None

    def fit(self, data: TrainingSet, generation: int) -> Fit:
        cfg = self.cfg
        self.training_labels = data.labels
        warm = self.model is not None and bool(cfg.train.warm_start)  # fine-tunes the previous generation
        if not warm:
            torch.manual_seed(derive_seed(cfg.seed, generation, "init"))
            fresh = diffusion.build_unet(cfg.model, int(cfg.data.resolution), int(cfg.data.channels), self.num_classes)
            if self.model is None:
                self.model = fresh
            else:  # a new generation from scratch (MAD): a new module's weights, in the same module
                self.model.load_state_dict(fresh.state_dict())
        if self._train_forward is None:
            self._train_forward = compiled(self.model.to(self.device), cfg.train.speed, self.device)
        trained = train_generation(
            self.model,
            self.train_scheduler,
            data,
            cfg.train,
            self.device,
            generator(cfg.seed, generation, "train"),
            self.progress,
            forward=self._train_forward,
            sampling_model=self.ema_model,
            images=cfg.train.finetune_images if warm else None,
        )
        self.ema_model = trained.ema_model
        return Fit(
            scalars={"train/loss": trained.loss, "train/images_seen": trained.images_seen},
            timing={
                "timing/train_seconds": trained.seconds,
                "timing/train_images_per_second": trained.images_seen / max(trained.seconds, 1e-9),
                # The bf16 settings' auto depends on the hardware: a chain resumed elsewhere shows where it changed.
                "timing/train_bf16": float(use_bf16(cfg.train.speed.bf16, self.device)),
                "timing/sample_bf16": float(use_bf16(cfg.sampler.bf16, self.device)),
            },
        )

    def sample(self, n: int, generation: int, draw: int = 0) -> Samples:
        cfg = self.cfg
        if diffusion.is_conditional(self.ema_model):
            shares = label_distribution(cfg.sampler.labels, self.training_labels, self.pool_distribution)
            labels = draw_labels(shares, n, generator(cfg.seed, generation, draw_purpose("sample_labels", draw)))
        else:
            labels = torch.full((n,), -1, dtype=torch.long)
        if self._sample_forward is None:
            self._sample_forward = sampling_forward(self.ema_model.to(self.device), cfg.sampler.compile, self.device)
        noise = placed(generator(cfg.seed, generation, draw_purpose("sample", draw)), self.device, use_device_draws(cfg.train.speed.device_draws, self.device))
        images = diffusion.sample(
            self.ema_model.to(self.device),
            self.sampler,
            labels,
            int(cfg.sampler.steps),
            float(cfg.sampler.guidance_scale),
            int(cfg.sampler.batch_size),
            noise,
            self.device,
            **sampler_of(cfg.sampler).step_kwargs(cfg.sampler),
            progress=self.progress,
            forward=self._sample_forward,
            bf16=use_bf16(cfg.sampler.bf16, self.device),
        )
        return Samples(generation, images, labels)

    def sampling_weights(self) -> dict:
        return {k: v.detach().clone() for k, v in self.ema_model.state_dict().items()}

    def load_sampling_weights(self, weights: dict) -> None:
        self.ema_model.load_state_dict(weights)  # in place: a sampler compiled on the module stays valid

    def self_trained(self, samples: Samples, images: int, generation: int, lr_scale: float) -> dict:
        """A copy of the sampling weights trained on `samples` for `images` images (a fresh optimiser and schedule, the
        run's training settings at `lr_scale` × train.lr, a seeded stream of its own); its raw weights, not their average."""
        cfg, copy = self.cfg, deepcopy(self.ema_model)
        train = OmegaConf.merge(cfg.train, {"lr": float(cfg.train.lr) * lr_scale})
        n = len(samples.labels)
        # Marked as one kind (REAL): a set of one kind has nothing for train.synthetic_weight to weigh.
        own = TrainingSet(samples.images, samples.labels, torch.full((n,), REAL), torch.full((n,), -1))
        trained = train_generation(
            copy, self.train_scheduler, own, train, self.device, generator(cfg.seed, generation, "self_train"), self.progress, images=images
        )
        return {k: v.detach() for k, v in trained.model.state_dict().items()}

    def save(self, directory: Path) -> None:
        self.model.save_pretrained(directory / "unet")
        faults.point("checkpoint_write")
        self.ema_model.save_pretrained(directory / "unet_ema")

    def load(self, directory: Path) -> None:
        """The raw (training) weights: what a warm start continues from."""
        loaded = UNet2DModel.from_pretrained(directory / "unet")
        # Rebuilt from its config less `_name_or_path` (where it was loaded from), so that the checkpoints a resumed
        # or extended chain saves are byte for byte those of a chain that never stopped.
        self.model = UNet2DModel.from_config({k: v for k, v in loaded.config.items() if k != "_name_or_path"})
        self.model.load_state_dict(loaded.state_dict())
        self._train_forward = None  # compiled for the module this replaces
