"""The settings' schema: every key, its type, and the defaults that every option of a group shares.

Registered in Hydra's ConfigStore as `lab_schema` and named first in `conf/config.yaml`'s defaults, so
that Hydra itself rejects a wrong type (`loop.generations=2.5`); `check_known_keys` rejects keys the
schema does not know, which Hydra's `+key=value` would otherwise add (`+loop.real_fracton=0.5`).
Values that differ between a group's options live in its YAML files (`conf/<group>/<option>.yaml`);
a value that every option shares is written here once. Where a group's options differ in their settings,
each kind has its own dataclass stored as `<group>/schema_<kind>` and named first in the option's YAML:
the data sets' here, the generators', samplers' and mitigations' beside their code (lab/generators/,
lab/samplers/, lab/curate/). Range checks: next to each option, and `lab/config.py` for the rest.
"""

from dataclasses import dataclass, field, fields, is_dataclass
from functools import cache
from typing import ClassVar

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig, OmegaConf

from lab.claims import ClaimConfig
from lab.curate.base import CurateConfig
from lab.draws import TimestepKind
from lab.errors import LabError
from lab.generators.base import ModelConfig
from lab.merge.base import MergeConfig
from lab.named import Named
from lab.older_runs import OLDER_RUNS, added_later
from lab.samplers.base import SamplerConfig


class PredictionType(Named):
    """train.prediction_type: what the UNet predicts (diffusers' names)."""

    epsilon = "epsilon"
    v_prediction = "v_prediction"
    sample = "sample"


class BetaSchedule(Named):
    """train.beta_schedule: the noise schedule (diffusers' names)."""

    linear = "linear"
    scaled_linear = "scaled_linear"
    squaredcos_cap_v2 = "squaredcos_cap_v2"


class Keep(Named):
    """loop.keep: the checkpoints kept on disk."""

    last = "last"
    all = "all"


class Features(Named):
    """metrics.features: the feature space of the distances and manifold metrics."""

    classifier = "classifier"
    inception = "inception"


class TrackingMode(Named):
    """tracking.mode: auto (online with an API key, else offline) | online | offline | disabled."""

    auto = "auto"
    online = "online"
    offline = "offline"
    disabled = "disabled"


@dataclass
class DataConfig:
    """The settings every data set has; image and toy data sets add their own (below)."""

    name: str = MISSING
    # Held-out real reference set (stratified by class) that no generation ever trains on.
    heldout_size: int = MISSING
    split_seed: int = 0
    # Long-tailed training pool: one relative weight per class, e.g. [1, 0.5, …, 0.1]; each class keeps a
    # seeded random subset of its pool images in these proportions (as many as the pool allows). The
    # held-out set keeps the data set's own shares. null: the pool as it is.
    class_shares: list[float] | None = None


@dataclass
class ImageDataConfig(DataConfig):
    """An image data set (data/schema_images): conf/data/<name>.yaml names it first in its defaults."""

    # Where the files are (null: data that ships inside a package). Every data set's file says it, since a
    # required value (imagefolder's ???) cannot be merged over a default.
    root: str | None = MISSING
    # torchvision data sets only, and only with a network.
    download: bool = False
    # Images are resized to resolution×resolution.
    resolution: int = MISSING
    channels: int = MISSING


@dataclass
class PointDataConfig(DataConfig):
    """A toy data set of points with a known distribution (data/schema_points; lab/datasets/)."""

    # Dimensions of a point (gmm25: always 2) and real points drawn into the training pool (the held-out set is
    # another heldout_size draw).
    dim: int = MISSING
    pool_size: int = MISSING
    # Toy runs from before the typed data schemas recorded data.download (an image setting) at its default.
    removed_later: ClassVar[dict] = {"download": False}


@dataclass
class EMAConfig:
    enabled: bool = MISSING
    max_decay: float = MISSING
    power: float = MISSING


@dataclass
class SpeedConfig:
    fused: bool = MISSING
    bf16: bool | str = MISSING  # auto | true | false
    compile: bool | str = MISSING  # auto | true | false
    compile_mode: str = added_later("reduce-overhead", MISSING)  # a torch.compile mode (lab.train.COMPILE_MODES)
    device_draws: bool | str = added_later("auto", MISSING)  # auto | true | false


@dataclass
class TrainConfig:
    name: str = MISSING
    images: int = MISSING
    batch_size: int = MISSING
    lr: float = MISSING
    warmup_images: int = MISSING
    weight_decay: float = MISSING
    grad_clip: float = MISSING
    warm_start: bool = MISSING
    # Images seen by a warm-started generation t ≥ 1 (its fine-tuning budget); null: train.images, as generation 0.
    finetune_images: int | None = None
    label_dropout: float = MISSING
    num_train_timesteps: int = MISSING
    beta_schedule: BetaSchedule = MISSING
    prediction_type: PredictionType = MISSING
    snr_gamma: float | None = MISSING
    timesteps: TimestepKind = added_later("uniform", MISSING)
    # The loss weight of a synthetic training image relative to a real one (1: every image alike). The training
    # set stays as the loop composed it; only how much each synthetic image counts moves. The weighted risk is
    # (1/n) Σ wᵢ ℓᵢ with the weights scaled to a mean of 1 over the set: the loss keeps its scale and only the
    # ratio acts (a set of one kind is not weighted at all). The Gaussian toy fits its weighted mean and covariance.
    synthetic_weight: float = added_later(1.0, 1.0)
    ema: EMAConfig = field(default_factory=EMAConfig)
    speed: SpeedConfig = field(default_factory=SpeedConfig)


@dataclass
class LoopConfig:
    """The chain's settings, shared by every loop; a loop's file holds only what makes that loop."""

    name: str = MISSING
    # Number of generations, generation 0 counted in: generations=4 trains gens 0..3 (the CPU regime presets'
    # length, and what `make run` trains; docs/results/2026-11-29-measured.md).
    generations: int = 4
    # Images in each generation's training set (generation 0: real only).
    train_size: int = 2000
    # Share p of real images in a generation's training set, the same knob in every loop:
    # n_real = round(p·train_size), n_synthetic = train_size − n_real (MAD n_r/n_s = p/(1−p);
    # Bertrand et al.'s λ = (1−p)/p synthetic images per real one).
    real_fraction: float = 0.5
    # Samples drawn from each generation (feed the next generation and the metrics).
    num_samples: int = 2000
    # Samples each generation draws on top and holds back: no training set ever takes them, so the
    # next generation's memorisation is measured against fresh samples of the source it trained on
    # (metrics/copy_share_null). 0: none (the null is then held-out real images only). Else ≥ metrics.num_samples.
    heldback_samples: int = added_later(0, "${metrics.num_samples}")  # an interpolation, resolved to int
    # Checkpoints kept on disk: last (only the newest generation's model) or all.
    keep: Keep = Keep.last
    # The regime may change at given generations: spans LOOP[:P[..Q]]@FIRST[-LAST] (lab/schedule.py), e.g.
    # [fully_synthetic@1-3] self-consumes for 3 generations and then runs loop= again; [0.9..0.1@1-5] moves the
    # real fraction of loop= from 0.9 to 0.1. Generations no span names run loop= at real_fraction.
    schedule: list[str] = added_later([], default_factory=list)


@dataclass
class KIDConfig:
    subsets: int = MISSING
    subset_size: int | None = MISSING


@dataclass
class ClassifierConfig:
    feature_dim: int = MISSING
    epochs: int = MISSING
    batch_size: int = MISSING
    lr: float = MISSING


@dataclass
class MetricsConfig:
    # The metrics a run computes, in this order (lab/metrics/, one file each); those that do not apply to the data
    # (images or a toy's points) are passed over. Runs made before this setting computed every one of these.
    run: list[str] = added_later(
        ["frechet", "w2", "moments", "manifold", "knn_coverage", "tails", "feature_variance", "kid", "vendi", "pixels", "classes", "memorisation", "modes"],
        MISSING,
    )
    features: Features = MISSING
    num_samples: int = MISSING
    recognised_threshold: float = MISSING
    nearest_k: int = MISSING
    # A class counts as present (classes_present) when it holds at least this share of the recognised samples, so
    # that one misread sample does not keep a lost class alive.
    class_min_share: float = added_later(0.0, 0.01)
    # Toy data set gmm25: a mode counts as covered when it holds at least this share of the samples.
    mode_min_share: float = added_later(0.01, 0.01)
    kid: KIDConfig = field(default_factory=KIDConfig)
    classifier: ClassifierConfig = field(default_factory=ClassifierConfig)


@dataclass
class TrackingConfig:
    mode: TrackingMode = MISSING
    project: str = "self-consumption-lab"
    entity: str | None = None
    # null: the sweep directory for a multirun (all jobs of one sweep share it), the run name otherwise.
    group: str | None = None
    tags: list[str] = field(default_factory=list)
    # Log each generation's training set, model and samples as W&B artifacts, with three small runs per generation
    # that use and log them, so that W&B's lineage graph shows the chain (lab/lineage.py, docs/dashboards.md).
    lineage: bool = True


@dataclass
class LabConfig:
    seed: int = 0
    # auto: the first CUDA GPU when present, else Apple's MPS, else the CPU. Or name one: cpu, cuda, cuda:1.
    device: str = "auto"
    # Where the run writes everything. null: Hydra's output directory (outputs/… or multirun/…/N).
    run_dir: str | None = None
    # Shared across runs: the feature classifier is trained once per dataset and resolution and kept here.
    cache_dir: str = "${oc.env:LAB_CACHE_DIR,${oc.env:HOME,.}/.cache/self-consumption-lab}"
    # Torch CPU threads; null leaves torch's default (all cores).
    threads: int | None = None
    # Show progress bars (training, sampling). Turned off in tests.
    progress: bool = True
    # A run directory started by other code (another commit, edited source) is not resumed unless this is
    # true: generations from two versions of the code in one chain would be a silent science bug.
    resume_other_code: bool = False
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    sampler: SamplerConfig = field(default_factory=SamplerConfig)
    loop: LoopConfig = field(default_factory=LoopConfig)
    curate: CurateConfig = field(default_factory=CurateConfig)
    merge: MergeConfig = field(default_factory=MergeConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    # What an experiment preset exists to test, declared before it runs (lab/claims.py); the report tests these as
    # its confirmatory family. They do not change the chain: resume and run names leave them out.
    claims: list[ClaimConfig] = field(default_factory=list)
    # A sweep that grows by seeds and is read more than once: the seed counts of the planned reads, fixed with the
    # claims (lab.views.report_power.look_level spends α over them); [] for one read.
    looks: list[int] = field(default_factory=list)


@cache
def older_run_values() -> tuple[dict, dict]:
    """(added, removed): setting → the value that reproduces runs made before it (`added_later` fields), and setting
    an option no longer has → the value its older runs recorded (`removed_later`), over every schema of the tree."""
    added, removed = {}, {}

    def walk(schema, prefix: str) -> None:
        for kind in _with_subclasses(schema):  # a group's options extend its schema (model, sampler, curate, merge, data)
            removed.update({prefix + k: v for k, v in vars(kind).get("removed_later", {}).items()})
            for f in fields(kind):
                if OLDER_RUNS in f.metadata:
                    added[prefix + f.name] = f.metadata[OLDER_RUNS]
                if is_dataclass(f.default_factory):
                    walk(f.default_factory, f"{prefix}{f.name}.")

    walk(LabConfig, "")
    return added, removed


def _with_subclasses(schema) -> list:
    return [schema, *(sub for child in schema.__subclasses__() for sub in _with_subclasses(child))]


def register() -> None:
    store = ConfigStore.instance()
    store.store(name="lab_schema", node=LabConfig)
    store.store(group="data", name="schema_images", node=ImageDataConfig)
    store.store(group="data", name="schema_points", node=PointDataConfig)


def check_known_keys(cfg: DictConfig) -> None:
    """Hydra's `+key=value` adds keys even to a typed config: every key must be a field of its node's schema
    (the group option's own dataclass, e.g. curate=verifier's, where the option has one)."""
    unknown = _unknown_keys(cfg, "")
    if unknown:
        raise LabError(f"{unknown} is not a setting (check the spelling; `python -m lab --cfg job` lists every setting)")


def _unknown_keys(node: DictConfig, prefix: str) -> str | None:
    schema = OmegaConf.get_type(node)
    known = {f.name for f in fields(schema)} if is_dataclass(schema) else None
    for key in node.keys():
        path = f"{prefix}{key}"
        if known is not None and key not in known:
            return path
        child = node._get_node(key)
        if isinstance(child, DictConfig) and not child._is_missing() and not child._is_none():
            found = _unknown_keys(child, f"{path}.")
            if found:
                return found
    return None
