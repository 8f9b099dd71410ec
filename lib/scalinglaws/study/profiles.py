"""The study's profiles and run grids, as data: what each profile trains, and why those settings.

    from scalinglaws.study.profiles import get_profile
    p = get_profile("cpu")            # a frozen Profile; p.ladder, p.ladder_tokens, ...

Profiles:
- ``smoke``  every code path of every notebook in about a minute each on 2 cores; numbers mean nothing.
- ``quick``  a classroom run: all notebooks in about 8 minutes on 2 Intel cores, 22 on the slower AMD
             kind (LRs read from the cpu store's sweeps); trends visible, fits rough.
- ``cpu``    the reference study for a 2-core machine (default); hours cold, not minutes: how long on
             yours, `scalinglaws estimate --profile cpu`.
- ``gpu``    the same findings at N ~1e4-1.4e7 for one H100 (``scale`` multiplies every token budget).

Why these settings (measured on the 2-core reference machine, see docs/speed.md and benchmarks/):
- vocab 1024 and n_ctx 128: the de-embedding (2·d_model·n_vocab FLOPs per token) dominates tiny
  models, so a small vocabulary buys many more model sizes per CPU hour; 1024 keeps ~2.5 characters
  per token (512 gives ~2.1).
- batch 16 × 128 = 2048 tokens per step: at this scale optimizer *steps* matter as much as tokens,
  so small batches (many steps) let the model-size ladder separate cleanly.
- peak LR tuned per model size with a short sweep (fraction ``sweep_frac`` of the ladder budget) on
  the ladder sizes; other shapes use the power law lr(N) fitted to those sweeps (the Study's `lr_rule`).

How a profile becomes RunSpecs (grids, LR sweeps, training): `scalinglaws.study.plan.Study`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from scalinglaws import ScalingLawsError
from scalinglaws.training.spec import RunSpec

# Every run grid a notebook asks for (which notebook reads which: scalinglaws.findings). convergence /
# lr_check / seeds / kaplan check the main grids: the ladder at other budgets, its LRs at x/÷√2, other
# seeds, and a Kaplan-style copy of the ladder.
GRIDS = ("model_size", "depth", "convergence", "lr_check", "seeds", "dataset_size", "shape", "overfitting",
         "batch", "isoflop", "kaplan", "ablation", "generalization", "lstm")


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
    # Evals of a run whose learning curve no notebook reads, only its final loss (LR sweeps, shapes, other
    # seeds, LR checks, depths, the ablation's final-loss families, the IsoFLOP-only sizes; Study.final_only):
    # log-spaced as always, ending at the last step. 0 = eval_points. Evals were 16% of the cpu study's
    # training time, and a run's steps do not depend on when it is evaluated (tests/training/test_loop.py).
    final_eval_points: int = 0
    # bootstrap resamples for every fit: 1,000 for the reference profiles, so an interval's ends move by less than
    # ~1% of its width from one bootstrap seed to another (at 200 the App. D.5 trend's end crossed 0 between seeds)
    n_boot: int = 1000
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
    # --- final losses (study.plan: trunks and cooldown branches): every final-loss run is WSD with this
    # explicit warmup (steps), the same for a trunk and its branches (an automatic warmup depends on the
    # budget). 100 steps is short next to every run here (Porian et al. 2024's "short warmup").
    final_warmup: int = 100
    # Budgets (tokens) below ladder_tokens at which every ladder size's final loss is also measured, as
    # cooldown branches of its trunk (about 20% of each budget on top of the trunk).
    ladder_budgets: tuple = ()
    # --- 01/06 convergence: these ladder sizes' trunks run on to long_tokens, with a branch at every
    # doubling from ladder_tokens: the loss gain per doubling of tokens says how converged a size is.
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
    kaplan_tokens: int = 0  # their budget; 0 = ladder_tokens
    kaplan_warmup_frac: float = 0.25
    kaplan_schedule_mult: float = 4.0
    # The same ladder, one change at a time towards Chinchilla's setup (Porian et al. 2024), trained when
    # `kaplan` is: (c) short warmup, (d) schedule matched to each budget (final losses from cooldown
    # branches at ladder_budgets up to kaplan_tokens), (f) AdamW beta2 0.99; (b) recounts (a)'s runs and
    # (e) is the ladder's own families (tuned LR). The grid: Study.grid("ablation").
    # --- 01 depth collapse: {n_layer: (d_model, ...)} at depth_tokens ---
    depths: tuple = ()
    depth_tokens: int = 0
    # --- 02 dataset size: one model on nested subsets, early stopping ---
    data_model: tuple = (2, 64)
    data_sizes: tuple = ()
    data_max_epochs: float = 100.0
    data_max_tokens: int = 0
    data_patience: int = 4
    data_eval_points: int = 60  # log-spaced; enough that the minimum is resolved to ~10% in steps
    # Data-limited runs as Kaplan trained them: 10% dropout, and subsets drawn as random chunks across
    # every book (RunSpec.data_sampling), not the first D tokens (a sixth of one book at D = 3e4).
    data_dropout: float = 0.1
    data_sampling: str = "chunks"
    # A constant LR after warmup (wsd; its cooldown only starts in the last 20% of the cap), so the
    # validation minimum is the data limit and not the end of an annealing schedule: with cosine over
    # 20 epochs 0 of 20 cpu runs had reached a minimum, the loss still falling as the LR annealed.
    # A run that reaches the cap without a minimum is not a data-limited point (the fits drop it).
    data_schedule: str = "wsd"
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
    # --- 06 IsoFLOP slices: at each budget C of iso_budgets (C = 6·N·D) and of iso_full_budgets (C_full:
    # attention context and de-embedding counted; at this scale 6ND is only 15-75% of it), the final loss of
    # every iso_ladder size whose budgets reach D = C / (FLOPs per token), interpolated in log-log between
    # the two nearest of its final losses (a factor 2 apart: its family, Study.grid("isoflop")). No run
    # is trained at exactly C; the interpolation error is measured by leaving budgets out (notebook 06b).
    iso_budgets: tuple = ()
    iso_full_budgets: tuple = ()
    iso_ladder: tuple = ()  # (n_layer, d_model); a size not on the ladder gets the ladder's budgets
    # These iso_ladder sizes' families run on, doubling, to iso_long_tokens (so the upper slices have sizes
    # on the small side of their minimum).
    iso_long: tuple = ()
    iso_long_tokens: int = 0
    # The budget exercise's shapes (scalinglaws.exercise): these, else iso_ladder; and its runs' rules.
    iso_full_ladder: tuple = ()
    iso_min_steps: int = 100
    iso_max_tokens: int = 0  # 0 = the train split (no repetition); else a cap on an exercise run's tokens
    # --- 07 generalisation: these ladder sizes at ood_tokens, evaluating the extra text sets ood_sets
    # (scalinglaws.evaluate; "ood" = the four texts of ../shared/ood) at every eval. A budget of their own,
    # so the runs are new: a finished run has no curve on a set it was not evaluated on during training.
    # Their final weights and loss by position (08) are kept too.
    ood_ladder: tuple = ()
    ood_tokens: int = 0
    # Each of them also cooled down at these fractions of ood_tokens (branches of its trunk), so 07 can
    # compare constant-LR trunk checkpoints with annealed ends at the same tokens (phase vs annealing).
    ood_branch_fracs: tuple = (0.25, 0.5)
    ood_sets: tuple = ("ood",)
    # --- 08 LSTMs: (n_layer, d_model) LSTM language models (RunSpec.arch = "lstm") at lstm_tokens, each
    # with its own LR sweep (sweep_factors around the library's starting rule, at sweep_frac of the budget)
    lstm_ladder: tuple = ()
    lstm_tokens: int = 0
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
        # eval_points 10: notebook 05 reads curves up to the WSD cooldown, and needs 5+ evals there
        name="smoke", corpus="gutenberg:12", vocab_size=512, n_ctx=64, batch_size=8, eval_points=10,
        eval_tokens=4096, n_boot=20, final_eval_points=3,
        sweep_frac=0.5, sweep_factors=(0.5, 1.0, 2.0),
        ladder=((1, 16), (2, 16), (2, 32)), ladder_tokens=8 * 64 * 60, final_warmup=5,
        ladder_budgets=(8 * 64 * 15, 8 * 64 * 30),
        depths=((1, (16, 32)), (2, (16,))), depth_tokens=8 * 64 * 60,
        data_model=(1, 16), data_sizes=(2_000, 8_000, 32_000), data_max_epochs=4, data_patience=2,
        data_max_tokens=8 * 64 * 40,
        shape_sizes=(6e3,), shape_aspects=(4, 16), shape_ff=(1, 4), shape_heads=(1, 2), shape_tokens=8 * 64 * 30,
        nd_ladder=((1, 16), (2, 16)), nd_sizes=(4_000, 16_000), nd_max_tokens=8 * 64 * 40,
        long_ladder=((1, 16), (2, 16)), long_tokens=8 * 64 * 240, lr_check=((2, 16),),
        seed_ladder=((1, 16),), extra_seeds=(1,), kaplan=True,
        batch_model=(1, 16), batch_sizes=(2, 4, 8), batch_tokens=8 * 64 * 60, batch_min_steps=60,
        batch_warmup=10, batch_lr_check=(4,), batch_seed_sizes=(4,),
        ood_ladder=((1, 16), (2, 16), (2, 32)), ood_tokens=8 * 64 * 50, lstm_ladder=((1, 16), (1, 32), (2, 32)),
        lstm_tokens=8 * 64 * 50,
        iso_budgets=(1e9, 2e9), iso_ladder=((1, 16), (2, 16), (2, 32)), iso_min_steps=10, iso_full_budgets=(4e9, 8e9),
        note="smoke: exercises every code path; its numbers mean nothing",
    ),
    "quick": Profile(
        # LRs from the cpu reference store (lr_from): its ladder sweeps ran at 2M tokens, exactly this
        # ladder's budget, on the same model family, batch and context. Without runs/cpu beside
        # runs/quick (or with another corpus, seed or scale) quick sweeps itself at sweep_frac below.
        # Why these budgets, and what was tried: docs/decisions.md (2026-11-28).
        name="quick", eval_points=16, eval_tokens=32_768, n_boot=100, lr_from="cpu",
        sweep_frac=0.5, sweep_factors=(0.5, 1.0, 2.0),
        ladder=((2, 16), (2, 32), (3, 48), (4, 64)), ladder_tokens=2_000_000, ladder_budgets=(500_000, 1_000_000),
        long_ladder=((1, 16), (2, 16), (2, 24)), long_tokens=8_000_000,
        depths=((1, (32, 64)), (2, (16, 32)), (3, (48,)), (4, (32, 64))), depth_tokens=2_000_000,
        data_model=(3, 48), data_sizes=(1e4, 3e4, 1e5), data_max_tokens=1_000_000,
        shape_sizes=(2.5e4,), shape_aspects=(2, 16, 48), shape_ff=(1, 4), shape_heads=(1, 4), shape_tokens=1_000_000,
        nd_ladder=((2, 16), (2, 32), (3, 48)), nd_sizes=(1e4, 3e4, 1e5), nd_max_tokens=1_000_000,
        batch_model=(2, 32), batch_sizes=(4, 16, 64), batch_tokens=1_000_000, batch_min_steps=300,
        iso_budgets=(1e11, 3e11), iso_ladder=((1, 16), (2, 16), (2, 24), (2, 32), (3, 48)), iso_min_steps=200,
        ood_ladder=((2, 16), (2, 32), (3, 48)), ood_tokens=1_000_000,
        lstm_ladder=((1, 16), (2, 32), (2, 64)), lstm_tokens=500_000,
        note="quick: classroom run; trends visible, fits rough",
    ),
    "cpu": Profile(
        name="cpu", sweep_frac=0.25, sweep_factors=(0.5, 1.0, 2.0), final_eval_points=4,
        ladder=((1, 16), (2, 16), (2, 24), (2, 32), (3, 48), (4, 64), (5, 80)), ladder_tokens=8_000_000,
        ladder_budgets=(500_000, 1_000_000, 2_000_000, 4_000_000),
        depths=((1, (16, 32, 64)), (2, (16, 24, 32)), (3, (48,)), (4, (64,)), (5, (80,)), (6, (32,))),
        depth_tokens=8_000_000,
        long_ladder=((1, 16), (2, 16), (2, 24), (2, 32)), long_tokens=32_000_000,
        lr_check=((2, 16), (3, 48)), seed_ladder=((1, 16), (2, 32), (3, 48)), extra_seeds=(1, 2),
        kaplan=True, kaplan_tokens=4_000_000,
        data_model=(4, 64), data_sizes=(1e4, 3e4, 1e5, 3e5), data_max_tokens=6_000_000,
        shape_sizes=(3e4, 1e5), shape_aspects=(1.5, 4, 8, 16, 48, 96), shape_ff=(0.5, 1, 2, 4, 8),
        shape_heads=(1, 2, 4, 8), shape_tokens=1_500_000,
        nd_ladder=((2, 16), (2, 32), (3, 48), (4, 64)), nd_sizes=(1e4, 3e4, 1e5, 3e5),
        nd_max_tokens=6_000_000,
        batch_model=(2, 32), batch_sizes=(2, 4, 8, 16, 32, 64), batch_tokens=4_000_000, batch_min_steps=1500,
        batch_lr_check=(4, 32), batch_seed_sizes=(4, 16, 32),
        # IsoFLOP slices: 6 budgets a factor 2 apart (1.5 decades) under each convention, read off the families
        # of the ladder and of five sizes off it (2x8 and 2x40 to 16M, 2x12, 2x20, 4x48), so that every slice
        # holds >= 6 sizes with its minimum inside (the design and what it measured: docs/decisions.md, 2026-12-07)
        iso_budgets=tuple(1e11 * 2 ** k for k in range(6)), iso_full_budgets=tuple(2.5e11 * 2 ** k for k in range(6)),
        iso_ladder=((1, 16), (2, 8), (2, 12), (2, 16), (2, 20), (2, 24), (2, 32), (2, 40), (3, 48), (4, 48), (4, 64),
                    (5, 80)),
        iso_long=((2, 8), (2, 40)), iso_long_tokens=16_000_000, iso_min_steps=300,
        iso_max_tokens=20_000_000,
        iso_full_ladder=((1, 16), (2, 16), (2, 24), (2, 32), (3, 40), (3, 48), (4, 48), (4, 64), (5, 80)),
        # 07/08: the ladder and an LSTM ladder of matched N (2e3-2.6e5) at one budget of their own
        ood_ladder=((1, 16), (2, 16), (2, 24), (2, 32), (3, 48), (4, 64), (5, 80)), ood_tokens=3_000_000,
        lstm_ladder=((1, 16), (1, 32), (2, 32), (2, 64), (2, 128)), lstm_tokens=3_000_000,
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
        ladder_budgets=(5_000_000, 10_000_000), kaplan_tokens=10_000_000,  # >= 300 steps of 16,384 tokens
        depths=((1, (32, 128, 256)), (2, (64, 128, 256)), (3, (128,)), (6, (128, 256)), (8, (384,))),
        depth_tokens=20_000_000,
        data_model=(4, 192), data_sizes=(1e5, 3e5, 1e6, 3e6, 1e7), data_max_tokens=20_000_000,
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
        ood_ladder=((1, 32), (2, 64), (3, 128), (4, 192), (5, 256), (6, 320), (8, 384)), ood_tokens=10_000_000,
        lstm_ladder=((1, 64), (2, 128), (2, 256), (2, 512), (3, 768)), lstm_tokens=10_000_000,
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
