"""Where the Hydra config tree is, and which settings do not change the science.

conf/config.yaml says the latter once (Hydra's override_dirname.exclude_keys keeps them out of run names);
resume and the report read the same list from there. A key is free if it or a group above it is listed:
`tracking` frees every tracking.* setting.
"""

import re
from pathlib import Path

from omegaconf import OmegaConf

CONF_DIR = Path(__file__).resolve().parent.parent / "conf"
NOT_SCIENCE = tuple(OmegaConf.load(CONF_DIR / "config.yaml").hydra.job.config.override_dirname.exclude_keys)


def changes_the_science(key: str) -> bool:
    return not any(key == free or key.startswith(f"{free}.") for free in NOT_SCIENCE)


# The settings a sweep may run the control at several values of, each a scale of the experiment that changes its
# generation 0 (so no one control pairs with every condition). A remedy's setting (merge.weight, curate.*, …) is not
# one: a control run under a remedy is not "the control", and such a sweep names its control with --control.
SCALE_SETTINGS = ("loop.train_size", "data.", "model.")


def is_scale(key: str) -> bool:
    """A setting of SCALE_SETTINGS, or its group named whole (`model=…`, as the report's columns name it)."""
    return key in ("model", "data") or key.startswith(SCALE_SETTINGS)


def comparable(cfg) -> dict:
    """Every setting that changes the science, flattened (key → value): what resume compares."""
    flat = flatten(OmegaConf.to_container(cfg, resolve=True, enum_to_str=True))
    # A null setting equals an absent one: runs from before the options' own schemas recorded every option's
    # settings in one node, null where another option's (e.g. sampler.eta under a DPM sampler).
    return {k: v for k, v in flat.items() if changes_the_science(k) and v is not None}


def flatten(tree, prefix=""):
    out = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out |= flatten(value, f"{prefix}{key}.")
        else:
            out[f"{prefix}{key}"] = value
    return out


def science_overrides(items) -> dict[str, str]:
    """key → value of the command-line overrides that change the science, the seed aside (seeds form a band)."""
    out = {}
    for item in items:
        key, _, value = str(item).partition("=")
        key = key.lstrip("+~")
        if key != "seed" and changes_the_science(key) and not key.startswith("hydra"):
            # A multirun's job overrides escape Hydra's special characters (loop.schedule=[fresh\\:0.9..0.1@1-5]);
            # the value is the same as a single run's, and so is its label.
            out[key] = re.sub(r"\\(.)", r"\1", value)
    return out


SCHEDULE = "loop.schedule"  # lab/schedule.py


def setting_text(cfg, key: str) -> str:
    """A run's value of a setting as a command line would name it: a group (`model`, `loop`) by its option's name."""
    value = OmegaConf.select(cfg, key, default=[] if key == SCHEDULE else None)  # runs from before schedules had none
    if OmegaConf.is_list(value) or isinstance(value, list):  # as Hydra's command line writes a list: loop.schedule=[fully_synthetic@1-3]
        return f"[{','.join(map(str, value))}]"
    return str(value.get("name") if OmegaConf.is_dict(value) else value)
