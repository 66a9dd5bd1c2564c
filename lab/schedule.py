"""A schedule of regimes: which loop, at which share of real data, makes each generation's training set.

`loop.schedule` lists spans; generations no span names run `loop=` at `loop.real_fraction`, and generation 0
always trains on real data. A span is

    LOOP@FIRST[-LAST]          generations FIRST…LAST run LOOP at loop.real_fraction (where loop= fixes its own share,
                               real_only or fully_synthetic, a LOOP that takes a share needs P)
    LOOP:P@FIRST[-LAST]        … at real fraction P
    LOOP:P..Q@FIRST-LAST       … at a real fraction moving linearly from P (at FIRST) to Q (at LAST)
    P[..Q]@FIRST[-LAST]        loop= itself at that real fraction

e.g. `loop=real_only loop.schedule=[fully_synthetic@1-3]` (self-consume for 3 generations, then retrain on
real data) or `loop=fresh loop.schedule=[0.9..0.1@1-5]` (a real share falling from 0.9 to 0.1).
"""

from dataclasses import dataclass

from lab.errors import LabError
from lab.loops import LOOPS, REGISTRY, effective_real_fraction, split_counts

FORM = "LOOP[:P[..Q]]@FIRST[-LAST] or P[..Q]@FIRST[-LAST], e.g. fully_synthetic@1-3 or fresh:0.9..0.1@1-5"


@dataclass(frozen=True)
class Regime:
    """What one generation's training set is made by."""

    loop: str
    real_fraction: float  # the share of real images it takes (the loop's own where the loop fixes one)
    scheduled: bool  # named by a span of loop.schedule (else loop= and loop.real_fraction)


@dataclass(frozen=True)
class _Span:
    setting: str  # loop.schedule[i]=… as the user wrote it, for error lines
    loop: str
    start: float | None
    end: float | None
    first: int
    last: int


def regimes(loop_cfg, at_least: int = 0) -> list[Regime]:
    """The regime of every generation 0 … loop.generations − 1 (or `at_least` − 1, for chains run in memory past
    the configured length: the generations after the last span run loop=); stops with one line on a bad schedule."""
    generations = int(loop_cfg.generations)
    base = Regime(str(loop_cfg.name), effective_real_fraction(loop_cfg.name, loop_cfg.real_fraction), scheduled=False)
    plan = [base] * max(generations, at_least)
    owner: dict[int, _Span] = {}
    for span in (_parse(i, str(text), loop_cfg, generations) for i, text in enumerate(loop_cfg.get("schedule") or [])):
        for gen in range(span.first, span.last + 1):
            if gen in owner:
                raise LabError(f"{span.setting} overlaps {owner[gen].setting} at generation {gen}: each generation has one regime")
            owner[gen] = span
            if span.start is None:
                fraction = float(loop_cfg.real_fraction)
            elif span.end is None or span.last == span.first:
                fraction = span.start
            else:
                fraction = span.start + (span.end - span.start) * (gen - span.first) / (span.last - span.first)
            plan[gen] = Regime(span.loop, effective_real_fraction(span.loop, round(fraction, 12)), scheduled=True)
    return plan


def synthetic_taken(loop_cfg, plan: list[Regime], generation: int) -> list[int]:
    """How many samples of each earlier generation k < `generation` entered a training set when they were new (at
    generation k + 1): what `accumulate` keeps of them. Without a schedule, every generation's n_synthetic."""
    size = int(loop_cfg.train_size)  # read once: a config read costs more than the count (chains of 100s of generations)
    return [split_counts(plan[k + 1].loop, size, plan[k + 1].real_fraction)[1] for k in range(generation)]


def _parse(index: int, text: str, loop_cfg, generations: int) -> _Span:
    setting = f"loop.schedule[{index}]={text}"
    head, at, gens = text.replace(" ", "").partition("@")
    if not at or not head or not gens:
        raise LabError(f"{setting} is not a span: write {FORM}")
    loop, colon, fractions = head.partition(":")
    if not colon and (head[0].isdigit() or head[0] in ".-"):  # P[..Q]: loop= itself
        loop, fractions = str(loop_cfg.name), head
    if loop not in REGISTRY:
        raise LabError(f"{setting} names loop={loop}; allowed: {', '.join(LOOPS)}")
    try:
        first, _, last = gens.partition("-")
        first, last = int(first), int(last or first)
        start, ramp, end = fractions.partition("..")
        start, end = (float(start) if start else None), (float(end) if end else None)
    except ValueError:
        raise LabError(f"{setting} is not a span: write {FORM}") from None
    if (colon and start is None) or (ramp and end is None):
        raise LabError(f"{setting} is not a span: write {FORM}")
    if generations < 2:
        raise LabError(f"{setting}: loop.generations={generations} has no generation after 0 to schedule: allowed ≥ 2 with a schedule")
    if not 1 <= first <= last <= generations - 1:
        raise LabError(
            f"{setting}: generations {first}–{last} are out of range: allowed 1 ≤ FIRST ≤ LAST ≤ {generations - 1} "
            f"(loop.generations={generations}; generation 0 always trains on real data)"
        )
    for value in (start, end):
        if value is not None and not 0 <= value <= 1:
            raise LabError(f"{setting}: real fraction {value} is out of range: allowed 0 ≤ value ≤ 1")
    fixed = REGISTRY[loop].real_fraction
    if fixed is not None and start is not None:
        raise LabError(f"{setting}: loop={loop} has real fraction {fixed:g} by definition: write {loop}@{gens}")
    base_fixed = REGISTRY[str(loop_cfg.name)].real_fraction if str(loop_cfg.name) in REGISTRY else None
    if fixed is None and start is None and base_fixed is not None:
        # loop.real_fraction belongs to loop=, which fixes it (real_only: 1, fully_synthetic: 0): not a share meant here.
        raise LabError(
            f"{setting} needs its real fraction: loop={loop_cfg.name} fixes its own at {base_fixed:g}, so write {loop}:P@{gens} (e.g. {loop}:0.5@{gens})"
        )
    if end is not None and first == last and end != start:
        raise LabError(f"{setting}: a real fraction moving from {start:g} to {end:g} needs a span of two generations or more")
    return _Span(setting, loop, start, end, first, last)
