"""The study as behaviour: a profile (scalinglaws.study.profiles) bound to a run store, a figures folder and an
executor, turned into RunSpecs with tuned LRs and trained.

    from scalinglaws.study.plan import Study
    study = Study("cpu")                          # profile, run store, figures folder
    specs = study.grid("model_size")              # RunSpecs, peak LR tuned per model size
    runs = study.ensure(specs)                    # trains what is missing, returns the eval rows
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from scalinglaws import ScalingLawsError
from scalinglaws.study.profiles import GRIDS, get_profile
from scalinglaws.study.tuning import sweep_result, sweep_specs
from scalinglaws.training.lr import LR_RULE_A, LR_RULE_B, LR_RULE_SOURCE, default_lr, round_lr
from scalinglaws.training.model import non_embedding_params, shape_for_params
from scalinglaws.training.spec import RunSpec


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



class Study:
    """One profile of the study bound to its run store and figures folder.

    runs_dir / figures_dir default to <checkout>/runs/<profile> and <checkout>/figures/<profile>;
    workers=0 chooses the layout automatically (see store.auto_layout). executor: "local" or "slurm"
    (job arrays through submitit, see scalinglaws.slurm), passed to ensure_runs.
    """

    def __init__(self, profile: str = "cpu", *, runs_dir=None, figures_dir=None, workers: int = 0,
                 device: str = "cpu", seed: int = 0, corpus: str | None = None, scale: float | None = None,
                 log: str = "run", executor="local", group: int | None = None):
        from scalinglaws.data.paths import project_root
        from scalinglaws.training.trainer import resolve_device

        self.profile = get_profile(profile, corpus=corpus, scale=scale)
        if isinstance(executor, str) and executor not in ("local", "slurm"):
            raise ScalingLawsError(f"executor={executor!r}: use 'local' or 'slurm'")
        # An impossible device fails here, before any data or training work (not after the token cache
        # is built and every run has failed on its own). On Slurm the device is the compute nodes'.
        if executor == "local":
            resolve_device(device)
        if not isinstance(workers, int) or isinstance(workers, bool) or workers < 0:
            raise ScalingLawsError(f"workers={workers!r}: use a whole number >= 0 (0 = automatic layout)")
        root = project_root() or Path.cwd()
        default_runs = root / "runs" / self.profile.name
        self.runs_dir = Path(runs_dir) if runs_dir else default_runs
        self.figures_dir = Path(figures_dir) if figures_dir else self._default_figures(root, default_runs)
        self.figures_dir.mkdir(parents=True, exist_ok=True)
        self.workers, self.device, self.seed, self.log = workers or None, device, seed, log
        self.executor = executor
        self.group = group  # same-shape runs per stacked model (ensure_runs(group=)); None = its default
        self._overrides = {"corpus": corpus, "scale": scale}
        self._rule: LRRule | None = None
        self._read_only = False  # set on a reference study whose store must not be trained into
        self._lr_ref: str | None = None  # profile whose store gave the LRs (Profile.lr_from), once looked up
        self._lstm: pd.DataFrame | None = None  # lstm_lrs(), once swept (notebook 08 and grid("lstm") both ask)

    def _default_figures(self, root: Path, default_runs: Path) -> Path:
        """figures/<profile> for the profile's own store; for any other store <runs_dir>/../figures/<profile>,
        so a section re-run on another store (-p runs_dir) never overwrites the figures and NN_results.json
        of runs/<profile> (for the cpu profile: the committed reference ones)."""
        if self.runs_dir.resolve() == default_runs.resolve():
            if self.is_smoke:  # smoke figures mean nothing and are never published: beside its (ignored) store
                return self.runs_dir / "figures"
            return root / "figures" / self.profile.name
        return self.runs_dir.resolve().parent / "figures" / self.profile.name

    @property
    def is_smoke(self) -> bool:
        return self.profile.name == "smoke"

    def ensure(self, specs, eval_sets=None) -> pd.DataFrame:
        """Train what is missing of `specs` (eval_sets: extra text evaluated at every eval point, see
        scalinglaws.evaluate); return their eval rows."""
        from scalinglaws.store.ensure import ensure_runs

        return ensure_runs(specs, self.runs_dir, workers=self.workers, device=self.device, log=self.log,
                           train=not self._read_only, executor=self.executor, eval_sets=eval_sets,
                           group=self.group)

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
        from scalinglaws.store.ensure import MissingRunsError

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

    # ------------------------------------------------------------------ for the time estimate (study.estimate)
    def first_sweep_round(self) -> list[RunSpec]:
        """The first round of every LR sweep a cold study trains: the ladder's (unless read from the
        reference store, Profile.lr_from) and the LSTMs'. A sweep that has to be extended trains more;
        nothing is trained here."""
        self._adopt_reference_lrs()  # reads the reference store only
        jobs = ([] if self._lr_ref else self._ladder_sweep_jobs()) + self._lstm_sweep_jobs()
        return [s for spec, tokens in jobs for s in self._sweep_specs(spec, tokens, self._first_sweep_lrs(spec))]

    def ladder_params(self) -> list[int]:
        """Non-embedding N of each ladder size, in the profile's order."""
        return [self._spec(l, d, 1).n_params for l, d in self.profile.ladder]

    def assume_lrs(self, rule: LRRule, lstm_lrs: pd.DataFrame) -> None:
        """Use these LRs instead of sweeping: an LR does not change a run's cost, so the estimator builds
        the grids with them (their run ids are then not the study's)."""
        self._rule, self._lstm = rule, lstm_lrs

    # ------------------------------------------------------------------ learning rates
    def _spec(self, n_layer, d_model, tokens, **kw) -> RunSpec:
        return self.profile.base(n_layer, d_model, tokens, **{"seed": self.seed, **kw})

    def _first_sweep_lrs(self, spec: RunSpec) -> list[float]:
        """The first round of a shape's LR sweep: the profile's factors around the starting rule."""
        return [round_lr(default_lr(spec.n_params) * f) for f in self.profile.sweep_factors]

    def _sweep_specs(self, spec: RunSpec, tokens: int, lrs: list[float]) -> list[RunSpec]:
        """One sweep round's specs: spec at `tokens` (its cosine matched to them) at each LR; a sweep reads
        only final losses (tuning.sweep_result)."""
        return sweep_specs(self.final_only(spec.replace(tokens=tokens)), lrs, budget_frac=1.0)

    def final_only(self, spec: RunSpec) -> RunSpec:
        """spec evaluated at Profile.final_eval_points steps: for a run whose learning curve no notebook reads,
        only its final loss. Its steps are the same (evaluation changes no weight), so only the cost changes."""
        return spec.replace(eval_points=self.final_evals)

    @property
    def final_evals(self) -> int:
        p = self.profile
        return p.final_eval_points or p.eval_points

    def _sweeps(self, jobs: list[tuple[RunSpec, int]], max_extend: int = 2) -> list[tuple[float, pd.DataFrame]]:
        """LR sweeps for several shapes in ONE ensure_runs call per round (so they share the workers):
        first the profile's factors around the starting rule, then, while a shape's best LR sits at the
        edge of its sweep, one more LR beyond that edge (x0.5 or x2), up to `max_extend` rounds.
        Returns (best LR, final-loss table) per job."""
        if not jobs:
            return []
        lrs = [self._first_sweep_lrs(spec) for spec, _ in jobs]
        for round_ in range(max_extend + 1):
            groups = [self._sweep_specs(spec, tokens, lr_list) for (spec, tokens), lr_list in zip(jobs, lrs)]
            df = self.ensure([s for g in groups for s in g])
            out, grew = [], False
            for g, lr_list in zip(groups, lrs):
                best, final = sweep_result(df, g)
                out.append((best, final))
                if round_ < max_extend and best <= min(lr_list):
                    lr_list.append(round_lr(min(lr_list) / 2)); grew = True
                elif round_ < max_extend and best >= max(lr_list):
                    lr_list.append(round_lr(max(lr_list) * 2)); grew = True
            if not grew:
                break
        return out

    def lr_rule(self) -> LRRule:
        """Tune the peak LR of every ladder size with a short sweep; fit lr(N) to the optima."""
        self._adopt_reference_lrs()
        if self._rule is not None:
            return self._rule
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
        best_df["at_edge"] = [b <= g.peak_lr.min() or b >= g.peak_lr.max() for b, (_, g) in
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
            return round_lr(lr * math.sqrt(batch_size / self.profile.batch_size)), \
                f"{src}, × √({batch_size}/{self.profile.batch_size})"
        row = rule.best[(rule.best.n_layer == n_layer) & (rule.best.d_model == d_model)] if not rule.best.empty else []
        if self.profile.tune_lr and (n_layer, d_model) in self.profile.ladder and len(row):
            where = f" in runs/{self._lr_ref}" if self._lr_ref else ""
            return round_lr(row.iloc[0].best_lr), f"sweep (this size{where})"
        n = non_embedding_params(self._spec(n_layer, d_model, 1).shape())
        return round_lr(rule(n)), rule.source

    def _with_lr(self, spec: RunSpec, label: str, factor: float = 1.0) -> RunSpec:
        """spec with its tuned peak LR (× factor, for the LR checks) and a label."""
        if spec.d_ff or spec.n_head:  # shape variants: LR from the rule at their own N
            lr, src = round_lr(self.lr_rule()(spec.n_params)), self.lr_rule().source
        else:
            lr, src = self.lr_for(spec.n_layer, spec.d_model, spec.batch_size)
        if factor != 1.0:
            lr, src = round_lr(lr * factor), f"{src}, × {factor:.3g} (LR check)"
        return spec.replace(lr=lr, lr_source=src, label=label)

    # ------------------------------------------------------------------ grids
    def grid(self, finding: str) -> list[RunSpec]:
        if finding not in GRIDS:
            raise ScalingLawsError(f"unknown grid '{finding}': choose one of {', '.join(GRIDS)}")
        return getattr(self, f"_grid_{finding}")()

    # ------------------------------------------------------------------ final losses: trunks and cooldown branches
    # Every final loss a notebook reads at a size's ladder budget, or at several budgets of one size, is a
    # WSD run (constant peak, 20% linear cooldown; Hägele et al. 2024) with the profile's explicit warmup,
    # and the budgets of one size form a family: one trunk (the largest budget) and one cooldown branch per
    # smaller budget (training.branches), so a size's loss at k budgets costs about one run. Runs that are
    # not in a family (other seeds, LR checks, other depths) are from-scratch WSD runs of the same kind,
    # which a branch equals by construction (tests/training/test_branches.py).
    def _final_spec(self, n_layer: int, d_model: int, tokens: int, **kw) -> RunSpec:
        """A from-scratch final-loss run: WSD with the profile's explicit warmup (no LR, no label yet)."""
        return self._spec(n_layer, d_model, tokens, schedule="wsd", warmup_steps=self.profile.final_warmup, **kw)

    def _ladder_budgets(self, n_layer: int, d_model: int) -> set[int]:
        """Token budgets of a size's final-loss family, a factor 2 apart where the profile says so: for a
        ladder size its ladder budget and ladder_budgets, and for a long_ladder (iso_long) size every doubling
        on to long_tokens (iso_long_tokens); an IsoFLOP size that is not on the ladder gets the ladder's budgets
        too (the IsoFLOP slices are read off these final losses, analysis.final_losses)."""
        p, size = self.profile, (n_layer, d_model)
        out: set[int] = set()
        if size in p.ladder or size in p.iso_ladder:
            out |= {p.ladder_tokens, *(int(b) for b in p.ladder_budgets if b < p.ladder_tokens)}
        for sizes, top in ((p.long_ladder, p.long_tokens), (p.iso_long, p.iso_long_tokens)):
            if size in sizes and top:
                b = p.ladder_tokens
                while b < top:
                    out.add(b)
                    b *= 2
                out.add(top)
        return {int(b) for b in out if b}

    def _family(self, n_layer: int, d_model: int, budgets=None, label: str = "final", **kw) -> dict[int, RunSpec]:
        """{budget: run} of one size's final-loss family (budgets default: _ladder_budgets): the trunk at the
        largest budget, cooldown branches at the others. kw changes the whole family (beta2, lr, ...)."""
        from scalinglaws.training.branches import branch_specs

        budgets = sorted(budgets or self._ladder_budgets(n_layer, d_model))
        spec = self._final_spec(n_layer, d_model, budgets[-1])
        spec = self._with_lr(spec, label) if "lr" not in kw else spec.replace(label=label)
        trunk, branches = branch_specs(spec.replace(**kw), budgets)
        return {s.tokens: s for s in (*branches, trunk)}

    def _final(self, n_layer: int, d_model: int, tokens: int, label: str) -> RunSpec:
        """The size's final loss at `tokens`: its family's member when the family holds that budget, else a
        from-scratch WSD run with the tuned LR."""
        if int(tokens) in self._ladder_budgets(n_layer, d_model):
            return self._family(n_layer, d_model)[tokens].replace(label=label)
        return self.final_only(self._with_lr(self._final_spec(n_layer, d_model, tokens), label))  # depths off the ladder

    def _grid_model_size(self):
        p = self.profile
        return [self._final(l, d, p.ladder_tokens, "model_size") for l, d in p.ladder]

    def _grid_depth(self):
        p = self.profile
        return [self._final(l, d, p.depth_tokens, "depth") for l, ds in p.depths for d in ds]

    def _grid_convergence(self):
        """Every member of every ladder size's family (trunk and branches): the final loss of each size at
        each of its budgets, for convergence (01), the frontier of final losses and Approaches 1 and 3 (06)."""
        return self._families(self.profile.ladder)

    def _families(self, sizes) -> list[RunSpec]:
        """Every member (trunk and branches) of these sizes' final-loss families, labelled by budget. A size off
        the ladder (an IsoFLOP-only size) has only its final losses read: its trunk is evaluated final_only."""
        out = []
        for l, d in sizes:
            kw = {} if (l, d) in self.profile.ladder else {"eval_points": self.final_evals}
            out += [s.replace(label=f"final D={t}") for t, s in sorted(self._family(l, d, **kw).items())]
        return out

    def _grid_lr_check(self):
        """lr_check sizes at the ladder budget with the tuned LR ×/÷ √2: the tuned LR should be no worse."""
        p = self.profile
        return [self.final_only(self._with_lr(self._final_spec(l, d, p.ladder_tokens), f"lr-check x{f:.3g}", factor=f))
                for l, d in p.lr_check for f in (1 / math.sqrt(2), math.sqrt(2))]

    def _grid_seeds(self):
        """Other seeds of seed_ladder sizes and of the first shape size's grid (seed-to-seed noise)."""
        p = self.profile
        out = []
        for seed in p.extra_seeds:
            out += [self.final_only(self._with_lr(self._final_spec(l, d, p.ladder_tokens, seed=seed), f"seed {seed}"))
                    for l, d in p.seed_ladder]
            out += [s.replace(seed=seed, label=f"{s.label} seed {seed}") for s in self._grid_shape(first_size_only=True)]
        return out

    def _kaplan_style(self, n_layer: int, d_model: int, warmup_steps: int | None = None, label: str = "kaplan-style",
                      **kw) -> RunSpec:
        """A ladder size trained as Kaplan et al. did (see Profile.kaplan) at kaplan_tokens: cosine set for
        kaplan_schedule_mult × the run, the untuned starting LR rule, warmup kaplan_warmup_frac of the steps
        unless warmup_steps says otherwise."""
        p = self.profile
        s = self._spec(n_layer, d_model, p.kaplan_tokens or p.ladder_tokens, **kw)
        return s.replace(lr=round_lr(default_lr(s.n_params)), lr_source=LR_RULE_SOURCE, label=label,
                         warmup_steps=warmup_steps or max(1, int(p.kaplan_warmup_frac * s.steps)),
                         schedule_tokens=int(p.kaplan_schedule_mult * s.tokens))

    def _grid_kaplan(self):
        """The ladder trained as Kaplan et al. did: step (a) of the ablation (notebook 06b)."""
        p = self.profile
        # noise_scale: B_simple at every ladder size: does it depend on the loss alone?
        return [self._kaplan_style(l, d, noise_scale=True) for l, d in p.ladder] if p.kaplan else []

    def _grid_ablation(self):
        """Porian et al. 2024's steps from Kaplan's setup to Chinchilla's, one change at a time, on the ladder
        sizes at kaplan_tokens (step (a) is the kaplan grid, (b) a recount of its runs, (e) the ladder
        families' final losses at the same budgets; their labels say which step each run is):
        (c) the kaplan grid with the short warmup; (d) schedules matched to each budget: a WSD family with
        the untuned LR rule; (f) the tuned family with AdamW beta2 = 0.99 instead of 0.95."""
        p = self.profile
        if not p.kaplan:
            return []
        out = [self._kaplan_style(l, d, warmup_steps=p.final_warmup, label="ablation c: short warmup")
               for l, d in p.ladder]
        for l, d in p.ladder:
            budgets = self.ablation_budgets()
            rule_lr = round_lr(default_lr(self._spec(l, d, 1).n_params))
            # steps (d) and (f) read final losses only (the envelope of final losses): trunks evaluated final_only
            fam_d = self._family(l, d, budgets, "ablation d: schedule per budget", lr=rule_lr,
                                 lr_source=LR_RULE_SOURCE, eval_points=self.final_evals)
            fam_f = self._family(l, d, budgets, "ablation f: beta2 0.99", beta2=0.99, eval_points=self.final_evals)
            out += list(fam_d.values()) + list(fam_f.values())
        return out

    def ablation_budgets(self) -> list[int]:
        """Token budgets of the ablation's final losses: the ladder_budgets below kaplan_tokens, and it."""
        p = self.profile
        top = p.kaplan_tokens or p.ladder_tokens
        step = p.batch_size * p.n_ctx
        return sorted({int(b) // step * step for b in (*[b for b in p.ladder_budgets if b < top], top)})

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
                          patience=p.data_patience, eval_points=max(p.eval_points, p.data_eval_points),
                          dropout=p.data_dropout, data_sampling=p.data_sampling, schedule=p.data_schedule)

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
        return [self.final_only(s) for s in out]  # 03 reads final losses only

    def _grid_overfitting(self):
        p = self.profile
        out = []
        for l, d in p.nd_ladder:
            for D in p.nd_sizes:
                out.append(self._with_lr(self._data_limited(l, d, D, p.nd_max_tokens), "overfitting"))
        return out

    def _grid_generalization(self):
        """The ood_ladder at ood_tokens, each size a trunk with cooldown branches at ood_branch_fracs of it
        (train with eval_sets=profile.ood_sets: Study.ensure_grid does); the trunk is labelled
        "generalization", its branches "generalization branch"."""
        p = self.profile
        step = p.batch_size * p.n_ctx
        budgets = sorted({int(p.ood_tokens * f) // step * step for f in (1.0, *p.ood_branch_fracs)} - {0})
        out = []
        for l, d in p.ood_ladder:
            fam = self._family(l, d, budgets, "generalization")
            out += [s.replace(label="generalization" if s.tokens == budgets[-1] else "generalization branch")
                    for _, s in sorted(fam.items())]
        return out

    def _lstm_sweep_jobs(self) -> list[tuple[RunSpec, int]]:
        """(spec, sweep tokens) of every LSTM size's LR sweep (sweep_frac of lstm_tokens)."""
        p = self.profile
        tokens = int(p.lstm_tokens * p.sweep_frac)
        return [(self._spec(l, d, tokens, arch="lstm"), tokens) for l, d in p.lstm_ladder]

    def lstm_lrs(self) -> pd.DataFrame:
        """Best LR per LSTM size from its own sweep at sweep_frac of lstm_tokens (LSTMs are not on the
        transformer rule); columns n_layer, d_model, N, best_lr, at_edge, and the sweep's final losses."""
        if self._lstm is not None:
            return self._lstm
        p = self.profile
        jobs = self._lstm_sweep_jobs()
        rows = []
        for (spec, _), (lr, final) in zip(jobs, self._sweeps(jobs) if p.tune_lr else [(None, None)] * len(jobs)):
            if lr is None:  # smoke: the library's starting rule
                lr = default_lr(spec.n_params)
            rows.append({"n_layer": spec.n_layer, "d_model": spec.d_model, "N": spec.n_params, "best_lr": round_lr(lr),
                         "at_edge": bool(final is not None and (lr <= final.peak_lr.min() or lr >= final.peak_lr.max())),
                         "sweep": final})
        self._lstm = pd.DataFrame(rows)
        return self._lstm

    def _grid_lstm(self):
        p = self.profile
        lrs = self.lstm_lrs()
        return [self._spec(r.n_layer, r.d_model, p.lstm_tokens, arch="lstm").replace(
                    lr=float(r.best_lr), lr_source="sweep (this LSTM size)", label="lstm")
                for r in lrs.itertuples()]

    def ensure_grid(self, finding: str) -> pd.DataFrame:
        """study.ensure(study.grid(finding)) with the extra eval sets that grid asks for."""
        return self.ensure(self.grid(finding), eval_sets=self.eval_sets_for(finding))

    def eval_sets_for(self, finding: str):
        return list(self.profile.ood_sets) if finding == "generalization" else None

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
        """The final-loss families of the iso_ladder sizes (trunks and branches at budgets a factor 2 apart):
        the IsoFLOP slices at iso_budgets (6ND) and iso_full_budgets (C_full) are read off them by
        interpolation in log-log between neighbouring final losses (analysis.final_losses.isoflop_slices)."""
        return self._families(self.profile.iso_ladder)

    def train_all(self, findings=GRIDS) -> int:
        """Train every run the notebooks will ask for, with as few barriers as possible; returns the
        number of distinct grid runs (the LR sweeps not counted). The ladder's LR sweeps first (every
        grid's LR depends on them), then all grids in one call, longest first. The notebooks then find every run cached (used for the gpu profile, where one process
        cannot keep the GPU busy)."""
        if self.profile.tune_lr:
            self.lr_rule()
        with_sets = [f for f in findings if self.eval_sets_for(f)]
        specs = [s for f in findings if f not in with_sets for s in self.grid(f)]  # sweeps now cached
        self.ensure(specs)
        for f in with_sets:
            extra = self.grid(f)
            self.ensure(extra, eval_sets=self.eval_sets_for(f))
            specs += extra
        return len({s.run_id for s in specs})  # findings share runs (the ladder is also a depth)

    def train_tokens(self) -> int:
        """Train-split size of the profile's corpus: read from a run of the store when one exists (so a
        notebook re-run against a committed store needs no token cache), else from the cache."""
        import json

        from scalinglaws.data.corpus import corpus_fingerprint
        from scalinglaws.data.tokens import prepare_tokens

        fp = corpus_fingerprint(self.profile.corpus)
        for cfg in sorted(self.runs_dir.glob("*/config.json"))[:50]:
            c = json.loads(cfg.read_text())
            if c["corpus"]["fingerprint"] == fp and c["spec"]["vocab_size"] == self.profile.vocab_size:
                return int(c["corpus"]["split_tokens"]["train"])
        return prepare_tokens(self.profile.corpus, self.profile.vocab_size, quiet=True).meta["tokens"]["train"]
