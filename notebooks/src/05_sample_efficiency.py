# Source of notebooks/05_sample_efficiency.ipynb (jupytext "percent" format: each "# %%" starts a cell).
# Edit here, then: .venv/bin/python notebooks/make_notebooks.py 05

# %% [markdown]
# # 05 — Sample efficiency and learning curves: L(N, S)
#
# **The claim** (Kaplan et al. 2020, Sec. 5, Fig. 2, Fig. 4 right, Eq. 1.6): larger models reach any given loss in
# fewer steps and fewer tokens, and learning curves after warmup follow L(N, S) = (N_c/N)^α_N + (S_c/S)^α_S with
# α_S ≈ 0.76, S counted as S_min (steps at a batch far above the critical one, Sec. 5.1). The use: fit the start of a
# run and predict where it ends ("when to stop").
#
# **How we measure it.** On notebook 01's ladder curves, each read up to its cooldown (the runs hold the peak LR
# until their last 20% of steps): (1) the curves; (2) the tokens to reach a few target losses, fitted as
# tokens ∝ N^−k (k > 0: larger is more sample-efficient); (3) Eq. 1.6 on all evaluations after warmup at once, S our
# optimizer steps at the profile's fixed batch, refitted from 2× and 4× each run's warmup and per run: how far α_S
# moves says how far to trust it. Raw steps are not S_min (notebook 06 adjusts S), so this α_S can neither reproduce
# nor contradict 0.76. (4) Eq. 1.6 fitted on each curve's first half, predicting its end. In code:
# `F.fit_kaplan_ns(N, S, L)`. [How to read the notebooks](../docs/teaching.md#how-to-read-the-notebooks).

# %% tags=["parameters"]
profile: str = "cpu"  # smoke | quick | cpu | gpu (grids in scalinglaws.study.profiles)
runs_dir: str = ""  # run store folder; empty means <repo>/runs/<profile>
figures_dir: str = ""  # folder for figures and NN_results.json; empty means <repo>/figures/<profile>, or <runs_dir>/../figures/<profile> for another store
workers: int = 0  # training worker processes; 0 means automatic layout (scalinglaws.store.executors.auto_layout)
device: str = "cpu"  # cpu | cuda | auto
seed: int = 0  # model initialisation and data order of every run
corpus: str = ""  # empty means the corpus of the profile (gutenberg); or a local path, or hub:<dataset id>
n_boot: int = 0  # bootstrap resamples per fit; 0 means the default of the profile; -1 means none (point estimates only, no intervals)
scale: float = 0.0  # multiply every token budget (gpu users with more time); 0 means no change
executor: str = "local"  # local | slurm (runs as Slurm job arrays; options: $SCALINGLAWS_SLURM_CONFIG, see docs/slurm.md)


# %%
import numpy as np
import pandas as pd
from IPython.display import display
from scalinglaws import fit as F, paper
from scalinglaws.analysis import common as an, plots as P, sample_efficiency as se
from scalinglaws.runner import start_notebook

# Checks the parameters above (a mistyped papermill -p name stops here, not after an hour of training), then
# binds the study (profile, run store, figures folder), the results record of this notebook and the plot style.
study, res, n_boot = start_notebook("05", globals())
K = paper.KAPLAN


# %% [markdown]
# ## 1. Do larger models' curves lie lower at every number of tokens? (Kaplan Fig. 2)
# **What to look for:** validation loss against tokens (left) and steps (right), log axes, colour = N; at one batch
# the panels have the same shape. From which point on do larger models' curves lie below smaller ones', and how long
# does each stay near the uniform loss ln 1024 ≈ 6.93 and on the unigram plateau before falling? In Kaplan's Fig. 2,
# past the first stretch, the horizontal gap between curves is the sample efficiency of section 2.

# %%
rule = study.lr_rule()
runs = study.ensure(study.grid("model_size"))
final = an.final_table(runs)
fig, (a1, a2) = P.new_figure(1, 2, figsize=(11, 4))
d1 = P.learning_curves(a1, runs, x="tokens", y="val_loss", hue="N", color_label="N (non-embedding)")
d2 = P.learning_curves(a2, runs, x="step", y="val_loss", hue="N", color_label="N (non-embedding)")
a1.set_xlabel("tokens processed"); a2.set_xlabel("optimizer steps")
an.save(study, fig, {"vs_tokens": d1, "vs_steps": d2}, "05_learning_curves")
# From here on each curve ends where its cooldown starts (the last 20% of a WSD run, the steep drop at the right
# of each curve above): the law of this notebook is the loss against steps at the peak LR; the cooldown's extra
# drop is annealing (notebook 06b measures what it buys), and fitted as steps it would steepen alpha_S.
runs = se.before_cooldown(runs)
final = an.final_table(runs)
fig

# %% [markdown]
# ## 2. Do larger models need fewer tokens to reach a given loss?
# The targets run from a loss every size reaches to one only the three largest reach; a size that never reaches a
# target has no point for it.
#
# **What to look for:** tokens to reach each target (one colour per target) against N, log axes: tokens ∝ N^−k is a
# straight falling line (k in the legend), and the claim is k > 0 for every target. The hardest target rests on few
# sizes (`models` column), so its interval is wide; points far off their dashed line show where a power law in N fits
# poorly, e.g. where small sizes' curves cross near a target.

# %%
targets = se.target_losses(final, k=3)
reach = se.steps_to_targets(runs, targets)
display(reach.pivot_table(index="N", columns="target", values="tokens"))
fig, ax = P.new_figure(figsize=(6.5, 4.2))
rows, plotted = [], []
for i, (t, g) in enumerate(reach.dropna(subset=["tokens"]).groupby("target")):
    if len(g) < 3:
        continue
    ft = F.fit_power_law(g["N"], g["tokens"], n_boot=n_boot, seed=seed, huber_scale=None)  # tokens are no loss: least squares
    ax.plot(g["N"], g["tokens"], "o", color=f"C{i}")
    xs = g["N"].sort_values().to_numpy(); ax.plot(xs, ft.predict(xs), "--", color=f"C{i}", label=f"L={t:.2f}: tokens ∝ N^-{an.pm(ft, 'alpha', 2)}")
    rows.append({"target": t, "exponent": ft.params["alpha"], "lo": ft.ci["alpha"][0], "hi": ft.ci["alpha"][1], "models": len(g),
                 "N_decades": float(np.log10(g["N"].max() / g["N"].min())), "ci_method": ft.ci_method, "fit": ft})
    plotted.append(g.assign(fit=ft.predict(g["N"].to_numpy())))
ax.set_xlabel("N (non-embedding)"); ax.set_ylabel("tokens to reach the target loss"); P.log_axes(ax); ax.legend(fontsize="x-small")
reach_fits = pd.DataFrame(rows); display(reach_fits.drop(columns="fit", errors="ignore"))
an.save(study, fig, pd.concat(plotted, ignore_index=True), "05_tokens_to_target")
fig

# %% [markdown]
# ## 3. Does one law L(N, S) describe every curve after warmup? (Kaplan Eq. 1.6)
# **What to look for:** measured losses after warmup (solid, colour = N) and Eq. 1.6 with one set of constants
# (dotted); the title gives α_S against the paper's. A good fit keeps each dotted curve on its solid one; where they
# part at the smallest or largest sizes, the law's power law in N is pulling the fit. In Kaplan's Fig. 4 (right) the
# same law, with S as S_min, tracks models from 1e3 to 1e9 parameters.

# %%
# each run's own effective warmup (steps); the law describes training after it
after = runs[runs.step > runs.warmup]
print(f"{len(after)} of {len(runs)} evals are after warmup ({runs.warmup.min():,} to {runs.warmup.max():,} warmup steps per run)")
ns_fit = F.fit_kaplan_ns(runs["N"], runs["step"], runs["val_loss"], warmup_steps=runs["warmup"], groups=runs["run_id"], n_boot=n_boot, seed=seed)
display(ns_fit.summary_frame())
# the same fit started after 1x, 2x and 4x each run's warmup, and each run's curve fitted alone: how much alpha_S
# depends on where the fit starts and on which run
cuts, cut_fits = se.alpha_s_by_warmup_cut(runs, se.WARMUP_CUTS, n_boot=n_boot, seed=seed)
per_run = se.per_run_alpha_s(runs)
display(cuts.drop(columns="message")); display(per_run)
fig, ax = P.new_figure(figsize=(6.5, 4.2))
d = P.learning_curves(ax, after, x="step", y="val_loss", hue="N", run="run_id", color_label="N (non-embedding)")
for rid, g in after.groupby("run_id"):
    ax.plot(g["step"], ns_fit.predict(g["N"].to_numpy(float), g["step"].to_numpy(float)), "k:", lw=0.8)
ax.set_title(f"L(N,S) fit (dotted): α_S = {an.pm(ns_fit, 'alpha_S', 2)} (paper {K['alpha_S'].value})", fontsize="small")
an.save(study, fig, d.assign(fit=ns_fit.predict(d["N"].to_numpy(float), d["step"].to_numpy(float))), "05_LNS_fit")
fig

# %% [markdown]
# **The law in code** (Eq. 1.6, our constants): the loss of N non-embedding parameters after S optimizer steps at
# this batch size.

# %%
if ns_fit.converged:
    p = ns_fit.params
    L_NS = lambda N, S: (p["N_c"] / N) ** p["alpha_N"] + (p["S_c"] / S) ** p["alpha_S"]  # noqa: E731
    N_mid = float(final.N.median())
    for S in (500, 1000, 2000, 4000):
        print(f"N = {N_mid:,.0f}, S = {S:,} steps: L = {L_NS(N_mid, S):.3f} nats/token")
else:
    print("Eq. 1.6 did not converge here, so there is no law to write down.")

# %% [markdown]
# ## 4. When to stop: can the first half of a run predict its end?
# **What to look for:** one point per run, the loss reached before its cooldown (x) against Eq. 1.6's prediction from
# the first half of every curve (y), with 95% intervals; above the dashed diagonal the law was too pessimistic, below
# it too optimistic. The largest models are on the left, so points tilting away from the diagonal mean an error that
# depends on size, not noise; a bar that misses the diagonal is an overconfident prediction.

# %%
pred, early_fit = se.holdout_prediction(runs, n_boot, seed, frac=0.5)
display(pred)
fig, ax = P.new_figure(figsize=(5.5, 4))
ax.errorbar(pred["actual"], pred["predicted"], yerr=[pred["predicted"] - pred["pred_low"], pred["pred_high"] - pred["predicted"]], fmt="o")
lim = [pred[["actual", "pred_low"]].min().min() * 0.98, pred[["actual", "pred_high"]].max().max() * 1.02]
ax.plot(lim, lim, "k--", lw=0.8); ax.set_xlabel("loss reached before the cooldown (nats/token)"); ax.set_ylabel("predicted from the first half (nats/token)")
an.save(study, fig, pred, "05_predict_from_first_half")
fig

# %% [markdown]
# **Try it — predict from less of the curve** (no training, seconds). Open this notebook with training off,
# `SCALINGLAWS_NO_TRAIN=1 .venv/bin/jupyter lab notebooks/05_sample_efficiency.ipynb`, run all cells, then add:
# ```python
# for frac in (0.25, 0.5, 0.75):
#     p_, _ = se.holdout_prediction(runs, n_boot, seed, frac=frac)
#     print(f"fitted on the first {frac:.0%} of each curve: median error {p_.error_pct.median():+.1f}%, "
#           f"median |error| {p_.error_pct.abs().median():.1f}%, worst {p_.error_pct.abs().max():.1f}%")
# ```
# If Eq. 1.6 described the whole curve, the error would shrink steadily as the fraction grows; errors of the largest
# models that stay on one side of the diagonal point to a curve shape the law misses.
#
# **Try it — when to stop one run** (no training, seconds):
# `.venv/bin/scalinglaws predict --run runs/cpu/<run id> --target-loss 4.0`, with a run id from section 4, fits the
# run's curve and prints the predicted final loss and the steps and tokens to the target, with intervals. For a run
# ending below the target the forecast steps lie inside the run (it prints the step the run got there); for a small
# model flattening above the target, the target is out of reach.

# %%
# alpha_S on raw steps: its sensitivity to where the fit starts (x1, x2, x4 each run's warmup) and its spread run by
# run go in the note; the record is unreliable for the claim when it moves more than its own interval across the
# cuts, and because S here is raw steps, not Kaplan's S_min (notebook 06 refits on S_min).
why_unreliable = se.alpha_s_unreliable(cuts, s_is_s_min=False)
res.add_fit(ns_fit, "alpha_S", "alpha_S", K["alpha_S"].value, "", se.alpha_s_note(cuts, per_run) + "; S not adjusted to S_min",
            key="alpha_S", n_points=int(after["N"].nunique()), unreliable=why_unreliable)
for cut, f_cut in cut_fits.items():
    if cut != se.WARMUP_CUTS[0]:
        res.add_fit(f_cut, "alpha_S", f"alpha_S (fit after {cut:g}x each run's warmup)", K["alpha_S"].value, "",
                    "Eq. 1.6, raw steps; sensitivity of alpha_S to the warmup cut", key=f"alpha_S.warmup_x{cut:g}")
if per_run["alpha_S"].notna().any():
    res.add("alpha_S, median of per-run fits", float(per_run["alpha_S"].median()), None, K["alpha_S"].value, "",
            f"L = E + (S_c/S)^alpha_S on each run alone after warmup; range {per_run.alpha_S.min():.2g}-{per_run.alpha_S.max():.2g} over {int(per_run.alpha_S.notna().sum())} runs",
            key="alpha_S.per_run_median", n_points=int(per_run["alpha_S"].notna().sum()), status="ok")
res.add_fit(ns_fit, "alpha_N", "alpha_N (from L(N,S))", paper.KAPLAN["ns_alpha_N"].value, "", "Eq. 1.6")
res.add_fit(ns_fit, "S_c", "S_c", K["S_c"].value, "steps", "")
for r in reach_fits.itertuples():
    res.add_fit(r.fit, "alpha", f"tokens-to-target exponent at L={r.target:.3f}", None, "",
                f"tokens ∝ N^-exponent over {r.models} models reaching the target ({r.N_decades:.2g} decades of N); least squares on log tokens",
                key=f"tokens_to_target.exponent:L={r.target:.3f}", n_points=r.models, span=r.N_decades)
res.add("median |error| predicting the loss before the cooldown from the first half", float(pred.error_pct.abs().median()), None, None, "%",
        f"Eq. 1.6 fitted on steps <= half of each run; signed errors {pred.error_pct.min():+.1f}% to {pred.error_pct.max():+.1f}%",
        key="holdout.median_abs_error_pct", n_points=len(pred))

# %% [markdown]
# ## Results

# %%
res.save()
display(res.frame())


# %% [markdown]
# ## Interpretation (printed from the numbers above)

# %%
print(se.interpret_alpha_s(cuts, per_run, K["alpha_S"].value, why_unreliable))
print(se.interpret_tokens_to_target(reach_fits))
print(se.interpret_holdout(pred))

# %% [markdown]
# **Try it — another corpus** (`quick`, trains: several minutes on 2 cores). Put a few MB of `.txt` files in a folder;
# `.venv/bin/scalinglaws prepare --corpus path/to/texts/` prints each split's tokens (the quick ladder reads 2M
# training tokens without repeats). Then:
# ```bash
# cd notebooks && ../.venv/bin/papermill 05_sample_efficiency.ipynb /tmp/05_mytexts.ipynb \
#     -p profile quick -p corpus path/to/texts/ -p figures_dir /tmp/figures-mytexts
# ```
# (quick then tunes its own LRs and trains the tokenizer on your texts.) Absolute losses are not comparable across
# corpora; the *ordering* of the curves by N and the sign of the tokens-to-target exponents should be, if sample
# efficiency is a property of model size rather than of Gutenberg books.

# %% [markdown]
# ## Exercises
# Answer from the figures and tables above (the reference `cpu` run), or with a short run where it says so.
#
# 1. **Curves.** After how many tokens do the smallest and largest models' curves separate? Before that, what are
#    the models learning (hint: the uniform loss ln 1024 and the unigram entropy)?
# 2. **Sample efficiency.** How many times fewer tokens does the largest model need than the smallest one reaching
#    the same target? Are all fitted exponents' intervals above 0?
# 3. **α_S.** Notebook 06 ("Adjusting steps and compute") refits α_S on S_min: look up `alpha_S (on S_min)` in its
#    results. Does the adjustment move it towards the paper's 0.76?
# 4. **When to stop.** Which runs does the first-half prediction over-, which under-predict, and does the sign follow
#    model size? Why does this notebook cut each curve where its cooldown starts?
# 5. **Less of the curve** (no training). From what fraction of a run would you trust the forecast to within the
#    seed noise of notebook 01 (its pooled seed sd)?
