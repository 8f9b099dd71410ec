# Source of notebooks/02_dataset_size.ipynb (jupytext "percent" format: each "# %%" starts a cell).
# Edit here, then: .venv/bin/python notebooks/make_notebooks.py 02

# %% [markdown]
# # 02 — Dataset size: L(D)
#
# **The claim** (Kaplan et al. 2020, Sec. 3.2, Fig. 1 middle): a model large enough to be data-limited, trained with
# early stopping on D tokens, reaches L(D) = (D_c/D)^α_D, α_D ≈ 0.095.
#
# **How we measure it.** One model, nested subsets of D tokens (2,048-token chunks drawn at random across every book), each
# repeated up to 100 epochs at a constant LR with 10% dropout and early stopping. A run measures the data limit if it
# got **past its minimum** or is **saturated** (doubling its epochs gained < 1%); one still improving at its cap is an
# upper bound, not fitted (`scalinglaws.analysis.data_limits`). In code: `F.fit_power_law(D, L)` (section 3).
# [How to read the notebooks](../docs/teaching.md#how-to-read-the-notebooks).

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
# ## 1. The runs: which subsets reach a data limit?

# %%
rule = study.lr_rule()
runs = study.ensure(study.grid("dataset_size"))
final = dl.usability(dl.classify(runs))  # + steps per epoch, early-stopping minimum, usable, caveat
display(final[["N", "data_tokens", "tokens", "epochs", "step", "steps_per_epoch", "best_step", "best_val_loss", "final_val_loss", "gain_last_doubling", "limit", "usable", "caveat"]])

# %% [markdown]
# ## 2. Does a smaller dataset turn up sooner?
# **What to look for:** curves that turn up as the model memorises (red triangles: minima), flatten (orange squares:
# saturated), or still fall at their end (grey circles: upper bounds on L(D)). Small subsets should turn up after
# fewer tokens than large ones.

# %%
n_min = int(final.reached_min.sum())
print(f"Runs: {dl.counts(final)}; {int((final.status == 'early_stopped').sum())} stopped early."
      + (" The runs still improving give only an upper bound on L(D) and are not fitted." if n_min < len(final) else " Every run measures a data limit."))
fig, data = dl.curves_figure(runs, final)
an.save(study, fig, data, "02_early_stopping")
fig

# %% [markdown]
# ## 3. Does L(D) follow a power law with Kaplan's slope?
# **What to look for:** filled (fitted) points on a straight line in log-log, slope −α_D; open points, still
# improving, sit above L(D). A note on a filled point says why Kaplan's criterion would drop it (< 40 optimizer steps
# per epoch, or no early-stopping minimum); the record counts only points without one.

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
# ## 4. Is this model large enough for its loss to be L(D)?
# Notebook 04 trains these subsets on several sizes: where the two largest agree within 1%, the point is L(D)
# itself; otherwise L(D) lies below the larger one's loss.

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
# ## Interpretation (printed from the numbers above)

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
# ## Try it
# **A narrower dataset** (`quick`, minutes): subsets as the first D tokens of the shuffled train split (one or two
# books) instead of random chunks:
# ```python
# import dataclasses
# from scalinglaws import profiles
# profiles.PROFILES["quick"] = dataclasses.replace(profiles.PROFILES["quick"], data_sampling="prefix")
# ```
# then re-run with `-p profile quick` in the same kernel (or papermill after the edit in
# `lib/scalinglaws/study/profiles.py`). If diversity matters, prefix subsets reach their minimum sooner and higher.
#
# **Another seed**: `-p seed 1`. If α_D moves by more than its interval, the interval is too narrow.
#
# ## Exercises
# 1. At how many epochs does each subset reach its best loss? Does a smaller D turn up sooner in epochs, or only in tokens?
# 2. Why is a run still improving at its cap only an *upper bound* on L(D)? Which way would including it bias α_D?
# 3. What would it mean for L(D) if, in section 4, the largest model beat the second at every D?
# 4. Kaplan's α_D is 0.095 over D = 2·10⁷–2·10¹⁰ tokens; ours spans 1e4–3e5. Give two reasons our exponent may
#    differ that have nothing to do with the law being wrong.
