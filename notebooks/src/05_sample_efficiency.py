# Source of notebooks/05_sample_efficiency.ipynb (jupytext "percent" format: each "# %%" starts a cell).
# Edit here, then: .venv/bin/python notebooks/make_notebooks.py 05

# %% [markdown]
# # 05 — Sample efficiency and learning curves: L(N, S)
#
# Kaplan et al. 2020 (Sec. 5, Fig. 2, Eq. 1.6): larger models reach any given loss in fewer optimisation steps and
# fewer tokens, and learning curves after warmup follow L(N, S) = (N_c/N)^α_N + (S_c/S)^α_S with α_S ≈ 0.76.
# The practical use: fit the law on the start of a run and predict where it will end ("when to stop").
#
# Uses the size ladder of notebook 01 (the same runs from the store).

# %% tags=["parameters"]
profile: str = "cpu"  # smoke | quick | cpu | gpu (grids in scalinglaws.experiments)
runs_dir: str = ""  # run store folder; empty means <repo>/runs/<profile>
figures_dir: str = ""  # folder for figures and NN_results.json; empty means <repo>/figures/<profile>
workers: int = 0  # training worker processes; 0 means automatic layout (scalinglaws.store.auto_layout)
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
from scalinglaws import allocation as al, analysis as an, batch_size as bs, convergence as cv, fit as F, paper, plots as P
from scalinglaws.study import start_notebook

# Checks the parameters above (a mistyped papermill -p name stops here, not after an hour of training), then
# binds the study (profile, run store, figures folder), the results record of this notebook and the plot style.
study, res, n_boot = start_notebook("05", globals())
K = paper.KAPLAN


# %% [markdown]
# ## 1. Learning curves of the size ladder (Kaplan Fig. 2)
# What to look for: whether, at every number of tokens (left) and of steps (right), the larger models' curves
# lie below the smaller ones'; and how long each curve stays near the uniform loss ln 1024 ≈ 6.93 and the
# unigram plateau before it starts to fall.

# %%
rule = study.lr_rule()
runs = study.ensure(study.grid("model_size"))
final = an.final_table(runs)
fig, (a1, a2) = P.new_figure(1, 2, figsize=(11, 4))
d1 = P.learning_curves(a1, runs, x="tokens", y="val_loss", hue="N", color_label="N (non-embedding)")
d2 = P.learning_curves(a2, runs, x="step", y="val_loss", hue="N", color_label="N (non-embedding)")
a1.set_xlabel("tokens processed"); a2.set_xlabel("optimizer steps")
an.save(study, fig, {"vs_tokens": d1, "vs_steps": d2}, "05_learning_curves")
fig

# %% [markdown]
# ## 2. Tokens and steps to reach a target loss, against N

# %%
targets = an.target_losses(final, k=3)
reach = an.steps_to_targets(runs, targets)
display(reach.pivot_table(index="N", columns="target", values="tokens"))
fig, ax = P.new_figure(figsize=(6.5, 4.2))
rows, plotted = [], []
for i, (t, g) in enumerate(reach.dropna(subset=["tokens"]).groupby("target")):
    if len(g) < 3:
        continue
    ft = F.fit_power_law(g["N"], g["tokens"], n_boot=n_boot, seed=seed)
    ax.plot(g["N"], g["tokens"], "o", color=f"C{i}")
    xs = g["N"].sort_values().to_numpy(); ax.plot(xs, ft.predict(xs), "--", color=f"C{i}", label=f"L={t:.2f}: tokens ∝ N^-{an.pm(ft, 'alpha', 2)}")
    rows.append({"target": t, "exponent": ft.params["alpha"], "lo": ft.ci["alpha"][0], "hi": ft.ci["alpha"][1], "models": len(g)})
    plotted.append(g.assign(fit=ft.predict(g["N"].to_numpy())))
ax.set_xlabel("N (non-embedding)"); ax.set_ylabel("tokens to reach the target loss"); P.log_axes(ax); ax.legend(fontsize="x-small")
reach_fits = pd.DataFrame(rows); display(reach_fits)
an.save(study, fig, pd.concat(plotted, ignore_index=True), "05_tokens_to_target")
fig

# %% [markdown]
# ## 3. Fit L(N, S) on steps after warmup

# %%
# each run's own effective warmup (steps); the law describes training after it
after = runs[runs.step > runs.warmup_steps]
print(f"{len(after)} of {len(runs)} evals are after warmup ({runs.warmup_steps.min():,} to {runs.warmup_steps.max():,} warmup steps per run)")
ns_fit = F.fit_kaplan_ns(runs["N"], runs["step"], runs["val_loss"], warmup_steps=runs["warmup_steps"], groups=runs["run_id"], n_boot=n_boot, seed=seed)
display(ns_fit.summary_frame())
fig, ax = P.new_figure(figsize=(6.5, 4.2))
d = P.learning_curves(ax, after, x="step", y="val_loss", hue="N", run="run_id", color_label="N (non-embedding)")
for rid, g in after.groupby("run_id"):
    ax.plot(g["step"], ns_fit.predict(g["N"].to_numpy(float), g["step"].to_numpy(float)), "k:", lw=0.8)
ax.set_title(f"L(N,S) fit (dotted): α_S = {an.pm(ns_fit, 'alpha_S', 2)} (paper {K['alpha_S'].value})", fontsize="small")
an.save(study, fig, d.assign(fit=ns_fit.predict(d["N"].to_numpy(float), d["step"].to_numpy(float))), "05_LNS_fit")
fig

# %% [markdown]
# The law in code, with our constants (Kaplan Eq. 1.6): the loss of a model of N non-embedding parameters after
# S optimizer steps at this batch size.

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
# ## 4. When to stop: predict the end of each run from its first half

# %%
pred, early_fit = an.holdout_prediction(runs, n_boot, seed, frac=0.5)
display(pred)
fig, ax = P.new_figure(figsize=(5.5, 4))
ax.errorbar(pred["actual"], pred["predicted"], yerr=[pred["predicted"] - pred["pred_low"], pred["pred_high"] - pred["predicted"]], fmt="o")
lim = [pred[["actual", "pred_low"]].min().min() * 0.98, pred[["actual", "pred_high"]].max().max() * 1.02]
ax.plot(lim, lim, "k--", lw=0.8); ax.set_xlabel("final loss reached"); ax.set_ylabel("predicted from the first half")
an.save(study, fig, pred, "05_predict_from_first_half")
fig

# %%
res.add_fit(ns_fit, "alpha_S", "alpha_S", K["alpha_S"].value, "", "Eq. 1.6 on steps after warmup, S not adjusted to S_min")
res.add_fit(ns_fit, "alpha_N", "alpha_N (from L(N,S))", paper.KAPLAN["ns_alpha_N"].value, "", "Eq. 1.6")
res.add_fit(ns_fit, "S_c", "S_c", K["S_c"].value, "steps", "")
for r in reach_fits.itertuples():
    res.add(f"tokens-to-target exponent at L={r.target:.3f}", r.exponent, (r.lo, r.hi), None, "", f"tokens ∝ N^-exponent over {r.models} models")
res.add("median |error| predicting the final loss from the first half", float(pred.error_pct.abs().median()), None, None, "%", "Eq. 1.6 fitted on steps <= half of each run")

# %% [markdown]
# ## Results

# %%
res.save()
display(res.frame())


# %% [markdown]
# ## Interpretation (computed from the numbers above)

# %%
pv = K["alpha_S"].value; lo, hi = ns_fit.ci["alpha_S"]
print(f"alpha_S = {an.pm(ns_fit, 'alpha_S')} against the paper's {pv}. " + an.fit_versus_paper(ns_fit, "alpha_S", pv))
if len(reach_fits):
    print(f"Bigger models need fewer tokens: the tokens needed fall as N^-k with k between {reach_fits.exponent.min():.2f} and {reach_fits.exponent.max():.2f} across {len(reach_fits)} target losses" + (" (all positive)." if (reach_fits.exponent > 0).all() else " — not all positive, so the claim does not hold at every target here."))
bias = pred.error_pct.median()
print(f"From the first half of each curve the law predicts the final loss with a median error of {bias:+.1f}% "
      + ("(it over-predicts: the cosine decay at the end of each run buys extra loss the power law in steps does not see)." if bias > 0.5 else "(close to unbiased)." if abs(bias) <= 0.5 else "(it under-predicts)."))

# %% [markdown]
# ## What to try
# - `scalinglaws predict --run runs/cpu/<run id> --target-loss 4.0` does section 4 for one run of the store: the
#   predicted final loss and the tokens to reach a target, with intervals.
# - Fit Eq. 1.6 on the first quarter of each curve instead of the first half (`an.holdout_prediction(runs, n_boot,
#   seed, frac=0.25)`): how much worse is the prediction?
