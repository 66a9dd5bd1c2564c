"""A sweep previewed: `python -m lab -m … --cfg job` lists every job Hydra's sweeper would launch, with its seed and
condition, after the lab's own checks have passed on each, and matches the declared claims to the jobs. It writes
nothing: a multirun cannot print its configs through Hydra (one --cfg per job would be a wall of YAML), and a sweep
whose claim names no job of it would only stop at the report, hours later.
"""

from collections import Counter

from omegaconf import DictConfig

from lab.claims import same_setting
from lab.conf import science_overrides, setting_text

CONTROL = "real_only"  # the report's default control: the one real_only condition without a loop.schedule


def _text(settings: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in settings.items())


def unreached_claims(configs: list[DictConfig]) -> list[str]:
    """The declared claims that name a condition no job runs (a claim against the control needs a real_only job
    without a schedule): a sweep may be a part of the preset's, but its report will stop on these."""
    problems = []
    for claim in configs[0].get("claims") or []:
        for side in (claim.condition, claim.against):
            if side is None and not any(c.loop.name == CONTROL and not c.loop.get("schedule") for c in configs):
                problems.append(f"claim {claim.name} is against the control, and no job runs loop={CONTROL} without a schedule")
            elif side is not None and not any(all(same_setting(setting_text(c, k), v) for k, v in side.items()) for c in configs):
                problems.append(f"claim {claim.name}: no job has {', '.join(f'{k}={v}' for k, v in side.items())}")
    return problems


def describe(jobs: list[list[str]], configs: list[DictConfig], sweep_dir: str) -> str:
    """The preview's text: one line per job, then what the jobs make together."""
    # A job's condition: the settings of its command line that change the science, the seed aside; those every job
    # shares are said once.
    named = [science_overrides(job) for job in jobs]
    shared = {k: v for k, v in named[0].items() if all(n.get(k) == v for n in named)}
    labels = [_text({k: v for k, v in n.items() if k not in shared}) or "(one condition)" for n in named]
    seeds = [int(c.seed) for c in configs]
    per_condition = Counter(labels)
    width = max(len(str(len(jobs) - 1)), 3)
    lines = [f"every job: {_text(shared)}"] if shared else []
    lines += [f"{'job':>{width}}  seed  condition"]
    lines += [f"{n:>{width}}  {seed:>4}  {label}" for n, (seed, label) in enumerate(zip(seeds, labels, strict=True))]
    counts = sorted(set(per_condition.values()))
    seeds_text = f"{counts[0]} seed{'s' if counts[0] > 1 else ''}" if len(counts) == 1 else f"{counts[0]}–{counts[-1]} seeds each"
    shape = f"{len(per_condition)} condition{'s' if len(per_condition) > 1 else ''} × {seeds_text}"
    lines.append(f"{len(jobs)} jobs ({shape}), into {sweep_dir}/<job>; every job passes the lab's checks; nothing was written")
    claims = configs[0].get("claims") or []
    problems = unreached_claims(configs)
    if claims:
        looks = list(configs[0].get("looks") or [])
        read = f"; read at {looks} seeds" if looks else ""
        reach = ", each naming a condition of this sweep"
        if problems:
            reach = f"; {len(problems)} name a condition this sweep lacks, and its report will stop on them"
        lines.append(f"{len(claims)} declared claims ({'; '.join(c.name for c in claims)}){reach}{read}")
        lines += [f"  note: {p}" for p in problems]
    return "\n".join(lines)
