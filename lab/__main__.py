"""python -m lab [hydra overrides]: one chain of generations (or, with -m, a Hydra multirun of them).

Every job's settings, a sweep's included, are checked before Hydra creates any directory, so bad
input stops with one line and nothing written.
"""

import contextlib
import io
import json
import logging
import os
import sys
from pathlib import Path

import hydra
import torch
from hydra import compose, initialize_config_dir
from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ConfigAttributeError, ConfigKeyError, OmegaConfBaseException, ValidationError
from omegaconf.nodes import EnumNode

from lab.config import CONF_DIR, GROUPS, device_for_job, group_options
from lab.data import load_real_data
from lab.errors import LabError
from lab.experiment import check_resume, prepare, run_experiment
from lab.rundir import RunDir, remove_if_empty
from lab.views.plan import chain_key, describe, repeats

# Flags after which we leave everything to Hydra (help, other config sources).
_HYDRA_ONLY_FLAGS = {
    "-h",
    "--help",
    "--hydra-help",
    "-i",
    "--info",
    "-cp",
    "--config-path",
    "-cn",
    "--config-name",
    "-cd",
    "--config-dir",
    "--shell-completion",
    "-sc",
    "--version",
}


def job_overrides(argv: list[str]) -> list[list[str]]:
    """The overrides of every job the command line asks for, split by Hydra's basic sweeper itself: the
    config's `hydra.sweeper.params` first, the command line's overrides replacing the same keys."""
    args = [a for a in argv if not a.startswith("-") and not a.startswith("hydra")]
    if "-m" not in argv and "--multirun" not in argv:
        return [args]  # one job, its overrides applied in order as Hydra does (a sweep here is Hydra's error)
    parser = OverridesParser.create()
    fixed = [o.input_line for o in parser.parse_overrides(args) if not o.is_sweep_override()]
    [jobs] = BasicSweeper.split_arguments(parser.parse_overrides(_config_sweep_params(fixed) + args), max_batch_size=None)
    return jobs


def _config_sweep_params(overrides: list[str]) -> list[str]:
    """`hydra.sweeper.params` of the composed config (sweep presets set them), as override strings."""
    try:
        cfg = _compose(overrides, return_hydra_config=True)
    except (HydraException, OmegaConfBaseException):
        return []  # check_job reports the problem with the job's own overrides
    params = cfg.hydra.sweeper.get("params") or {}
    return [f"{key}={value}" for key, value in params.items()]


# Flags that print a config instead of running (with their values): the lab's checks still run first, and a multirun
# is previewed by lab.plan, since Hydra prints no config of a multirun.
_PREVIEW_FLAGS = {"-c": 1, "--cfg": 1, "-p": 1, "--package": 1, "--resolve": 0}


def without_preview_flags(argv: list[str]) -> list[str]:
    out, skip = [], 0
    for arg in argv:
        if skip:
            skip -= 1
        elif arg in _PREVIEW_FLAGS:
            skip = _PREVIEW_FLAGS[arg]
        else:
            out.append(arg)
    return out


def check_job(overrides: list[str]) -> DictConfig:
    for item in overrides:
        key, _, value = item.partition("=")
        key = key.lstrip("+~")
        if key in GROUPS and value not in ("null", *group_options(key)):
            raise LabError(f"{key}={value} is not an option; allowed: {', '.join(group_options(key))}")
    try:
        cfg = _compose(overrides)
    except (HydraException, OmegaConfBaseException) as exc:
        raise LabError(_not_an_option_setting(exc, overrides) or _one_line(exc)) from None
    prepare(cfg, load=_load_once)
    return cfg


def _compose(overrides: list[str], return_hydra_config: bool = False) -> DictConfig:
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(config_name="config", overrides=overrides, return_hydra_config=return_hydra_config)


def _not_an_option_setting(exc: Exception, overrides: list[str]) -> str | None:
    """A key the chosen option of a group does not have (curate.threshold with curate=none): name the option and
    its settings, read from the config composed without the group's keys."""
    key = getattr(exc.__cause__, "full_key", None) if isinstance(exc.__cause__, ConfigAttributeError | ConfigKeyError) else None
    group = str(key).split(".")[0] if key else None
    if group not in GROUPS or group == "experiment":
        return None
    try:
        cfg = _compose([o for o in overrides if not o.lstrip("+~").startswith(f"{group}.")])
    except (HydraException, OmegaConfBaseException):
        return None
    parent = OmegaConf.select(cfg, str(key).rpartition(".")[0])
    if "name" not in cfg[group] or not OmegaConf.is_dict(parent):
        return None  # a group whose options all have the same settings: the plain "is not a setting" line
    return f"{key} is not a setting of {group}={cfg[group].name}; its settings: {', '.join(parent.keys())}"


_loaded: dict = {}


def _load_once(data_cfg):
    """The jobs of a sweep mostly share a data set: load each one once for the checks."""
    key = OmegaConf.to_yaml(data_cfg, resolve=True)
    if key not in _loaded:
        _loaded[key] = load_real_data(data_cfg)
    return _loaded[key]


def _one_line(exc: Exception) -> str:
    """One line from a composition error, read from OmegaConf's typed cause where there is one."""
    cause = exc.__cause__
    if isinstance(cause, ValidationError) and isinstance(cause.child_node, EnumNode):  # a setting with named values
        value = "null" if cause.value is None else cause.value
        return f"{cause.full_key}={value} is not allowed; allowed: {', '.join(m.value for m in cause.child_node.enum_type)}"
    if isinstance(cause, ValidationError):  # a value of the wrong type for the schema (lab/schema.py)
        return f"{cause.full_key}={cause.value} has the wrong type for this setting: {_first_line(cause)}"
    if isinstance(cause, ConfigAttributeError | ConfigKeyError):
        return f"{cause.full_key} is not a setting (check the spelling; `python -m lab --cfg job` lists every setting)"
    return _first_line(exc)


def _first_line(exc: Exception) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


# job → [the job of the same sweep that runs its chain (lab.views.plan.repeats), the chain's key], from main to Hydra's
# jobs (a launcher's worker processes inherit the environment). A job is skipped only where its own chain has that
# key: where Hydra numbered the jobs otherwise than the lab did, every job runs.
_REPEATS = "LAB_SWEEP_REPEATS"
log = logging.getLogger("lab")


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")
def hydra_entry(cfg: DictConfig) -> None:
    hc = HydraConfig.get()
    run_dir = Path(cfg.run_dir or hc.runtime.output_dir)
    multirun = hc.mode == RunMode.MULTIRUN
    keep, key = json.loads(os.environ.get(_REPEATS, "{}")).get(str(hc.job.num), (None, None)) if multirun else (None, None)
    if keep is not None and key == chain_key(cfg):
        log.info("job %s asks for the chain job %s runs (a setting its loop ignores aside): nothing to run", hc.job.num, keep)
        remove_if_empty(run_dir)  # only the empty directory Hydra made for this job
        return
    group = cfg.tracking.group or (str(hc.sweep.dir) if multirun else None)
    name = hc.job.override_dirname or run_dir.name
    if cfg.threads is None:
        cfg.threads = _threads_per_job(hc.launcher)
    if multirun and cfg.device == "auto":
        cfg.device = device_for_job(hc.job.num, torch.cuda.device_count())
    try:
        run_experiment(cfg, run_dir, overrides=list(hc.overrides.task), group=group, name=name)
    except LabError as exc:
        remove_if_empty(run_dir)  # only the empty directory Hydra made for this job
        _fail(exc)


def _repeated_jobs(argv: list[str], configs: list[DictConfig]) -> dict:
    """What _REPEATS carries. Sweeper settings on the command line (hydra.sweeper.params.…, hydra/sweeper=…) can make
    Hydra's jobs other than those the lab split and checked: then nothing is skipped."""
    if len(configs) < 2 or not _numbered_like_hydra(argv):
        return {}
    return {str(n): [keep, chain_key(configs[n])] for n, keep in repeats(configs).items()}


def _numbered_like_hydra(argv: list[str]) -> bool:
    """Whether the jobs the lab split and checked are Hydra's, in Hydra's order: not where the command line sets the
    sweeper (hydra.sweeper.params.…, hydra/sweeper=…), whose jobs the lab does not split."""
    return not any(a.startswith(("hydra.sweeper", "hydra/sweeper")) for a in argv)


def _check_earlier_jobs(sweep: DictConfig, configs: list[DictConfig], repeated: dict) -> None:
    """A sweep launched again in its directory (resumed, extended): each job's run directory is checked as its resume
    will be, before any job runs; a refused job would otherwise stop the sweep only when the launcher reached it,
    after the jobs before it. Checked where Hydra numbers the directories (`hydra.sweep.subdir`, the default)."""
    if OmegaConf.to_container(sweep, resolve=False).get("subdir") != "${hydra.job.num}" or not Path(sweep.dir).is_dir():
        return
    for n, cfg in enumerate(configs):
        if str(n) in repeated:  # a repeated job runs nothing
            continue
        try:
            check_resume(cfg, RunDir(cfg.run_dir or Path(sweep.dir) / str(n)))
        except LabError as exc:  # jobs are numbered in the grid's order: another grid finds other chains
            raise LabError(f"job {n} of the sweep (numbered in the order of its grid): {exc}") from None


def _threads_per_job(launcher) -> int | None:
    """Parallel local jobs share the cores instead of each taking all of them (oversubscription)."""
    if "joblib" not in str(launcher.get("_target_", "")).lower():
        return None
    cores = os.cpu_count() or 1
    n_jobs = int(launcher.get("n_jobs", -1))
    parallel = cores + 1 + n_jobs if n_jobs < 0 else n_jobs  # joblib: -1 = all cores, -2 = all but one
    return max(1, cores // max(1, min(parallel, cores)))


def _fail(exc: LabError) -> None:
    print(f"error: {exc}", file=sys.stderr)
    sys.exit(2)


def _help_without_schemas() -> None:
    """Hydra's --help, less the schemas (lab/schema.py) that it lists among each group's options: they are how a
    group's options share typed settings, not options a user can choose."""
    printed = io.StringIO()
    code = 0
    with contextlib.redirect_stdout(printed):
        try:
            hydra_entry()
        except SystemExit as exc:
            code = exc.code
    for line in printed.getvalue().splitlines():
        group, colon, options = line.partition(": ")
        if colon and group in GROUPS and "schema_" in options:
            line = f"{group}: {', '.join(o for o in options.split(', ') if not o.startswith('schema_'))}"
        print(line)
    sys.exit(code)


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # models are built locally; never reach for the hub
    # A chain owns its W&B service. One inherited from the process that started this one (a notebook, a test run, a
    # script that logged to W&B) would outlive a killed chain and keep its run id "in use", so its resume would fail.
    os.environ.pop("WANDB_SERVICE", None)
    argv = sys.argv[1:]
    if "--help" in argv or "-h" in argv:
        _help_without_schemas()
    checked = without_preview_flags(argv)
    if not _HYDRA_ONLY_FLAGS.intersection(argv):
        try:
            jobs = job_overrides(checked)
            configs = [check_job(overrides) for overrides in jobs]
            repeated = _repeated_jobs(argv, configs)
            os.environ[_REPEATS] = json.dumps(repeated)
            if "-m" in argv or "--multirun" in argv:
                hydra_settings = [a for a in checked if a.startswith("hydra")]  # hydra.sweep.dir=…, hydra/launcher=… among them
                sweep = _compose(jobs[0] + hydra_settings, return_hydra_config=True).hydra.sweep
                if _numbered_like_hydra(argv):  # the preview too: it promises what the launch will do
                    _check_earlier_jobs(sweep, configs, repeated)
                if checked != argv:
                    print(describe(jobs, configs, str(sweep.dir)))
                    return
        except LabError as exc:
            _fail(exc)
        except HydraException as exc:  # a malformed override
            _fail(LabError(_one_line(exc)))
    else:
        os.environ.pop(_REPEATS, None)  # not computed for another config: none from an outer command either
    hydra_entry()


if __name__ == "__main__":
    main()
