"""Profiles and run grids of the study, as data, in one place.

Each notebook asks for its grid by (finding, profile):

    from scalinglaws import experiments as ex
    study = ex.Study("cpu")                       # profile, run store, figures folder
    specs = study.grid("model_size")              # RunSpecs, peak LR tuned per model size

Profiles:
- ``smoke``  every code path of every notebook in about a minute each on 2 cores; numbers mean nothing.
- ``quick``  a classroom run: all six notebooks in about 8 minutes on 2 cores (LRs read from the cpu
             store's sweeps); trends visible, fits rough.
- ``cpu``    the reference study for a 2-core machine (default).
- ``gpu``    the same findings at N ~1e4-1.4e7 for one H100 (``scale`` multiplies every token budget).

Why these settings (measured on the 2-core reference machine, see README and benchmarks/):
- vocab 1024 and n_ctx 128: the de-embedding (2·d_model·n_vocab FLOPs per token) dominates tiny
  models, so a small vocabulary buys many more model sizes per CPU hour; 1024 keeps ~2.5 characters
  per token (512 gives ~2.1).
- batch 16 × 128 = 2048 tokens per step: at this scale optimizer *steps* matter as much as tokens,
  so small batches (many steps) let the model-size ladder separate cleanly.
- peak LR tuned per model size with a short sweep (fraction ``sweep_frac`` of the ladder budget) on
  the ladder sizes; other shapes use the power law lr(N) fitted to those sweeps (`lr_rule`).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import ScalingLawsError
from .config import RunSpec
from .model import Shape, non_embedding_params, shape_for_params

# Every run grid a notebook asks for (which notebook reads which: scalinglaws.findings). convergence /
# lr_check / seeds / kaplan check the main grids: the ladder at other budgets, its LRs at x/÷√2, other
# seeds, and a Kaplan-style copy of the ladder.
GRIDS = ("model_size", "depth", "convergence", "lr_check", "seeds", "dataset_size", "shape", "overfitting",
            "batch", "isoflop", "isoflop_full", "kaplan")


@dataclass(frozen=True)
class Profile:
    name: str
    # --- shared run settings ---
    corpus: str = "gutenberg"
    vocab_size: int = 1024
    n_ctx: int = 128
    batch_size: int = 16
    precision: str = "fp32"
    eval_points: int = 24
    eval_tokens: int = 65_536
    n_boot: int = 200  # bootstrap resamples for every fit
    # --- LR tuning ---
    tune_lr: bool = True  # False only for smoke (uses the library's default rule)
    # Take the LR rule, the ladder sizes' LRs and the batch sizes' LRs from the sweeps of this other
    # profile, read from its store beside this one (runs/<lr_from>) when it holds every one of them;
    # else sweep here. Meant for a profile whose ladder and batch runs repeat the other's sweep
    # settings (see quick).
    lr_from: str = ""
    sweep_frac: float = 0.2  # sweep budget as a fraction of ladder_tokens
    sweep_factors: tuple = (0.35, 0.6, 1.0, 1.7, 2.9)  # multiples of the default-rule LR
    # --- 01 model size: the ladder (n_layer, d_model) at ladder_tokens, no repetition ---
    ladder: tuple = ()
    ladder_tokens: int = 0
    # --- 01/05 convergence: these ladder sizes also at long_tokens (own cosine schedule, the LR tuned at
    # the sweep budget). With the sweep (sweep_frac·ladder_tokens) and ladder budgets that is three budgets
    # per size: the loss gain per doubling of tokens measures how converged a size is.
    long_ladder: tuple = ()
    long_tokens: int = 0
    # --- 01 LR check: these ladder sizes again at the ladder budget with the tuned LR ×/÷ √2 ---
    lr_check: tuple = ()
    # --- seed noise: these ladder sizes, and the first shape size's whole grid, with each extra seed ---
    seed_ladder: tuple = ()
    extra_seeds: tuple = ()
    # --- 06 Kaplan-style ablation: the ladder again as Kaplan et al. trained (their warmup was long
    # relative to a small model's run, the cosine set for a longer run than it had, one LR rule untuned
    # per size): warmup kaplan_warmup_frac of the steps, schedule kaplan_schedule_mult × the budget,
    # the library's starting LR rule. Porian et al. 2024 trace the Kaplan-vs-Chinchilla gap to these.
    kaplan: bool = False
    kaplan_warmup_frac: float = 0.25
    kaplan_schedule_mult: float = 4.0
    # --- 01 depth collapse: {n_layer: (d_model, ...)} at depth_tokens ---
    depths: tuple = ()
    depth_tokens: int = 0
    # --- 02 dataset size: one model on nested subsets, early stopping ---
    data_model: tuple = (2, 64)
    data_sizes: tuple = ()
    data_max_epochs: float = 30.0
    data_max_tokens: int = 0
    data_patience: int = 4
    # Data-limited runs as Kaplan trained them: 10% dropout, and subsets drawn as random chunks across
    # every book (RunSpec.data_sampling), not the first D tokens (a sixth of one book at D = 3e4).
    data_dropout: float = 0.1
    data_sampling: str = "chunks"
    # --- 03 shape at fixed N ---
    shape_sizes: tuple = ()  # target non-embedding N
    shape_aspects: tuple = ()  # d_model / n_layer
    shape_ff: tuple = ()  # d_ff / d_model, at the first shape size
    shape_heads: tuple = ()  # n_head, at the first shape size
    shape_tokens: int = 0
    # --- 04 overfitting: sizes x nested subsets, early stopping ---
    nd_ladder: tuple = ()  # (n_layer, d_model)
    nd_sizes: tuple = ()  # D
    nd_max_tokens: int = 0
    # --- 06 critical batch: one model at several batch sizes, measured as McCandlish et al. / Kaplan did:
    # the same warmup (steps) for every batch size, then a constant LR (wsd: the cooldown's steps are not
    # used), the LR scaled as √(B/batch_size) from the tuned one (checked with ×/÷2 at batch_lr_check),
    # every batch size at least batch_min_steps steps and batch_tokens tokens. The gradient noise scale
    # is recorded in every batch run (RunSpec.noise_scale).
    batch_model: tuple = (2, 32)
    batch_sizes: tuple = ()
    batch_tokens: int = 0
    batch_min_steps: int = 0
    batch_warmup: int = 100
    batch_lr_check: tuple = ()
    batch_seed_sizes: tuple = ()  # batch sizes trained again with each of extra_seeds
    # --- 06 IsoFLOP: budgets C = 6·N·D, each with sizes around its optimum, schedule matched ---
    iso_budgets: tuple = ()
    iso_ladder: tuple = ()  # (n_layer, d_model) candidates; each budget uses those giving >= iso_min_steps
    iso_min_steps: int = 100
    iso_max_tokens: int = 0  # 0 = the train split (no repetition); else a cap on any IsoFLOP run's tokens
    # The same profiles with budgets in full FLOPs (C_full: attention context and de-embedding counted),
    # so each budget's runs share their real compute; at this scale 6ND is only 15-75% of it.
    iso_full_budgets: tuple = ()
    iso_full_ladder: tuple = ()  # (n_layer, d_model) candidates for those; empty = iso_ladder
    # --- multiplies every token budget (gpu users with more time) ---
    scale: float = 1.0
    note: str = ""

    def base(self, n_layer: int, d_model: int, tokens: int, **kw) -> RunSpec:
        kw = {"n_ctx": self.n_ctx, "corpus": self.corpus, "vocab_size": self.vocab_size,
              "batch_size": self.batch_size, "precision": self.precision, "eval_points": self.eval_points,
              "eval_tokens": self.eval_tokens, **kw}
        return RunSpec(n_layer=n_layer, d_model=d_model, tokens=int(tokens), **kw)


PROFILES: dict[str, Profile] = {
    "smoke": Profile(
        name="smoke", corpus="gutenberg:12", vocab_size=512, n_ctx=64, batch_size=8, eval_points=6,
        eval_tokens=4096, n_boot=20,
        sweep_frac=0.5, sweep_factors=(0.5, 1.0, 2.0),
        ladder=((1, 16), (2, 16), (2, 32)), ladder_tokens=8 * 64 * 60,
        depths=((1, (16, 32)), (2, (16,))), depth_tokens=8 * 64 * 60,
        data_model=(1, 16), data_sizes=(2_000, 8_000, 32_000), data_max_epochs=4, data_patience=2,
        data_max_tokens=8 * 64 * 40,
        shape_sizes=(6e3,), shape_aspects=(4, 16), shape_ff=(1, 4), shape_heads=(1, 2), shape_tokens=8 * 64 * 30,
        nd_ladder=((1, 16), (2, 16)), nd_sizes=(4_000, 16_000), nd_max_tokens=8 * 64 * 40,
        long_ladder=((1, 16), (2, 16)), long_tokens=8 * 64 * 240, lr_check=((2, 16),),
        seed_ladder=((1, 16),), extra_seeds=(1,), kaplan=True,
        batch_model=(1, 16), batch_sizes=(2, 4, 8), batch_tokens=8 * 64 * 60, batch_min_steps=60,
        batch_warmup=10, batch_lr_check=(4,), batch_seed_sizes=(4,),
        iso_budgets=(2e9, 6e9), iso_ladder=((1, 16), (2, 16), (2, 32)), iso_min_steps=10, iso_full_budgets=(2e9, 6e9),
        note="smoke: exercises every code path; its numbers mean nothing",
    ),
    "quick": Profile(
        # LRs from the cpu reference store (lr_from): its ladder sweeps ran at 2M tokens, exactly this
        # ladder's budget, on the same model family, batch and context. Without runs/cpu beside
        # runs/quick (or with another corpus, seed or scale) quick sweeps itself at sweep_frac below.
        # Why these budgets, and what was tried: docs/decisions.md (2026-11-28).
        name="quick", eval_points=16, eval_tokens=32_768, n_boot=100, lr_from="cpu",
        sweep_frac=0.5, sweep_factors=(0.5, 1.0, 2.0),
        ladder=((2, 16), (2, 32), (3, 48), (4, 64)), ladder_tokens=2_000_000,
        depths=((1, (32, 64)), (2, (16, 32)), (3, (48,)), (4, (32, 64))), depth_tokens=2_000_000,
        data_model=(3, 48), data_sizes=(3e4, 1e5, 3e5, 1e6), data_max_epochs=20, data_max_tokens=1_000_000,
        shape_sizes=(2.5e4,), shape_aspects=(2, 16, 48), shape_ff=(1, 4), shape_heads=(1, 4), shape_tokens=1_000_000,
        nd_ladder=((2, 16), (2, 32), (3, 48)), nd_sizes=(3e4, 1e5, 3e5, 1e6), nd_max_tokens=1_000_000,
        batch_model=(2, 32), batch_sizes=(4, 16, 64), batch_tokens=1_000_000, batch_min_steps=300,
        iso_budgets=(1e11, 3e11), iso_ladder=((1, 16), (2, 16), (2, 24), (2, 32), (3, 48)), iso_min_steps=200,
        note="quick: classroom run; trends visible, fits rough",
    ),
    "cpu": Profile(
        name="cpu", sweep_frac=0.25, sweep_factors=(0.5, 1.0, 2.0),
        ladder=((1, 16), (2, 16), (2, 24), (2, 32), (3, 48), (4, 64), (5, 80)), ladder_tokens=8_000_000,
        depths=((1, (16, 32, 64)), (2, (16, 24, 32)), (3, (48,)), (4, (64,)), (5, (80,)), (6, (32,))),
        depth_tokens=8_000_000,
        long_ladder=((1, 16), (2, 16), (2, 24), (2, 32)), long_tokens=32_000_000,
        lr_check=((2, 16), (3, 48)), seed_ladder=((1, 16), (2, 32), (3, 48)), extra_seeds=(1, 2), kaplan=True,
        data_model=(4, 64), data_sizes=(3e4, 1e5, 3e5, 1e6, 3e6), data_max_epochs=20, data_max_tokens=6_000_000,
        shape_sizes=(3e4, 1e5), shape_aspects=(1.5, 4, 8, 16, 48, 96), shape_ff=(0.5, 1, 2, 4, 8),
        shape_heads=(1, 2, 4, 8), shape_tokens=1_500_000,
        nd_ladder=((2, 16), (2, 32), (3, 48), (4, 64)), nd_sizes=(3e4, 1e5, 3e5, 1e6, 3e6),
        nd_max_tokens=6_000_000,
        batch_model=(2, 32), batch_sizes=(2, 4, 8, 16, 32, 64), batch_tokens=4_000_000, batch_min_steps=1500,
        batch_lr_check=(4, 32), batch_seed_sizes=(4, 16, 32),
        iso_budgets=(1e11, 3e11, 1e12), iso_ladder=((1, 16), (2, 16), (2, 24), (2, 32), (3, 48), (4, 64), (5, 80)),
        iso_min_steps=300, iso_max_tokens=20_000_000, iso_full_budgets=(7e11, 1.5e12, 3e12),
        iso_full_ladder=((1, 16), (2, 16), (2, 24), (2, 32), (3, 40), (3, 48), (4, 48), (4, 64), (5, 80)),
        note="cpu: the reference study for a 2-core machine",
    ),
    "gpu": Profile(
        # At these sizes a GPU step is launch-bound, so optimizer steps, not FLOPs, set the wall time:
        # batch 128 x 128 tokens keeps >= 1,200 steps per ladder run with half the steps of 32 x 256.
        # Runs that must not repeat data stay within the 42M-token train split. N spans 1.2e4-1.4e7.
        # Not yet run end to end; the measurements behind it: docs/decisions.md (2026-11-27).
        # `scale` multiplies every token budget for users with more GPU time.
        name="gpu", n_ctx=128, batch_size=128, precision="bf16", eval_tokens=131_072,
        sweep_frac=0.25, sweep_factors=(0.5, 1.0, 2.0),
        ladder=((1, 32), (2, 64), (3, 128), (4, 192), (5, 256), (6, 320), (8, 384)), ladder_tokens=20_000_000,
        depths=((1, (32, 128, 256)), (2, (64, 128, 256)), (3, (128,)), (6, (128, 256)), (8, (384,))),
        depth_tokens=20_000_000,
        data_model=(4, 192), data_sizes=(1e5, 3e5, 1e6, 3e6, 1e7), data_max_epochs=20, data_max_tokens=20_000_000,
        shape_sizes=(1e6, 4e6), shape_aspects=(4, 12, 32, 96, 256), shape_ff=(0.5, 1, 2, 4, 8),
        shape_heads=(2, 4, 8, 16), shape_tokens=10_000_000,
        nd_ladder=((2, 64), (3, 128), (4, 192), (6, 256)), nd_sizes=(1e5, 3e5, 1e6, 3e6, 1e7),
        nd_max_tokens=20_000_000,
        long_ladder=((1, 32), (2, 64), (3, 128)), long_tokens=80_000_000, lr_check=((3, 128), (5, 256)),
        seed_ladder=((2, 64), (4, 192), (6, 320)), extra_seeds=(1, 2), kaplan=True,
        batch_model=(3, 128), batch_sizes=(16, 32, 64, 128, 256, 512), batch_tokens=20_000_000,
        batch_min_steps=1500, batch_lr_check=(32, 256), batch_seed_sizes=(32, 128, 512),
        iso_budgets=(3e13, 1e14, 3e14), iso_ladder=((2, 64), (3, 96), (3, 128), (4, 160), (4, 192), (5, 224),
                                                     (5, 256), (6, 288), (6, 320), (8, 384)),
        iso_min_steps=150,
        note="gpu: N up to 1.4e7 on one H100-class GPU",
    ),
}


def get_profile(name: str, **overrides) -> Profile:
    if name not in PROFILES:
        raise ScalingLawsError(f"unknown profile '{name}': choose one of {', '.join(PROFILES)}")
    p = PROFILES[name]
    if overrides:
        p = dataclasses.replace(p, **{k: v for k, v in overrides.items() if v not in (None, "")})
    if p.scale != 1.0:
        tok = {f.name: int(getattr(p, f.name) * p.scale) for f in dataclasses.fields(p)
               if f.name.endswith("_tokens") and f.name != "eval_tokens" and getattr(p, f.name)}
        p = dataclasses.replace(p, **tok)
    return p


# ---------------------------------------------------------------------------------------------
# The study: a profile bound to a run store, a figures folder and an executor layout
# ---------------------------------------------------------------------------------------------

@dataclass
class LRRule:
    """lr(N) = A·(N/1e4)^B fitted (least squares in log-log) to the best LRs of the ladder sweeps."""

    A: float
    B: float
    source: str
    sweeps: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)  # every sweep run's final loss
    best: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)  # best LR per size

    def __call__(self, n_params: float) -> float:
        return float(self.A * (n_params / 1e4) ** self.B)


def _round_lr(lr: float) -> float:
    return float(f"{lr:.3g}")


class Study:
    """One profile of the study bound to its run store and figures folder.

    runs_dir / figures_dir default to <checkout>/runs/<profile> and <checkout>/figures/<profile>;
    workers=0 chooses the layout automatically (see store.auto_layout). executor: "local" or "slurm"
    (job arrays through submitit, see scalinglaws.slurm), passed to ensure_runs.
    """

    def __init__(self, profile: str = "cpu", *, runs_dir=None, figures_dir=None, workers: int = 0,
                 device: str = "cpu", seed: int = 0, corpus: str | None = None, scale: float | None = None,
                 log: str = "run", executor="local"):
        from .data import project_root

        from .train import resolve_device

        self.profile = get_profile(profile, corpus=corpus, scale=scale)
        if isinstance(executor, str) and executor not in ("local", "slurm"):
            raise ScalingLawsError(f"executor={executor!r}: use 'local' or 'slurm'")
        # An impossible device fails here, before any data or training work (not after the token cache
        # is built and every run has failed on its own). On Slurm the device is the compute nodes'.
        if executor == "local":
            resolve_device(device)
        root = project_root() or Path.cwd()
        self.runs_dir = Path(runs_dir) if runs_dir else root / "runs" / self.profile.name
        self.figures_dir = Path(figures_dir) if figures_dir else root / "figures" / self.profile.name
        self.figures_dir.mkdir(parents=True, exist_ok=True)
        self.workers, self.device, self.seed, self.log = workers or None, device, seed, log
        self.executor = executor
        self._overrides = {"corpus": corpus, "scale": scale}
        self._rule: LRRule | None = None
        self._read_only = False  # set on a reference study whose store must not be trained into
        self._lr_ref: str | None = None  # profile whose store gave the LRs (Profile.lr_from), once looked up

    @property
    def is_smoke(self) -> bool:
        return self.profile.name == "smoke"

    def ensure(self, specs) -> pd.DataFrame:
        from .store import ensure_runs

        return ensure_runs(specs, self.runs_dir, workers=self.workers, device=self.device, log=self.log,
                           train=not self._read_only, executor=self.executor)

    @property
    def lr_store(self) -> str:
        """'' when this profile tuned its own LRs, else the store they were read from (Profile.lr_from)."""
        self.lr_rule()
        return f"runs/{self._lr_ref}" if self._lr_ref else ""

    def _adopt_reference_lrs(self) -> None:
        """Profile.lr_from: take the LR rule (with each swept size's optimum) from that profile's store,
        read only. Content addressing makes the check exact: with another
        corpus, seed or scale the reference's sweep runs have other ids, are missing, and this profile
        sweeps itself. Sets self._rule; leaves it untouched if the store lacks a run."""
        from .store import MissingRunsError

        p = self.profile
        if self._lr_ref is not None or not (p.tune_lr and p.lr_from):
            return
        self._lr_ref = ""
        # The reference store is this store's sibling: runs/cpu beside runs/quick in a checkout.
        ref = Study(p.lr_from, runs_dir=self.runs_dir.parent / p.lr_from, figures_dir=self.figures_dir,
                    seed=self.seed, log="none", **self._overrides)
        ref._read_only = True
        try:
            rule = ref.lr_rule()
        except MissingRunsError as e:
            if self.log != "none":
                print(f"[study] {p.name}: the {p.lr_from} sweeps are not all in {ref.runs_dir} ({e}); sweeping here",
                      flush=True)
            return
        self._rule = dataclasses.replace(rule, source=f"{rule.source}, read from {ref.runs_dir.name}/")
        self._lr_ref = p.lr_from

    # ------------------------------------------------------------------ learning rates
    def _spec(self, n_layer, d_model, tokens, **kw) -> RunSpec:
        return self.profile.base(n_layer, d_model, tokens, seed=self.seed, **kw)

    def _sweeps(self, jobs: list[tuple[RunSpec, int]], max_extend: int = 2) -> list[tuple[float, pd.DataFrame]]:
        """LR sweeps for several shapes in ONE ensure_runs call per round (so they share the workers):
        first the profile's factors around the starting rule, then, while a shape's best LR sits at the
        edge of its sweep, one more LR beyond that edge (x0.5 or x2), up to `max_extend` rounds.
        Returns (best LR, final-loss table) per job."""
        from .tuning import default_lr, sweep_result, sweep_specs

        if not jobs:
            return []
        lrs = [[_round_lr(default_lr(spec.n_params) * f) for f in self.profile.sweep_factors] for spec, _ in jobs]
        for round_ in range(max_extend + 1):
            groups = [sweep_specs(spec.replace(tokens=tokens), lr_list, budget_frac=1.0)
                      for (spec, tokens), lr_list in zip(jobs, lrs)]
            df = self.ensure([s for g in groups for s in g])
            out, grew = [], False
            for g, lr_list in zip(groups, lrs):
                best, final = sweep_result(df, g)
                out.append((best, final))
                if round_ < max_extend and best <= min(lr_list):
                    lr_list.append(_round_lr(min(lr_list) / 2)); grew = True
                elif round_ < max_extend and best >= max(lr_list):
                    lr_list.append(_round_lr(max(lr_list) * 2)); grew = True
            if not grew:
                break
        return out

    def lr_rule(self) -> LRRule:
        """Tune the peak LR of every ladder size with a short sweep; fit lr(N) to the optima."""
        self._adopt_reference_lrs()
        if self._rule is not None:
            return self._rule
        from .tuning import LR_RULE_A, LR_RULE_B, LR_RULE_SOURCE

        p = self.profile
        if not p.tune_lr:
            self._rule = LRRule(LR_RULE_A, LR_RULE_B, LR_RULE_SOURCE)
            return self._rule
        frames, best = [], []
        jobs = self._ladder_sweep_jobs()
        for (spec, _), (lr, final) in zip(jobs, self._sweeps(jobs)):
            frames.append(final.assign(n_layer=spec.n_layer, d_model=spec.d_model, tokens=spec.tokens))
            best.append({"n_layer": spec.n_layer, "d_model": spec.d_model, "N": spec.n_params, "argmin_lr": lr})
        sweeps = pd.concat(frames, ignore_index=True)
        best_df = pd.DataFrame(best)
        # Each ladder size runs at its own sweep optimum (parabola in log LR through the best point and
        # its neighbours), not at a pooled optimum line (rejected: docs/decisions.md, 2026-11-27).
        best_df["best_lr"] = best_df["argmin_lr"]
        best_df["at_edge"] = [b <= g.lr.min() or b >= g.lr.max() for b, (_, g) in
                              zip(best_df["best_lr"], sweeps.groupby("N", sort=True))]
        # Shapes that were not swept use the power law through the sizes' optima (least squares, log-log).
        b, log_a = np.polyfit(np.log(best_df["N"] / 1e4), np.log(best_df["best_lr"]), 1)
        self._rule = LRRule(float(np.exp(log_a)), float(b),
                            f"lr(N) fitted to the sweep optima of {len(best_df)} sizes ({p.name})", sweeps, best_df)
        return self._rule

    def _ladder_sweep_jobs(self) -> list[tuple[RunSpec, int]]:
        """(spec, sweep tokens) of every ladder size's LR sweep."""
        p = self.profile
        tokens = int(p.ladder_tokens * p.sweep_frac)
        return [(self._spec(l, d, tokens), tokens) for l, d in p.ladder]

    def lr_for(self, n_layer: int, d_model: int, batch_size: int | None = None) -> tuple[float, str]:
        """(peak LR, where it came from) for a shape: its own sweep if it is a ladder size, else the
        fitted rule; at a batch size other than the profile's, that LR × √(B / profile batch) (the
        square-root rule for Adam, Malladi et al. 2022; checked by the batch grid's ×/÷2 runs). Every LR
        that enters a run's address is rounded to 3 digits: the parabola's vertex differs between CPUs in
        its last digits, and an unrounded LR would make each CPU ask for a different run."""
        rule = self.lr_rule()
        if batch_size and batch_size != self.profile.batch_size:
            lr, src = self.lr_for(n_layer, d_model)
            return _round_lr(lr * math.sqrt(batch_size / self.profile.batch_size)), \
                f"{src}, × √({batch_size}/{self.profile.batch_size})"
        row = rule.best[(rule.best.n_layer == n_layer) & (rule.best.d_model == d_model)] if not rule.best.empty else []
        if self.profile.tune_lr and (n_layer, d_model) in self.profile.ladder and len(row):
            where = f" in runs/{self._lr_ref}" if self._lr_ref else ""
            return _round_lr(row.iloc[0].best_lr), f"sweep (this size{where})"
        n = non_embedding_params(self._spec(n_layer, d_model, 1).shape())
        return _round_lr(rule(n)), rule.source

    def _with_lr(self, spec: RunSpec, label: str, factor: float = 1.0) -> RunSpec:
        """spec with its tuned peak LR (× factor, for the LR checks) and a label."""
        if spec.d_ff or spec.n_head:  # shape variants: LR from the rule at their own N
            lr, src = _round_lr(self.lr_rule()(spec.n_params)), self.lr_rule().source
        else:
            lr, src = self.lr_for(spec.n_layer, spec.d_model, spec.batch_size)
        if factor != 1.0:
            lr, src = _round_lr(lr * factor), f"{src}, × {factor:.3g} (LR check)"
        return spec.replace(lr=lr, lr_source=src, label=label)

    # ------------------------------------------------------------------ grids
    def grid(self, finding: str) -> list[RunSpec]:
        if finding not in GRIDS:
            raise ScalingLawsError(f"unknown grid '{finding}': choose one of {', '.join(GRIDS)}")
        return getattr(self, f"_grid_{finding}")()

    def _grid_model_size(self):
        p = self.profile
        return [self._with_lr(self._spec(l, d, p.ladder_tokens), "model_size") for l, d in p.ladder]

    def _grid_depth(self):
        p = self.profile
        return [self._with_lr(self._spec(l, d, p.depth_tokens), "depth") for l, ds in p.depths for d in ds]

    def _grid_convergence(self):
        """The long_ladder sizes at long_tokens (their 2 other budgets: the sweep and the ladder)."""
        p = self.profile
        # noise_scale: B_simple along these curves too, to test whether it depends on the loss alone (Kaplan)
        return [self._with_lr(self._spec(l, d, p.long_tokens, noise_scale=True), "convergence") for l, d in p.long_ladder]

    def _grid_lr_check(self):
        """lr_check sizes at the ladder budget with the tuned LR ×/÷ √2: the tuned LR should be no worse."""
        p = self.profile
        return [self._with_lr(self._spec(l, d, p.ladder_tokens), f"lr-check x{f:.3g}", factor=f)
                for l, d in p.lr_check for f in (1 / math.sqrt(2), math.sqrt(2))]

    def _grid_seeds(self):
        """Other seeds of seed_ladder sizes and of the first shape size's grid (seed-to-seed noise)."""
        p = self.profile
        out = []
        for seed in p.extra_seeds:
            out += [self._with_lr(self._spec(l, d, p.ladder_tokens).replace(seed=seed), f"seed {seed}")
                    for l, d in p.seed_ladder]
            out += [s.replace(seed=seed, label=f"{s.label} seed {seed}") for s in self._grid_shape(first_size_only=True)]
        return out

    def _grid_kaplan(self):
        """The ladder trained as Kaplan et al. did (see Profile.kaplan): long warmup, cosine set for a
        longer run, the untuned starting LR rule."""
        from .tuning import LR_RULE_SOURCE, default_lr

        p = self.profile
        if not p.kaplan:
            return []
        out = []
        for l, d in p.ladder:
            s = self._spec(l, d, p.ladder_tokens)
            out.append(s.replace(lr=_round_lr(default_lr(s.n_params)), lr_source=LR_RULE_SOURCE, label="kaplan-style",
                                 noise_scale=True,  # B_simple at 7 sizes: does it depend on the loss alone?
                                 warmup_steps=max(1, int(p.kaplan_warmup_frac * s.steps)),
                                 schedule_tokens=int(p.kaplan_schedule_mult * s.tokens)))
        return out

    def _subset_tokens(self, D: int, cap: int) -> int:
        # Train up to data_max_epochs passes over the subset (early stopping usually ends sooner),
        # never more than the cap, and at least 20 steps.
        p = self.profile
        step = p.batch_size * p.n_ctx
        return max(20 * step, int(min(cap, D * p.data_max_epochs)) // step * step)

    def _grid_dataset_size(self):
        p = self.profile
        l, d = p.data_model
        return [self._with_lr(self._data_limited(l, d, D, p.data_max_tokens), "dataset_size") for D in p.data_sizes]

    def _data_limited(self, n_layer: int, d_model: int, D: float, cap: int) -> RunSpec:
        """A run on a D-token subset: repeated up to data_max_epochs or the cap, early-stopped, with the
        profile's dropout and subset sampling; 40+ evals so the minimum is resolved."""
        p = self.profile
        return self._spec(n_layer, d_model, self._subset_tokens(int(D), cap), data_tokens=int(D),
                          patience=p.data_patience, eval_points=max(p.eval_points, 40), dropout=p.data_dropout,
                          data_sampling=p.data_sampling)

    def _grid_shape(self, first_size_only: bool = False):
        p = self.profile
        out = []
        for target in p.shape_sizes[:1] if first_size_only else p.shape_sizes:
            for aspect in p.shape_aspects:
                s = shape_for_params(target, aspect, head_dim=8, n_ctx=p.n_ctx,
                                     vocab_size=p.vocab_size)
                out.append(self._with_lr(self._spec(s.n_layer, s.d_model, p.shape_tokens, n_head=s.n_head,
                                                    d_ff=s.d_ff), f"shape aspect={aspect} N~{target:g}"))
        if p.shape_sizes:
            out = list({s.run_id: s for s in out}.values())  # two aspects can round to one shape: keep one
            target, n_layer, head_dim = p.shape_sizes[0], 2, 8
            for r in p.shape_ff:  # keep N fixed: N ≈ n_layer·d²·(4 + 2r)
                d = max(head_dim, round(math.sqrt(target / (n_layer * (4 + 2 * r))) / head_dim) * head_dim)
                out.append(self._with_lr(self._spec(n_layer, d, p.shape_tokens, n_head=d // head_dim,
                                                    d_ff=max(1, int(r * d))), f"shape ff={r:g}"))
            d = max(8, round(math.sqrt(target / (n_layer * 12)) / 8) * 8)
            for h in p.shape_heads:
                if d % h == 0:
                    out.append(self._with_lr(self._spec(n_layer, d, p.shape_tokens, n_head=h, d_ff=4 * d),
                                             f"shape heads={h}"))
        return out

    def _grid_overfitting(self):
        p = self.profile
        out = []
        for l, d in p.nd_ladder:
            for D in p.nd_sizes:
                out.append(self._with_lr(self._data_limited(l, d, D, p.nd_max_tokens), "overfitting"))
        return out

    def _grid_batch(self):
        """batch_model at every batch size (see Profile: same warmup, constant LR, √B-scaled), then the
        LR checks (×/÷2 at batch_lr_check) and the other seeds (batch_seed_sizes); labels say which."""
        p = self.profile
        l, d = p.batch_model

        def run(b, seed=None, factor=1.0, label=""):
            tokens = max(p.batch_tokens, p.batch_min_steps * b * p.n_ctx)
            s = self._spec(l, d, tokens // (b * p.n_ctx) * (b * p.n_ctx), batch_size=b, schedule="wsd",
                           warmup_steps=p.batch_warmup, noise_scale=b >= 2)
            s = self._with_lr(s, label or f"batch={b}", factor=factor)
            return s if seed is None else s.replace(seed=seed, label=f"batch={b} seed {seed}")

        out = [run(b) for b in p.batch_sizes]
        out += [run(b, factor=f, label=f"batch={b} lr-check x{f:g}") for b in p.batch_lr_check for f in (0.5, 2.0)]
        out += [run(b, seed=seed) for seed in p.extra_seeds for b in p.batch_seed_sizes]
        return out

    def _grid_isoflop(self):
        return self._isoflop(self.profile.iso_budgets, "kaplan", "isoflop", self.profile.iso_ladder)

    def _grid_isoflop_full(self):
        p = self.profile
        return self._isoflop(p.iso_full_budgets, "full", "isoflop-full", p.iso_full_ladder or p.iso_ladder)

    def _isoflop(self, budgets, convention: str, label: str, ladder):
        """Per budget C (FLOPs under `convention`: "kaplan" = 6·N·D, "full" = C_full), every iso_ladder
        shape trained for D = C / (FLOPs per token), keeping those with >= iso_min_steps steps and no
        repetition of the train split (nor more than iso_max_tokens)."""
        from .model import train_flops_per_token

        p = self.profile
        n_train = self.train_tokens()
        cap = min(n_train, p.iso_max_tokens or n_train)
        out = []
        for C in budgets:
            for l, d in ladder:
                per_token = train_flops_per_token(self._spec(l, d, 1).shape())[convention]
                steps = int(C / per_token) // (p.batch_size * p.n_ctx)
                tokens = steps * p.batch_size * p.n_ctx
                if steps >= p.iso_min_steps and tokens <= cap:  # enough steps, no repetition
                    out.append(self._with_lr(self._spec(l, d, tokens), f"{label} C={C:g}"))
        return out

    def train_all(self, findings=GRIDS) -> int:
        """Train every run the notebooks will ask for, with as few barriers as possible; returns the
        number of distinct grid runs (the LR sweeps not counted). The ladder's LR sweeps first (every
        grid's LR depends on them), then all grids in one call, longest first. The notebooks then find every run cached (used for the gpu profile, where one process
        cannot keep the GPU busy)."""
        if self.profile.tune_lr:
            self.lr_rule()
        specs = [s for f in findings for s in self.grid(f)]  # sweeps now cached: no training here
        self.ensure(specs)
        return len({s.run_id for s in specs})  # findings share runs (the ladder is also a depth)

    def train_tokens(self) -> int:
        """Train-split size of the profile's corpus: read from a run of the store when one exists (so a
        notebook re-run against a committed store needs no token cache), else from the cache."""
        import json

        from .data import corpus_fingerprint, prepare_tokens

        fp = corpus_fingerprint(self.profile.corpus)
        for cfg in sorted(self.runs_dir.glob("*/config.json"))[:50]:
            c = json.loads(cfg.read_text())
            if c["corpus"]["fingerprint"] == fp and c["spec"]["vocab_size"] == self.profile.vocab_size:
                return int(c["corpus"]["split_tokens"]["train"])
        return prepare_tokens(self.profile.corpus, self.profile.vocab_size, quiet=True).meta["tokens"]["train"]
