# Source of notebooks/03_model_shape.ipynb (jupytext "percent" format: each "# %%" starts a cell).
# Edit here, then: .venv/bin/python notebooks/make_notebooks.py 03

# %% [markdown]
# # 03 — Model shape at fixed N
#
# Kaplan et al. 2020 (Sec. 3.1, Fig. 5): at fixed non-embedding N, the loss depends only weakly on shape —
# depth vs width (aspect ratio d_model/n_layer over a ~40× range costs only a few %), the feed-forward ratio
# d_ff/d_model and the number of heads.
#
# Small differences in N between shapes are corrected with the L(N) slope fitted in notebook 01 (same runs).
# The first size's whole grid is trained with three seeds: a penalty smaller than twice the seed-to-seed spread
# is "no difference", not a ranking.

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
study, res, n_boot = start_notebook("03", globals())
K = paper.KAPLAN


# %% [markdown]
# ## 1. Runs: aspect ratios at fixed N, and feed-forward ratio / heads at one N

# %%
rule = study.lr_rule()
ladder = an.final_table(study.ensure(study.grid("model_size")))
fit_N = F.fit_power_law(ladder["N"], ladder["final_val_loss"], n_boot=n_boot, seed=seed)
specs = study.grid("shape")
runs = study.ensure(specs)
final = an.final_for(specs, runs)
table = an.shape_table(final, max(fit_N.params["alpha"], 0.0))  # a negative slope would not be a correction
display(table[["kind", "size", "n_layer", "d_model", "n_head_eff", "ff_ratio", "aspect_ratio", "N", "final_val_loss", "L_corrected", "increase_pct"]])

# %% [markdown]
# ## 2. Loss increase over the best shape (Kaplan Fig. 5)

# %%
fig, axes = P.new_figure(1, 3, figsize=(14, 4))
plotted = {}
for ax, (kind, var, xl) in zip(axes, [("aspect", "aspect_ratio", "aspect ratio d_model / n_layer"), ("ff", "ff_ratio", "feed-forward ratio d_ff / d_model"), ("heads", "head_dim", "head dimension d_model / n_head")]):
    t = table[table.kind == kind]
    for size, g in t.groupby("size"):
        g = g.sort_values(var); ax.plot(g[var], g["increase_pct"], "o-", label=f"N ≈ {float(size):,.0f}")
    ax.set_xscale("log"); ax.set_xlabel(xl); ax.set_ylabel("loss increase over best (%)"); ax.legend(fontsize="small")
    ax.axhline(3, color="grey", ls=":", lw=0.8)
    plotted[kind] = t[["size", var, "N", "final_val_loss", "L_corrected", "increase_pct"]]
an.save(study, fig, plotted, "03_shape")
fig

# %% [markdown]
# ## 3. Seed noise: which differences are real?
# The same shapes (first size) with other seeds. The pooled seed-to-seed sd, in % of the loss, is the floor below which two shapes cannot be told apart.

# %%
seed_specs = [s for s in study.grid("seeds") if s.label.startswith("shape")]
seed_runs = an.final_for(seed_specs, study.ensure(seed_specs)) if seed_specs else final.iloc[:0]
key = ["n_layer", "d_model", "n_head_eff", "d_ff_eff"]
reps = pd.concat([final.drop_duplicates("run_id"), seed_runs.drop_duplicates("run_id")], ignore_index=True)
sspread = cv.seed_spread(reps, key)
noise_pct = 100 * cv.pooled_sd(sspread) / float(reps.final_val_loss.mean()) if len(sspread) else np.nan
display(sspread)
print(f"pooled seed-to-seed sd: {noise_pct:.2f}% of the loss over {len(sspread)} shapes" if np.isfinite(noise_pct) else "no seed replicates at this profile")
table["distinguishable"] = table["increase_pct"] > 2 * noise_pct if np.isfinite(noise_pct) else True
display(table[["kind", "size", "n_layer", "d_model", "increase_pct", "distinguishable"]])
if np.isfinite(noise_pct):
    res.add("seed-to-seed sd of the loss (pooled over shapes)", noise_pct, None, None, "%", f"{len(sspread)} shapes x {int(sspread.seeds.max())} seeds")

# %%
for size, g in table[table.kind == "aspect"].groupby("size"):
    lo, hi, ratio = an.within_range(g, "aspect_ratio", 3.0)
    res.add(f"aspect-ratio range within 3% of best (N≈{float(size):.2g})", ratio, None, 40.0, "ratio", f"aspect {lo:.3g} to {hi:.3g}; tried {g.aspect_ratio.min():.3g}-{g.aspect_ratio.max():.3g}")
    res.add(f"worst aspect-ratio penalty (N≈{float(size):.2g})", g.increase_pct.max(), None, None, "%", "")
for kind, var in [("ff", "ff_ratio"), ("heads", "head_dim")]:
    g = table[table.kind == kind]
    if len(g):
        res.add(f"worst {kind} penalty", g.increase_pct.max(), None, None, "%", f"{var} {g[var].min():.3g}-{g[var].max():.3g}")
res.add_fit(fit_N, "alpha", "alpha_N used for the N correction", K["alpha_N"].value, "", "from the size ladder (notebook 01 runs)")

# %% [markdown]
# ## Results

# %%
res.save()
display(res.frame())


# %% [markdown]
# ## Interpretation (computed from the numbers above)

# %%
for size, g in table[table.kind == "aspect"].groupby("size"):
    lo, hi, ratio = an.within_range(g, "aspect_ratio", 3.0)
    print(f"N≈{float(size):,.0f}: shapes with aspect ratio {lo:.3g} to {hi:.3g} ({ratio:.0f}x range) are within 3% of the best; the worst shape tried costs {g.increase_pct.max():.1f}%. "
          + ("Like Kaplan (a 40x range within a few %), shape barely matters here." if ratio >= 10 else "Shape matters more here than in Kaplan's models (their 40x range within a few %)."))
for kind in ["ff", "heads"]:
    g = table[table.kind == kind]
    if len(g):
        print(f"{kind}: the worst setting costs {g.increase_pct.max():.1f}% over the best.")
if np.isfinite(noise_pct):
    tied = table[~table.distinguishable]
    print(f"Seed noise: sd {noise_pct:.2f}% of the loss; {len(tied)} of {len(table)} shapes are within twice that of their group's best, "
          "so their order among themselves is not a ranking" + ("." if len(tied) else " (every penalty here is larger than the noise)."))

# %% [markdown]
# ## What to try
# - `-p seed 1`: the whole shape grid with another seed; which shapes swap places? (Compare with the seed spread above.)
# - Add an aspect ratio to `shape_aspects` (cpu or quick profile in `scalinglaws.experiments`) and re-run: the
#   grid's other runs are reused from the store, only the new shape trains.
