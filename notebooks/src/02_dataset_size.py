# Source of notebooks/02_dataset_size.ipynb (jupytext "percent" format: each "# %%" starts a cell).
# Edit here, then: .venv/bin/python notebooks/make_notebooks.py 02

# %% [markdown]
# # 02 — Dataset size: L(D)
#
# Kaplan et al. 2020 (Sec. 3.2, Fig. 1 middle): a model large enough to be data-limited, trained with early stopping
# on a dataset of D tokens, reaches L(D) = (D_c/D)^α_D with α_D ≈ 0.095.
#
# **How we measure it.** One model is trained on nested subsets of D tokens, each repeated for up to 100 epochs
# (capped in tokens) at a constant learning rate after warmup, with Kaplan's 10% dropout, and stopped early when
# the validation loss stops improving. A subset is made of 2,048-token chunks drawn at random across every book
# (`RunSpec.data_sampling = "chunks"`), so a small D is a small sample of the whole corpus, not part of one book.
# A run measures the data limit if it got **past its minimum** (the model started memorising its subset) or is
# **saturated** (doubling its epochs lowered the loss by less than 1%); a run still improving at its cap gives only
# an upper bound and is not fitted (`scalinglaws.analysis.data_limits`).

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
from IPython.display import display
from scalinglaws import findings as fd, fit as F, paper
from scalinglaws.analysis import common as an, data_limits as dl, plots as P
from scalinglaws.runner import start_notebook

# Checks the parameters above (a mistyped papermill -p name stops here, not after an hour of training), then
# binds the study (profile, run store, figures folder), the results record of this notebook and the plot style.
study, res, n_boot = start_notebook("02", globals())
K = paper.KAPLAN


# %% [markdown]
# ## 1. Learning rate (shared sweeps) and the runs

# %%
rule = study.lr_rule()
runs = study.ensure(study.grid("dataset_size"))
final = dl.usability(dl.classify(runs))  # + steps per epoch, early-stopping minimum, usable, caveat
display(final[["N", "data_tokens", "tokens", "epochs", "step", "steps_per_epoch", "best_step", "best_val_loss", "final_val_loss", "gain_last_doubling", "limit", "usable", "caveat"]])

# %% [markdown]
# ## 2. Learning curves, and where each one was best
# **What to look for:** whether each curve falls, bottoms out and rises again as the model starts to memorise
# its subset (red triangles: minima), or flattens out (orange squares: saturated); a curve still falling at its
# end (grey circle) was still improving when its budget ended, and its best loss is only an upper bound on L(D).
# Small subsets should turn up after fewer tokens than large ones.

# %%
n_min = int(final.reached_min.sum())
print(f"Runs: {dl.counts(final)}; {int((final.status == 'early_stopped').sum())} stopped early."
      + (" The runs still improving give only an upper bound on L(D) and are not fitted." if n_min < len(final) else " Every run measures a data limit."))
fig, data = dl.curves_figure(runs, final)
an.save(study, fig, data, "02_early_stopping")
fig

# %% [markdown]
# ## 3. Fit L(D) on the runs that measure a data limit
# **What to look for:** filled points (fitted) on a straight line in log-log; the slope is −α_D. Open points were
# still improving and sit above where L(D) would be. A note beside a filled point says why Kaplan's criterion would leave it out (fewer than 40
# optimizer steps per epoch, or no early-stopping minimum); the results record counts only the points without one.

# %%
fitted = final[final.reached_min]
fit_D = an.try_fit(F.fit_power_law, fitted["data_tokens"], fitted["best_val_loss"], n_boot=n_boot, seed=seed) if len(fitted) >= 3 else None
if fit_D is None:
    print(f"L(D) not fitted: {len(fitted)} run(s) measure a data limit; a power law needs 3.")
fig, (ax, ax2) = P.new_figure(1, 2, figsize=(10, 4))
rest = final[~final.reached_min]
d1 = P.powerlaw_plot(ax, fitted["data_tokens"], fitted["best_val_loss"], fit_D, label_x="D (tokens in the subset)",
                     paper_alpha=K["alpha_D"].value, data_label=f"data limit reached, N={final.N.iloc[0]:,}",
                     excluded=(rest["data_tokens"], rest["best_val_loss"]), excluded_label="still improving (upper bound)")
for r in fitted[~fitted.usable].itertuples():  # a fitted point Kaplan's criterion would leave out: say why
    ax.annotate(r.caveat, (r.data_tokens, r.best_val_loss), textcoords="offset points", xytext=(4, 6), fontsize="xx-small", color="C3")
d2 = P.residual_plot(ax2, fit_D, label_x="D (tokens)") if fit_D is not None else None
caveats = fitted[["data_tokens", "best_val_loss", "steps_per_epoch", "limit", "usable", "caveat"]]
an.save(study, fig, {"fit": d1, "residuals": d2, "caveats": caveats} if d2 is not None else {"fit": d1, "caveats": caveats}, "02_loss_vs_D")
print(dl.interpret_usability(fitted))
fig

# %% [markdown]
# ## 4. Is this model large enough? L(D) is the large-N limit
# Notebook 04 trains the same subsets on several model sizes. Where the two largest sizes reach the same loss (within 1%), the model size no longer limits the loss and the point is L(D) itself; where they differ, L(D) lies below the larger model's loss.

# %%
agree = dl.large_n_agreement(dl.classify(study.ensure(study.grid("overfitting"))))
display(agree)

# %%
if fit_D is not None:
    # n_points: only the usable points (an early-stopping minimum with >= 40 steps per epoch); the fit itself uses
    # every run past its minimum or saturated, so its interval is no better than the usable count says
    n_usable = int(fitted.usable.sum())
    note_D = f"L(D)=(D_c/D)^alpha_D on {len(fitted)} runs past their minimum or saturated; " + dl.usability_note(fitted)
    if n_usable == 0 and an.usable(fit_D):  # the fit exists, but no point is what Kaplan's L(D) is about
        res.add("alpha_D", fit_D.params["alpha"], fit_D.ci.get("alpha"), K["alpha_D"].value, "",
                note_D + "; untestable: no dataset size has an early-stopping minimum with >= 40 optimizer steps "
                "per epoch (Kaplan's condition), so none measures the early-stopped L(D)", key="alpha_D", n_points=0,
                span=fit_D.span, status="untestable", ci_method=fit_D.ci_method)
    else:
        res.add_fit(fit_D, "alpha", "alpha_D", K["alpha_D"].value, "", note_D, n_points=n_usable)
    res.add_fit(fit_D, "X_c", "D_c", K["D_c"].value, "tokens", "extrapolation to a loss of 1 nat; depends on the tokenizer", n_points=n_usable)
    d_ref = float(np.exp(np.log(fitted.data_tokens).mean()))
    if an.usable(fit_D):
        ref = fit_D.predict_interval(np.array([d_ref]))
        res.add(f"fitted L at D = {d_ref:.3g} tokens", ref.estimate[0], (ref.low[0], ref.high[0]), None, "nats/token", "headline scale: inside the data")
res.add("model size", final.N.iloc[0], None, None, "parameters (non-embedding)", "one model for every D")
res.add("D range", final.data_tokens.max() / final.data_tokens.min(), None, None, "ratio", f"{final.data_tokens.min():.3g} to {final.data_tokens.max():.3g} tokens")
res.add("runs past their minimum (fitted)", n_min, None, None, "count", f"of {len(final)}: {dl.counts(final)}")
res.add("subsets where the two largest sizes agree within 1%", int(agree.agree.sum()) if len(agree) else 0, None, None, "count", f"of {len(agree)} subset sizes (notebook 04 grid)")

# %% [markdown]
# ## Results

# %%
res.save()
display(res.frame())


# %% [markdown]
# ## Interpretation (computed from the numbers above)

# %%
pv = K["alpha_D"].value
if fit_D is None:
    print(f"No L(D) fit: only {n_min} of {len(final)} runs measure a data limit, so this profile does not measure L(D).")
else:
    print(f"alpha_D = {an.pm(fit_D, 'alpha')} from {len(fitted)} runs past their minimum or saturated; the paper has {pv}. " + an.fit_versus_paper(fit_D, "alpha", pv))
    print(dl.interpret_usability(fitted))
    if len(fitted) < fd.FEW_POINTS:
        print(f"Only {len(fitted)} points over {fitted.data_tokens.max() / fitted.data_tokens.min():.0f}x in D: a power law through so few "
              "points has almost no degrees of freedom left, and resampling them understates the uncertainty; read the interval as a lower bound on it.")
big = final.sort_values("data_tokens").iloc[-1]
print(f"The largest subset ({big.data_tokens:.3g} tokens) was seen {big.epochs:.2f} times and "
      + (f"measures a data limit ({big.limit})." if big.reached_min else "was still improving at its cap: at that D this model is limited by its size or its steps, not by the data."))
if len(agree):
    print(f"The two largest sizes agree within 1% at {int(agree.agree.sum())} of {len(agree)} subset sizes"
          + (f" (D = {', '.join(f'{d:.3g}' for d in agree[agree.agree].D)}): there the loss is L(D) in its large-N limit." if agree.agree.any() else "; nowhere is the model large enough for its loss to be L(D) itself."))

# %% [markdown]
# ## What to try
# **Try it — a narrower dataset** (`quick`, a few minutes on 2 cores). Subsets here are random chunks from every book.
# Make them the first D tokens of the shuffled train split instead (a small D is then part of one or two books):
# ```python
# import dataclasses
# from scalinglaws import profiles
# profiles.PROFILES["quick"] = dataclasses.replace(profiles.PROFILES["quick"], data_sampling="prefix")
# ```
# then re-run this notebook with `-p profile quick` in the same kernel (or papermill after the edit in
# `lib/scalinglaws/study/profiles.py`). What to expect: if diversity matters as well as quantity, the prefix subsets
# reach their minimum sooner and at a higher loss than random chunks of the same size.
#
# **Try it — another seed**: `-p seed 1` retrains every run with another initialisation and data order; compare
# α_D with the interval above. If the two estimates differ by more than the interval, the interval is too narrow
# for this few points.
#
# ## Exercises
# 1. In the learning-curve figure, at how many epochs does each subset reach its best loss? Does a smaller D turn
#    up sooner in epochs, or only in tokens?
# 2. Why is a run still improving at its cap only an *upper bound* on L(D)? Which way would including it bias α_D?
# 3. The table in section 4 compares the two largest models at each D. What would it mean for L(D) if the largest
#    model were clearly better than the second at every D?
# 4. Kaplan's α_D is 0.095 with D from 2·10⁷ to 2·10¹⁰ tokens. Our D spans 1e4–3e5. Name two reasons our exponent
#    may differ that have nothing to do with the law being wrong.
