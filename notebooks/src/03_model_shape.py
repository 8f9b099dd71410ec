# Source of notebooks/03_model_shape.ipynb (jupytext "percent" format: each "# %%" starts a cell).
# Edit here, then: .venv/bin/python notebooks/make_notebooks.py 03

# %% [markdown]
# # 03 — Model shape at fixed N
#
# **The claim.** Kaplan et al. 2020 (Sec. 3.1, Fig. 5): at fixed non-embedding N, the loss depends only weakly on
# shape — depth vs width (the aspect ratio d_model/n_layer can vary over a ~40× range at a cost of only a few %), the
# feed-forward ratio d_ff/d_model and the attention head dimension d_model/n_head. Size matters; shape hardly does,
# which is why the other notebooks can describe a model by N alone.
#
# **How we measure it.** For each target N, shapes of different aspect ratio with non-embedding N close to it (head
# dimension 8, d_ff = 4·d_model), and at the first target 2-layer shapes with other feed-forward ratios and head
# counts; each trained on the same fresh tokens at the LR of notebook 01's rule lr(N). Small differences in N are
# corrected with the ladder's L(N) slope: L_corrected = L·(N/N_ref)^α_N, N_ref the group's median N. A shape's
# penalty is its corrected loss over the best of its group, in %. The first size's grid has three seeds (averaged):
# a penalty below twice the seed sd of the difference is "no difference". The claim is judged on the stretch of
# aspect ratios around the best shape within 3% plus that noise, without 1-layer shapes (as Kaplan), and only where
# the shapes tried span the claimed 40×. In code: `sh.shape_table`, `sh.within_range`.
#
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
import pandas as pd
from IPython.display import display
from scalinglaws import fit as F, paper
from scalinglaws.analysis import common as an, convergence as cv, shape as sh
from scalinglaws.runner import start_notebook

# Checks the parameters above (a mistyped papermill -p name stops here, not after an hour of training), then
# binds the study (profile, run store, figures folder), the results record of this notebook and the plot style.
study, res, n_boot = start_notebook("03", globals())
K = paper.KAPLAN


# %% [markdown]
# ## 1. The runs: aspect ratios at fixed N, and feed-forward ratio and heads at one N

# %%
rule = study.lr_rule()
ladder = an.final_table(study.ensure(study.grid("model_size")))
fit_N = F.fit_power_law(ladder["N"], ladder["final_val_loss"], n_boot=n_boot, seed=seed)
specs = study.grid("shape")
runs = study.ensure(specs)
final = an.final_for(specs, runs)
# the seed replicates of the first size's shapes: their losses are averaged into that shape's row (column `seeds`)
seed_specs = [s for s in study.grid("seeds") if s.label.startswith("shape")]
seed_runs = an.final_for(seed_specs, study.ensure(seed_specs)) if seed_specs else final.iloc[:0]
reps = pd.concat([final.drop_duplicates("run_id"), seed_runs.drop_duplicates("run_id")], ignore_index=True)
table = sh.shape_table(pd.concat([final, seed_runs], ignore_index=True), max(fit_N.params["alpha"], 0.0))  # a negative slope would not be a correction
display(table[["kind", "size", "n_layer", "d_model", "n_head_eff", "ff_ratio", "aspect_ratio", "N", "seeds", "final_val_loss", "L_corrected", "increase_pct"]])
# Seed noise of one run's loss, in % of the loss (pooled over the replicated shapes; section 3 shows it): the
# figure's grey band is 0 ± twice it
key = ["n_layer", "d_model", "n_head_eff", "d_ff_eff"]
sspread = cv.seed_spread(reps, key)
noise_pct = 100 * cv.pooled_sd(sspread) / float(reps.final_val_loss.mean()) if len(sspread) else np.nan

# %% [markdown]
# ## 2. How much does the shape cost at fixed N? (Kaplan Fig. 5)

# %% [markdown]
# **What to look for:** the loss increase (%) over the best shape of its group against the aspect ratio, the
# feed-forward ratio and the head dimension (log axes); the dotted line is 3%, the grey band ± twice the seed sd (a
# penalty inside it is noise). Kaplan's Fig. 5 shows wide flat-bottomed bowls: within a few % over a 40× range of
# aspect ratio, rising only at the extremes.

# %%
fig, plotted = sh.shape_figure(table, noise_pct, pct=3.0)
an.save(study, fig, plotted, "03_shape")
fig

# %% [markdown]
# ## 3. Which differences between shapes are larger than the seed noise?
# The first size's shapes again with other seeds: the pooled seed-to-seed sd, in % of the loss, is the floor below which two shapes cannot be told apart.

# %%
display(sspread)
print(f"pooled seed-to-seed sd: {noise_pct:.2f}% of the loss over {len(sspread)} shapes" if np.isfinite(noise_pct) else "no seed replicates at this profile")
table["distinguishable"] = sh.distinguishable(table, noise_pct)  # penalty > 2 seed sd of the difference
display(table[["kind", "size", "n_layer", "d_model", "increase_pct", "distinguishable"]])
if np.isfinite(noise_pct):
    res.add("seed-to-seed sd of the loss (pooled over shapes)", noise_pct, None, None, "%", f"{len(sspread)} shapes x {int(sspread.seeds.max())} seeds",
            seeds=an.seeds_entered(reps.assign(shape=reps[key].astype(str).agg("/".join, axis=1)), by="shape"))

# %% [markdown]
# **Try it — another seed** (`quick`, trains: minutes; quick has no seed replicates of its own):
# ```bash
# .venv/bin/scalinglaws study --profile quick --notebooks 03          # seed 0 → runs/quick/notebooks/03_model_shape.ipynb
# cd notebooks && ../.venv/bin/papermill 03_model_shape.ipynb /tmp/03_seed1.ipynb \
#     -p profile quick -p seed 1 -p figures_dir /tmp/figures-seed1
# ```
# (With seed 1 quick also sweeps its own LRs.) Compare the `increase_pct` columns: if shape barely matters, the shapes
# near the bottom of the bowl swap places between seeds, and only penalties well above the seed noise keep their order.
#
# **Try it — the same runs, analysed differently** (no training, seconds). Open the notebook with
# `SCALINGLAWS_NO_TRAIN=1 .venv/bin/jupyter lab notebooks/03_model_shape.ipynb`, run all cells, then add:
# ```python
# raw = sh.shape_table(final, 0.0)                    # no correction for the small differences in N
# print(raw.assign(corrected=table.increase_pct)[["kind", "size", "n_layer", "d_model", "N", "increase_pct", "corrected"]])
# for size, g in table[table.kind == "aspect"].groupby("size"):
#     for pct in (2.0, 3.0, 5.0):
#         lo, hi, ratio = sh.within_range(g, "aspect_ratio", pct)
#         print(f"N≈{float(size):,.0f}: within {pct:.0f}% of the best: aspect {lo:.3g} to {hi:.3g} ({ratio:.0f}x)")
# ```
# What to expect: the correction barely moves shapes whose N is close to their group's; the "range within X%"
# depends on X, and a range that grows quickly with X means a flat bowl whose edges are set by noise.

# %%
# The claim's record: the contiguous stretch of aspect ratios around the best shape within 3% + twice the seed
# noise, without 1-layer shapes (Kaplan left them out); with them as context. n_points = shapes tried, span =
# decades of aspect ratio tried; a sweep narrower than the claimed 40x is marked untestable (reason in the note).
ranges = {}
for size, g in table[table.kind == "aspect"].groupby("size"):
    n_tag = f"N={float(size):.2g}"
    for one_layer, suffix in ((False, ""), (True, ".with_1_layer")):
        r = sh.contiguous_range(g, 3.0, noise_pct, one_layer=one_layer)
        status, note = sh.range_status(r, 40.0)
        res.add(f"aspect-ratio range within 3% + 2 seed sd of best, {'with' if one_layer else 'without'} 1-layer (N≈{float(size):.2g})",
                r.ratio, None, 40.0, "ratio", note, key=f"shape.aspect_range{suffix}:{n_tag}", n_points=r.n_tried,
                span=r.span, status=status, seeds=f"seeds 0-{int(r.seeds) - 1} at every shape of this size" if r.seeds > 1 else f"single seed ({seed})")
        ranges[(size, one_layer)] = r
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
    print(sh.interpret_aspect_range(float(size), ranges[(size, False)], ranges[(size, True)], g.increase_pct.max(), 40.0))
for kind in ["ff", "heads"]:
    g = table[table.kind == kind]
    if len(g):
        print(f"{kind}: the worst setting costs {g.increase_pct.max():.1f}% over the best.")
if np.isfinite(noise_pct):
    tied = table[~table.distinguishable]
    print(f"Seed noise: sd {noise_pct:.2f}% of the loss; {len(tied)} of {len(table)} shapes are within twice the seed sd of their difference from their group's best, "
          "so their order among themselves is not a ranking" + ("." if len(tied) else " (every penalty here is larger than the noise)."))

# %% [markdown]
# **Try it — one more aspect ratio** (`quick`, trains one run). Add a value (e.g. 6) to `shape_aspects` in the `quick`
# entry of `PROFILES` (`lib/scalinglaws/study/profiles.py`) and re-run `.venv/bin/scalinglaws study --profile quick
# --notebooks 03`. Inside the flat part of the bowl its penalty should be within about twice the seed noise of its
# neighbours'; beyond the shapes tried it can be worse than all of them. (Undo the edit afterwards.)

# %% [markdown]
# ## Exercises
# Answer from the figure and tables above (the reference `cpu` run), or with a short `quick` run where it says so.
#
# 1. **The bowl.** At each target N, which range of aspect ratios stays within 3% of the best (results table)? How
#    does it compare with Kaplan's ~40×, and how wide a range did we try (the note column)? Could the range be wider
#    than we can tell?
# 2. **Noise floor.** Using the pooled seed-to-seed sd of section 3, which shapes are distinguishable from the best of
#    their group? Of the penalties in the figure, which would you report as real effects?
# 3. **Feed-forward and heads.** Which feed-forward ratio and which head dimension cost the most here? Is the worst
#    setting at an extreme of the range tried, as a bowl would predict, or in the middle?
# 4. **The N correction.** The penalties are corrected with α_N from the size ladder. Why is that slope, measured at
#    another budget than the shape runs, good enough for this purpose? (Hint: how large are the differences in N
#    within a group, in the `N` column?)
# 5. **Seeds** (`quick`, trains: several minutes). Run the *another seed* experiment above and report, for the
#    aspect-ratio group, which shape is best under each seed. Does the class agree on a best aspect ratio?
