"""Predict the compute-optimal model on a budget: a scaling-law exercise with an answer key (notebook 09).

    from scalinglaws.exercise import Budget, Prediction, check
    budget = Budget(profile="quick")                 # C_full = 1.5e11 FLOPs of experiments
    budget.train(2, 32, tokens=200_000)              # a run of your choice; charged its full FLOPs
    budget.train(n_params=6e3, flops=2e10)           # or by N (nearest shape) and compute
    budget.spent, budget.left, budget.runs           # the runs: N, D, C_full, C_6ND, final loss
    ...fit what you like (scalinglaws.fit.chinchilla_approach2, fit_power_law) on budget.runs...
    check(Prediction(n_params=3e4, loss=4.2), "quick")   # against the answer key at 10× the budget

The exercise (as Stanford CS336 assignment 3 sets it with a private API, here with real models on your
machine): with a small experiment budget, fit a law and predict the model size to train at a budget ten
times larger, and the loss it will reach. The answer key is an IsoFLOP slice at that larger budget:
several sizes at equal full compute C_full, each trained for its own tokens with its cosine set for them,
trained once into the reference store runs/cpu (`python -m scalinglaws.exercise train-key LEVEL`), so
`check` only reads it: it is instant, offline and trains nothing.

Levels (LEVELS): ``quick`` (a class: the experiment budget trains in minutes on 2 cores), ``cpu`` (twice the
compute), and ``smoke`` (seconds; its key is trained on the fly, its numbers mean nothing). quick and cpu use
the cpu profile's run settings and LRs (read from runs/cpu), so their keys are the cpu study's IsoFLOP
slices (notebook 06b) at C_full = 1.5e12 and 3e12, plus two extra seeds of each slice's best size.

Accounting: every run is charged its real compute, the full count C_full (attention context and
de-embedding included; training.model) read from the run's metrics, with Kaplan's 6·N·D shown beside it.
A request that would go past the budget is refused before anything trains. Runs are content addressed:
asking again for a run this Budget already charged costs nothing and trains nothing; a run that is already
in the store but this Budget has not charged yet is not retrained, but *is* charged once: reuse saves
time, not compute (otherwise a store left by a classmate would be a free budget).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from scalinglaws import ScalingLawsError
from scalinglaws.analysis import prediction_exercise as PE

TARGET_FACTOR = 10.0  # the prediction is made for this many times the experiment budget


class BudgetError(ScalingLawsError):
    """A run the budget cannot pay for."""


@dataclass(frozen=True)
class Level:
    name: str
    settings: str  # the profile whose run settings (context, batch, vocab, evals) and LRs every run uses
    experiment_flops: float  # C_full of the student's experiments
    key_seeds: tuple = (1, 2)  # extra seeds of the key's best size: the key's own noise

    @property
    def target_flops(self) -> float:
        return TARGET_FACTOR * self.experiment_flops


# quick and cpu: the cpu study's isoflop_full slices at 1.5e12 and 3e12 (runs/cpu). Costed from their recorded
# train_seconds on the 2-core Intel reference machine: 315 and 588 worker-seconds, 2.6 and 5 min on 2 workers
# (plus evaluations), within the 8 and 15 min this exercise allows for training a key.
LEVELS = {
    "smoke": Level("smoke", "smoke", 4e8),
    "quick": Level("quick", "cpu", 1.5e11),
    "cpu": Level("cpu", "cpu", 3e11),
}


def get_level(name: str) -> Level:
    if name not in LEVELS:
        raise ScalingLawsError(f"no exercise level '{name}': choose one of {', '.join(LEVELS)}")
    return LEVELS[name]


def _reference_store() -> Path:
    from scalinglaws.data.paths import project_root

    return (project_root() or Path.cwd()) / "runs" / "cpu"


def _settings_study(level: Level, runs_dir: Path):
    """A read-only Study of the level's settings profile on `runs_dir`: its shapes, run settings and LRs
    (the cpu LR sweeps are read from the store, never trained here)."""
    from scalinglaws.study.plan import Study

    # figures_dir: Study creates it; the store folder itself keeps that from leaving a new folder behind
    st = Study(level.settings, runs_dir=runs_dir, figures_dir=runs_dir, log="none")
    st._read_only = True  # noqa: SLF001 - as plan.Study does for a reference store: never train an LR sweep here
    if level.settings == "smoke":  # the library's starting LR rule, no sweep: smoke numbers mean nothing anyway
        st.profile = dataclasses.replace(st.profile, tune_lr=False)
    return st


def _lr_study(level: Level, runs_dir: Path, key_dir: Path):
    """Where a level's LRs come from: the key's store (the cpu sweeps) for quick/cpu, the library's rule at smoke."""
    from scalinglaws.store.ensure import MissingRunsError

    st = _settings_study(level, key_dir if level.settings != "smoke" else runs_dir)
    try:
        st.lr_rule()
    except MissingRunsError as e:
        raise ScalingLawsError(f"the LR sweeps of the {level.settings} profile are not in {st.runs_dir} ({e}); "
                               f"run this exercise in a checkout with the reference store runs/cpu") from None
    return st


def flops_per_token(spec) -> dict:
    """Training FLOPs per token of a spec: {"kaplan": 6N, "full": C_full per token}."""
    return spec.describe()["flops_per_token"]


def _shape_spec(study, n_layer: int, d_model: int, tokens: int, seed: int = 0):
    """The spec of one shape at `tokens` with the study's settings and LR (as its IsoFLOP grids build them,
    so a request equal to a grid run has that run's address)."""
    lr, src = study.lr_for(n_layer, d_model)
    return study.profile.base(n_layer, d_model, tokens, seed=seed).replace(lr=lr, lr_source=src, label="exercise")


def shapes(level: str | Level) -> tuple:
    """The (n_layer, d_model) shapes a student may train: the settings profile's IsoFLOP ladder."""
    from scalinglaws.study.profiles import get_profile

    lv = level if isinstance(level, Level) else get_level(level)
    p = get_profile(lv.settings)
    return tuple(p.iso_full_ladder or p.iso_ladder)


# ---------------------------------------------------------------------------------------------- the budget
class Budget:
    """A student's experiment budget in full FLOPs (C_full), and the runs it paid for.

    flops: the budget (None: the level's). profile: the level (quick | cpu | smoke). runs_dir: where the
    student's runs are trained and reused (None: <checkout>/runs/exercise-<level>, git-ignored). key_dir:
    the store with the answer key and, for quick/cpu, the LR sweeps (None: <checkout>/runs/cpu; at smoke,
    runs_dir)."""

    def __init__(self, flops: float | None = None, profile: str = "quick", runs_dir=None, *, key_dir=None,
                 workers: int | None = None, log: str = "run"):
        from scalinglaws.data.paths import project_root

        self.level = get_level(profile)
        flops = self.level.experiment_flops if flops is None else flops
        if isinstance(flops, bool) or not isinstance(flops, (int, float)) or not (math.isfinite(flops) and flops > 0):
            raise ScalingLawsError(f"flops={flops!r}: give the experiment budget as a positive number of FLOPs "
                                   f"(C_full)")
        self.flops = float(flops)
        self.runs_dir = Path(runs_dir) if runs_dir else (project_root() or Path.cwd()) / "runs" / f"exercise-{profile}"
        default_key = self.runs_dir if self.level.settings == "smoke" else _reference_store()
        self.key_dir = Path(key_dir) if key_dir else default_key
        self.workers, self.log = workers, log
        self._study = None
        self._charged: dict[str, float] = {}  # run_id -> C_full charged (once per run)
        self._rows: dict[str, dict] = {}  # run_id -> the row of `runs`
        self._requested: dict[str, float] = {}  # run_id -> the flops= it was first asked for with

    def __repr__(self) -> str:
        return (f"Budget(level={self.level.name}, C_full={self.flops:.3g} FLOPs: spent {self.spent:.3g}, "
                f"left {self.left:.3g}, {len(self._rows)} runs; predict for C_full = {self.target_flops:.3g})")

    @property
    def study(self):
        if self._study is None:
            self._study = _lr_study(self.level, self.runs_dir, self.key_dir)
        return self._study

    @property
    def target_flops(self) -> float:
        return TARGET_FACTOR * self.flops

    @property
    def spent(self) -> float:
        return float(sum(self._charged.values()))

    @property
    def left(self) -> float:
        return self.flops - self.spent

    @property
    def shapes(self) -> pd.DataFrame:
        """The shapes on offer: n_layer, d_model, N and FLOPs per token (6N and full)."""
        rows = []
        for l, d in shapes(self.level):
            s = self.study.profile.base(l, d, 1)
            f = flops_per_token(s)
            rows.append({"n_layer": l, "d_model": d, "N": s.n_params, "C_6ND_per_token": f["kaplan"],
                         "C_full_per_token": f["full"]})
        return pd.DataFrame(rows)

    @property
    def runs(self) -> pd.DataFrame:
        """The runs charged so far: shape, N (non-embedding), D (tokens), C_full, C_6ND, requested_flops (the
        flops= asked for, NaN when tokens= was: runs asked for at one budget share it exactly, while their C_full
        differ by the rounding to whole steps; group IsoFLOP slices by it), final loss, reused."""
        cols = ["run_id", "n_layer", "d_model", "N", "D", "C_full", "C_6ND", "requested_flops", "loss", "status",
                "reused"]
        return pd.DataFrame(list(self._rows.values()), columns=cols)

    # -------------------------------------------------------------------------------- requests
    def spec(self, n_layer: int | None = None, d_model: int | None = None, tokens: int | None = None, *,
             n_params: float | None = None, flops: float | None = None, seed: int = 0):
        """The RunSpec a request trains (nothing is trained or charged): a shape (n_layer, d_model), or the
        shape nearest n_params in log N; and tokens, or the tokens `flops` (C_full) buys, in whole steps."""
        l, d = self._shape(n_layer, d_model, n_params)
        probe = _shape_spec(self.study, l, d, self.study.profile.batch_size * self.study.profile.n_ctx)
        tps = probe.tokens_per_step
        if (tokens is None) == (flops is None):
            raise ScalingLawsError("give the run's length as tokens=... or its compute as flops=... (one of them)")
        if flops is not None:
            if not (isinstance(flops, (int, float)) and math.isfinite(flops) and flops > 0):
                raise ScalingLawsError(f"flops={flops!r} must be a positive number of FLOPs (C_full)")
            tokens = int(flops / flops_per_token(probe)["full"])
        if isinstance(tokens, bool) or not isinstance(tokens, (int, float, np.integer)) or not tokens >= tps:
            raise ScalingLawsError(f"tokens={tokens!r}: a run needs at least one step of {tps:,} tokens")
        steps = int(tokens) // tps
        spec = _shape_spec(self.study, l, d, steps * tps, seed=seed)
        if flops is not None or spec.run_id not in self._requested:
            self._requested[spec.run_id] = math.nan if flops is None else float(flops)
        return spec

    def _shape(self, n_layer, d_model, n_params) -> tuple[int, int]:
        offer = shapes(self.level)
        if n_params is not None:
            if n_layer is not None or d_model is not None:
                raise ScalingLawsError("give a shape (n_layer, d_model) or n_params, not both")
            if not (isinstance(n_params, (int, float)) and n_params > 0):
                raise ScalingLawsError(f"n_params={n_params!r} must be a positive number")
            ns = [self.study.profile.base(l, d, 1).n_params for l, d in offer]
            return offer[int(np.argmin([abs(math.log(n / n_params)) for n in ns]))]
        if (n_layer, d_model) not in offer:
            raise ScalingLawsError(f"shape ({n_layer}, {d_model}) is not on offer at level '{self.level.name}': choose "
                                   f"(n_layer, d_model) from {', '.join(f'({l}, {d})' for l, d in offer)}")
        return n_layer, d_model

    def cost(self, spec) -> float:
        """C_full a spec will be charged: its FLOPs per token × the tokens of its whole steps."""
        return flops_per_token(spec)["full"] * spec.steps * spec.tokens_per_step

    def train(self, n_layer: int | None = None, d_model: int | None = None, tokens: int | None = None, *,
              n_params: float | None = None, flops: float | None = None, seed: int = 0) -> pd.Series:
        """Train one run (see `spec` for the arguments), or reuse it; returns its row of `runs`."""
        s = self.spec(n_layer, d_model, tokens, n_params=n_params, flops=flops, seed=seed)
        return self.train_specs([s]).iloc[0]

    def train_many(self, requests) -> pd.DataFrame:
        """Several runs in one go (they share the workers): each request a dict of `spec`'s arguments,
        e.g. {"n_layer": 2, "d_model": 32, "flops": 1e10}. All are refused if together they exceed the budget."""
        return self.train_specs([self.spec(**r) for r in requests])

    def train_specs(self, specs) -> pd.DataFrame:
        from scalinglaws.store.ensure import ensure_runs
        from scalinglaws.training.run_folder import is_done

        specs = list({s.run_id: s for s in specs}.values())
        new = [s for s in specs if s.run_id not in self._charged]
        cost = sum(self.cost(s) for s in new)
        if cost > self.left * (1 + 1e-9):
            what = "this run costs" if len(new) == 1 else f"these {len(new)} runs cost"
            raise BudgetError(f"refused before training: {what} "
                              f"C_full = {cost:.4g} FLOPs, but only {self.left:.4g} of {self.flops:.4g} are left")
        stored = {s.run_id for s in new if is_done(self.runs_dir / s.run_id)}
        df = ensure_runs(specs, self.runs_dir, workers=self.workers, log=self.log)
        for s in new:
            self._charge(s, df[df["run_id"] == s.run_id], s.run_id in stored)
        return self.runs.set_index("run_id").loc[[s.run_id for s in specs]].reset_index()

    def _charge(self, spec, rows: pd.DataFrame, reused: bool) -> None:
        """Charge a run its metrics' C_full at its last eval (a diverged run stops early and pays for what it ran)."""
        final = rows[rows["is_final"]].iloc[0] if len(rows) else None
        c_full = float(final["C_full"]) if final is not None and "C_full" in rows else self.cost(spec)
        c_6nd = (float(final["C"]) if final is not None and "C" in rows
                 else flops_per_token(spec)["kaplan"] * spec.tokens)
        loss = final["final_val_loss"] if final is not None else None
        self._charged[spec.run_id] = c_full
        self._rows[spec.run_id] = {
            "run_id": spec.run_id, "n_layer": spec.n_layer, "d_model": spec.d_model, "N": spec.n_params,
            "D": int(final["tokens"]) if final is not None else spec.tokens, "C_full": c_full, "C_6ND": c_6nd,
            "requested_flops": self._requested.get(spec.run_id, math.nan),
            "loss": math.nan if loss is None else float(loss),
            "status": final["status"] if final is not None else "no eval", "reused": reused}


# ---------------------------------------------------------------------------------------------- the answer key
@dataclass(frozen=True)
class Prediction:
    """What to train at the target budget: non-embedding N (or a shape (n_layer, d_model)) and its final loss."""

    n_params: float | None = None
    loss: float | None = None
    shape: tuple | None = None


@dataclass
class AnswerKey:
    level: str
    flops: float  # C_full of every run of the slice
    slice: pd.DataFrame  # one row per size: n_layer, d_model, N, tokens, loss, run_id
    seeds: pd.DataFrame  # the best size at seed 0 and the extra seeds: seed, N, loss, run_id

    @property
    def noise_sd(self) -> float:
        """Seed-to-seed standard deviation (ddof 1) of the final loss of the slice's best size."""
        return float(np.std(self.seeds["loss"], ddof=1)) if len(self.seeds) >= 2 else math.nan


def key_slice_specs(level: str | Level, key_dir) -> list:
    """The key's IsoFLOP slice at the level's target C_full: every shape on offer trained for
    D = C_full / (full FLOPs per token) in whole steps, keeping those with at least the settings profile's
    iso_min_steps and no repetition of the train split (as plan.Study's isoflop_full grid: the same run ids)."""
    lv = level if isinstance(level, Level) else get_level(level)
    st = _lr_study(lv, Path(key_dir), Path(key_dir))
    p = st.profile
    cap = min(st.train_tokens(), p.iso_max_tokens or st.train_tokens())
    out = []
    for l, d in shapes(lv):
        probe = _shape_spec(st, l, d, p.batch_size * p.n_ctx)
        steps = int(lv.target_flops / flops_per_token(probe)["full"]) // probe.tokens_per_step
        tokens = steps * probe.tokens_per_step
        if steps >= p.iso_min_steps and tokens <= cap:
            out.append(probe.replace(tokens=tokens, label=f"exercise key {lv.name} C_full={lv.target_flops:g}"))
    return out


def _finals(specs, runs_dir, train: bool, workers=None) -> pd.DataFrame:
    from scalinglaws.store.ensure import ensure_runs

    df = ensure_runs(specs, runs_dir, train=train, workers=workers, log="run" if train else "none")
    f = df[df["is_final"] & (df["status"] != "diverged")]
    return pd.DataFrame({"run_id": f["run_id"], "n_layer": f["n_layer"], "d_model": f["d_model"], "N": f["N"],
                         "tokens": f["budget_tokens"], "seed": f["seed"], "loss": f["final_val_loss"].astype(float)}
                        ).sort_values(["N", "seed"]).reset_index(drop=True)


def _load_key(level: Level, key_dir: Path, train: bool, workers=None) -> AnswerKey:
    specs = key_slice_specs(level, key_dir)
    sl = _finals(specs, key_dir, train, workers)
    best = sl.loc[sl["loss"].idxmin()]
    base = next(s for s in specs if s.run_id == best["run_id"])
    seeds = _finals([base] + [base.replace(seed=k) for k in level.key_seeds], key_dir, train, workers)
    return AnswerKey(level.name, level.target_flops, sl, seeds)


def train_key(level: str, key_dir=None, workers: int | None = 2) -> AnswerKey:
    """Train the answer key of `level` (its slice, then the extra seeds of its best size) into key_dir."""
    lv = get_level(level)
    return _load_key(lv, Path(key_dir) if key_dir else _reference_store(), True, workers)


def answer_key(level: str, key_dir=None) -> AnswerKey:
    """The answer key of `level`, read only from key_dir (default runs/cpu); a one-line error naming the
    command that trains it when a run is missing."""
    from scalinglaws.store.ensure import MissingRunsError

    lv = get_level(level)
    key_dir = Path(key_dir) if key_dir else _reference_store()
    try:
        return _load_key(lv, key_dir, False)
    except MissingRunsError as e:
        raise ScalingLawsError(f"the answer key of level '{level}' is not in {key_dir} ({e}); train it once with: "
                               f"python -m scalinglaws.exercise train-key {level} --runs-dir {key_dir}") from None


def _prediction_n(prediction: Prediction, level: Level, key_dir: Path) -> float:
    if not isinstance(prediction, Prediction):
        raise ScalingLawsError("check() takes a Prediction(n_params=..., loss=...) (or shape=(n_layer, d_model))")
    if (prediction.n_params is None) == (prediction.shape is None):
        raise ScalingLawsError("a Prediction needs n_params=... (non-embedding N) or shape=(n_layer, d_model), "
                               "one of them")
    if prediction.loss is None:
        raise ScalingLawsError("a Prediction needs loss=...: the final loss you expect at the target budget")
    if prediction.shape is not None:
        from scalinglaws.study.profiles import get_profile

        l, d = prediction.shape
        return float(get_profile(level.settings).base(int(l), int(d), 1).n_params)
    return float(prediction.n_params)


@dataclass
class CheckResult:
    key: AnswerKey
    score: dict  # analysis.prediction_exercise.score
    lines: list  # the score in sentences
    figure: dict  # paths of the figure (png, svg, csv); {} when no figures_dir

    def __str__(self) -> str:
        return "\n".join(self.lines)

    def table(self) -> pd.DataFrame:
        return pd.DataFrame([self.score])


def check(prediction: Prediction, level: str = "quick", *, key_dir=None, figures_dir=None, key: AnswerKey | None = None,
          name: str = "09_prediction_check") -> CheckResult:
    """Score a prediction against the level's answer key (read only; see answer_key). figures_dir: where
    the figure and its CSV go (None: no figure). key: an AnswerKey already loaded (or a synthetic one)."""
    lv = get_level(level)
    key = key if key is not None else answer_key(level, key_dir)
    n = _prediction_n(prediction, lv, Path(key_dir) if key_dir else _reference_store())
    s = PE.score(n, float(prediction.loss), key.slice, key.noise_sd)
    lines = [f"Answer key ({lv.name}): {len(key.slice)} sizes at C_full = {key.flops:.3g} FLOPs, "
             f"seed sd {key.noise_sd:.4f} nats ({len(key.seeds)} seeds of N = {key.seeds['N'].iloc[0]:,.0f})."]
    lines += PE.describe(s, key.slice)
    paths = {}
    if figures_dir is not None:
        from scalinglaws.analysis import plots as P

        fig, data = PE.check_figure(s, key.slice, key.seeds, key.flops)
        paths = P.save_figure(fig, data, figures_dir, name)
    return CheckResult(key, s, lines, paths)


def main(argv=None) -> None:
    """python -m scalinglaws.exercise train-key LEVEL [--runs-dir DIR] [--workers 2]"""
    import argparse

    ap = argparse.ArgumentParser(prog="python -m scalinglaws.exercise")
    ap.add_argument("command", choices=["train-key", "show-key"])
    ap.add_argument("level", choices=list(LEVELS))
    ap.add_argument("--runs-dir", default=None)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args(argv)
    try:
        key = train_key(a.level, a.runs_dir, a.workers) if a.command == "train-key" else answer_key(a.level, a.runs_dir)
    except ScalingLawsError as e:
        raise SystemExit(f"error: {e}") from None
    print(key.slice.to_string(index=False))
    print(key.seeds.to_string(index=False))
    print(f"seed sd {key.noise_sd:.4f}")


if __name__ == "__main__":
    main()
