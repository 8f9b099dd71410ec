# Source of notebooks/04_overfitting.ipynb (jupytext "percent" format: each "# %%" starts a cell).
# Edit here, then: .venv/bin/python notebooks/make_notebooks.py 04

# %% [markdown]
# # 04 — Overfitting: L(N, D) and the D ∝ N^0.74 rule
#
# **The claim** (Kaplan et al. 2020, Sec. 4, Eq. 1.5, Fig. 9): with early stopping,
# L(N, D) = [(N_c/N)^(α_N/α_D) + D_c/D]^α_D; the penalty δL = L(N, D)/L(N, ∞) − 1 depends on N and D only through
# N^(α_N/α_D)/D, so keeping it small needs D ≳ 5·10³·N^0.74.
#
# **How we measure it.** Sizes × nested subsets (as in notebook 02) trained to early stopping (10% dropout, constant
# LR, ≤ 100 epochs), plus each size's single-epoch ladder run (D = tokens seen). Fitted: runs past their minimum or
# saturated (doubling the epochs gained < 1%), and the ladder runs. In code: `F.fit_kaplan_nd(N, D, L)`.
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
import matplotlib as mpl
import numpy as np
import pandas as pd
from IPython.display import display
from scalinglaws import fit as F, paper
from scalinglaws.analysis import common as an, data_limits as dl, overfitting as ov, plots as P
from scalinglaws.runner import start_notebook

# Checks the parameters above (a mistyped papermill -p name stops here, not after an hour of training), then
# binds the study (profile, run store, figures folder), the results record of this notebook and the plot style.
study, res, n_boot = start_notebook("04", globals())
K = paper.KAPLAN


# %% [markdown]
# ## 1. The runs: which (N, D) pairs reach a data limit?

# %%
rule = study.lr_rule()
ladder_runs = study.ensure(study.grid("model_size"))
runs = study.ensure(study.grid("overfitting"))
pts = dl.nd_points(runs, ladder_runs)
display(pts.pivot_table(index="N", columns="D", values="L"))
all_pts, pts = pts, pts[pts.reached_min].copy()  # the fit uses data limits and single-epoch runs only
subsets = all_pts[all_pts.kind.str.startswith("subset")]
print(f"{len(pts)} of {len(all_pts)} points are fitted: subset runs {dl.counts(subsets)}, "
      f"plus {int((all_pts.limit == 'single epoch').sum())} single-epoch ladder runs")
display(subsets.pivot_table(index="N", columns="D", values="limit", aggfunc="first"))

# %% [markdown]
# ## 2. Does one law, Eq. 1.5, describe every size and dataset?
# **What to look for:** left, each size's points fall with D towards its own limit (dashed fits), larger sizes
# later. Right, if Eq. 1.5 holds, every size's δL lies on one dashed curve of N^(α_N/α_D)/D.

# %%
nd = an.try_fit(F.fit_kaplan_nd, pts["N"], pts["D"], pts["L"], groups=pts["run_id"], n_boot=n_boot, seed=seed)
if nd is not None:
    display(nd.summary_frame())
fig, (ax, ax2) = P.new_figure(1, 2, figsize=(11, 4.2))
plotted = []
norm = mpl.colors.LogNorm(all_pts.N.min(), all_pts.N.max())
for N, g in all_pts.groupby("N"):
    g = g.sort_values("D"); c = mpl.colormaps["viridis"](norm(N)); m = g["reached_min"].astype(bool)
    ax.plot(g.D[m], g.L[m], "o", color=c, label=f"N={N:,.0f}")
    ax.plot(g.D[~m], g.L[~m], "o", mfc="none", color=c)  # still improving at the cap: not fitted
    if nd is not None:
        Ds = np.geomspace(all_pts.D.min(), all_pts.D.max(), 60); ax.plot(Ds, nd.predict(np.full_like(Ds, N), Ds), "--", color=c, lw=1)
        plotted.append(pd.DataFrame({"N": N, "D": Ds, "L_fit": nd.predict(np.full_like(Ds, N), Ds)}))
ax.set_xlabel("D (tokens)"); ax.set_ylabel("early-stopped loss (nats/token)"); P.log_axes(ax); ax.legend(fontsize="x-small", title="open: still improving (not fitted)", title_fontsize="x-small")
if nd is not None:
    p = nd.params
    pts["L_inf"] = (p["N_c"] / pts["N"]) ** p["alpha_N"]
    pts["delta_L"] = F.overfit_delta(pts["L"], pts["L_inf"]); pts["x"] = F.collapse_variable(pts["N"], pts["D"], p["alpha_N"], p["alpha_D"])
    for N, g in pts.groupby("N"):
        ax2.plot(g["x"], g["delta_L"], "o", color=mpl.colormaps["viridis"](norm(N)))
    xs = np.geomspace(pts.x.min(), pts.x.max(), 60)
    ax2.plot(xs, (1 + xs * p["D_c"] / p["N_c"] ** (p["alpha_N"] / p["alpha_D"])) ** p["alpha_D"] - 1, "k--", lw=1, label="Eq. 1.5")
    ax2.set_xscale("log"); ax2.legend(fontsize="small")
else:
    ax2.text(0.5, 0.5, "Eq. 1.5 not fitted (too few data limits, see above)", ha="center", transform=ax2.transAxes)
ax2.set_xlabel("N^(α_N/α_D) / D"); ax2.set_ylabel("δL = L(N,D)/L(N,∞) − 1")
an.save(study, fig, {"points": all_pts, "fit": pd.concat(plotted, ignore_index=True) if plotted else pd.DataFrame()}, "04_LND")
fig

# %% [markdown]
# ## 3. Does keeping δL small need D ∝ N^0.74?
# α_N/α_D comes from Eq. 1.5 refitted on the data-limited points alone (the single-epoch runs are step-limited).
# The table leaves out one size at a time: do the points determine α_N? The all-points ratio is beside it.

# %%
rule_d = ov.overfit_rule(nd, tolerance=0.02) if nd is not None else None
# The same fit on the data-limited points alone (subset runs past their minimum or saturated): the single-epoch
# ladder runs are limited by their steps, not by their data, yet they pin the N term of the all-points fit.
limited = pts[pts.limit != "single epoch"]
nd_dl = an.try_fit(F.fit_kaplan_nd, limited["N"], limited["D"], limited["L"], groups=limited["run_id"], n_boot=n_boot, seed=seed) if len(limited) > 4 else None
rule_dl = ov.overfit_rule(nd_dl, tolerance=0.02) if nd_dl is not None else None
jack_dl, jack_all = ov.leave_one_size_out(limited), ov.leave_one_size_out(pts)
det_dl, det_all = ov.alpha_N_determined(jack_dl), ov.alpha_N_determined(jack_all)
display(pd.concat([jack_dl.assign(points="data-limited"), jack_all.assign(points="all fitted")], ignore_index=True))
span_D = lambda t: float(np.log10(t.D.max() / t.D.min()))  # noqa: E731  decades of D
ratio_dl = None if rule_dl is None else {"value": rule_dl["exponent"], "ci": rule_dl["exponent_ci"], "n": len(limited), "determined": det_dl[0], "reason": det_dl[1]}
ratio_all = None if rule_d is None else {"value": rule_d["exponent"], "ci": rule_d["exponent_ci"], "n": len(pts), "determined": det_all[0], "reason": det_all[1]}
if rule_dl is not None:
    res.add("alpha_N/alpha_D on data-limited points", rule_dl["exponent"], rule_dl["exponent_ci"], paper.KAPLAN["D_over_N_exponent"].value, "",
            f"Eq. 1.5 on the {len(limited)} subset runs past their minimum or saturated (no single-epoch runs)", key="overfit.exponent_ratio",
            n_points=len(limited), span=span_D(limited), ci_method=nd_dl.ci_method, unreliable=det_dl[1])
else:
    res.add("alpha_N/alpha_D on data-limited points", None, None, paper.KAPLAN["D_over_N_exponent"].value, "",
            f"Eq. 1.5 not fitted on the {len(limited)} data-limited points", key="overfit.exponent_ratio", n_points=len(limited))
if rule_d is not None:
    print(f"dL < 2% needs D >= {rule_d['k']:.3g} * N^{rule_d['exponent']:.2f}  (paper: 5e3 * N^0.74)")
    res.add_fit(nd, "alpha_N", "alpha_N (Eq. 1.5)", paper.KAPLAN["nd_alpha_N"].value, "", "joint fit on minima")
    res.add_fit(nd, "alpha_D", "alpha_D (Eq. 1.5)", paper.KAPLAN["nd_alpha_D"].value, "", "joint fit on minima")
    res.add_fit(nd, "N_c", "N_c (Eq. 1.5)", paper.KAPLAN["nd_N_c"].value, "parameters", "")
    res.add_fit(nd, "D_c", "D_c (Eq. 1.5)", paper.KAPLAN["nd_D_c"].value, "tokens", "")
    res.add("overfitting rule exponent alpha_N/alpha_D", rule_d["exponent"], rule_d["exponent_ci"], paper.KAPLAN["D_over_N_exponent"].value, "",
            f"D >= k N^exponent keeps dL < 2%; all {len(pts)} fitted points, {int((pts.limit == 'single epoch').sum())} of them single-epoch ladder runs (step-limited)",
            key="overfit.exponent_ratio.all_points", n_points=len(pts), span=span_D(pts), ci_method=nd.ci_method, unreliable=det_all[1])
    res.add("overfitting rule coefficient k", rule_d["k"], rule_d["k_ci"], paper.KAPLAN["overfit_D_coef"].value, "tokens", "tolerance 2%")
res.add("points fitted (minima or single-epoch)", len(pts), None, None, "count", f"of {len(all_pts)}; subsets: {dl.counts(subsets)}")

# %% [markdown]
# ## Results

# %%
res.save()
display(res.frame())


# %% [markdown]
# ## Interpretation (printed from the numbers above)

# %%
print(f"{len(pts)} of {len(all_pts)} (N, D) points measure a data limit or saw fresh data throughout; only those are fitted.")
if rule_d is None:
    print("Eq. 1.5 was not fitted: too few points measure a data limit, so this profile does not measure L(N, D) or the overfitting rule.")
else:
    e = rule_d["exponent"]
    print(ov.interpret_ratio(ratio_dl, ratio_all, paper.KAPLAN["D_over_N_exponent"].value))
    spread = float(np.sqrt(np.mean(nd.residuals ** 2)))
    print(f"Eq. 1.5 describes the fitted points with an rms log-residual of {spread:.3f}; the collapse plot shows whether all sizes fall on one curve of N^(α_N/α_D)/D.")
    for N in sorted(pts.N.unique()):
        print(f"  N={N:,.0f}: no more than 2% overfitting needs D >= {rule_d['k'] * N ** e:.3g} tokens")

# %% [markdown]
# ## Try it
# **Patience** (`quick`, minutes): halve `data_patience` (evals without improvement, and twice the best step, before
# stopping; `quick`: `data_patience=2` in `lib/scalinglaws/study/profiles.py`) and re-run with `-p profile quick`. If
# the minima were real, the best losses barely move and the exponent stays inside its interval.
#
# **Another seed**: `-p seed 1`; how much do α_N/α_D and the rule's coefficient move?
#
# ## Exercises
# 1. Which runs in section 1 still improved at their cap: large-D or small-D? Why?
# 2. Do all sizes fall on one curve in the collapse plot? Which deviates most, and which way?
# 3. How many tokens does N = 10⁶ need to stay within 2% of its infinite-data loss, by the printed rule and by
#    Kaplan's 5·10³·N^0.74?
# 4. Which of Eq. 1.5's four constants are pinned by the single-epoch ladder points, which only by the data-limited runs?
