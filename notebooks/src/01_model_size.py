# Source of notebooks/01_model_size.ipynb (jupytext "percent" format: each "# %%" starts a cell).
# Edit here, then: .venv/bin/python notebooks/make_notebooks.py 01

# %% [markdown]
# # 01 — Model size: L(N)
#
# **The claim.** Kaplan et al. 2020 (Sec. 3.2, Eq. 1.1, Fig. 1 right, Fig. 6): with enough data and steps, test loss
# falls as a power law in the **non-embedding** parameter count, L(N) = (N_c/N)^α_N with α_N ≈ 0.076, over six
# decades of N (768 to 1.5e9 parameters); models of different depths collapse onto one trend only when embeddings
# are left out of N (except 1-layer models).
#
# Conventions: N = non-embedding parameters; loss in nats per token of our 1024-token BPE on held-out books; every
# model sees fresh text (no repetition) at a peak LR tuned by a sweep (appendix).
#
# **How we measure it.** Kaplan's L(N) is the loss of a *converged* model. Every size is trained at the ladder budget
# (three with three seeds), and its final loss measured at budgets a factor 2 apart (cooldown branches) to see which
# sizes converge; L(N) is fitted on those, beside the slope at each fixed budget. With fewer than 5 converged sizes
# of 2+ layers the claim reads Eq. 1.5's D → ∞ limit instead (an extrapolation through Eq. 1.5's form). Depths:
# one power law through extra shapes, against total and against non-embedding N; the claim reads the paired
# difference of the two rms residuals, without 1-layer models (Kaplan's Fig. 6 exempts them).
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
from scalinglaws.analysis import common as an, convergence as cv, model_size as ms, plots as P
from scalinglaws.runner import start_notebook

# Checks the parameters above (a mistyped papermill -p name stops here, not after an hour of training), then
# binds the study (profile, run store, figures folder), the results record of this notebook and the plot style.
study, res, n_boot = start_notebook("01", globals())
K = paper.KAPLAN


# %% [markdown]
# ## 1. The peak learning rate, tuned per model size
# A short sweep per ladder size (appendix figure); other shapes use the power law lr(N) through the optima. A profile with `lr_from` (quick) reads these sweeps from that store (the line below says which).

# %%
rule = study.lr_rule()
print(rule.source, f': lr(N) = {rule.A:.3g}·(N/1e4)^{rule.B:.2f}')
display(rule.best)

# %% [markdown]
# ## 2. Does the final loss fall steadily with N, beyond the seed noise?
# **What to look for:** the final loss against N, and the `sd` column: the seed-to-seed spread that sets how small a
# difference between two runs can mean anything.

# %%
runs = study.ensure(study.grid("model_size"))
final = an.final_table(runs)
display(final[["n_layer", "d_model", "N", "N_total", "peak_lr", "tokens", "step", "final_val_loss"]])
seed_final = an.final_table(study.ensure(study.grid("seeds")))
# every seed of every size (the fit resamples runs); a profile without seed replicates uses the ladder alone
points = cv.ladder_replicates(final, seed_final)
spread = cv.seed_spread(points, ["n_layer", "d_model", "N"])
seed_sd = cv.pooled_sd(spread)
display(spread)
print(f"pooled seed-to-seed sd of the final loss: {seed_sd:.4f} nats" if spread.size else "no seed replicates at this profile")

# %% [markdown]
# **Try it — another seed** (`quick`, trains: minutes). Train the quick ladder, then again with seed 1:
# ```bash
# .venv/bin/scalinglaws study --profile quick --notebooks 01          # seed 0 → runs/quick/notebooks/01_model_size.ipynb
# cd notebooks && ../.venv/bin/papermill 01_model_size.ipynb /tmp/01_seed1.ipynb \
#     -p profile quick -p seed 1 -p figures_dir /tmp/figures-seed1
# ```
# With seed 1 quick sweeps its own LRs (the `cpu` sweeps are seed 0), so the two runs differ by seed and LR-tuning
# noise. If the two α_N intervals overlap, seed noise cannot explain a gap to the paper; if not, one seed's interval
# understates the uncertainty.

# %% [markdown]
# ## 3. How converged is each size? Its final loss at budgets a factor 2 apart
# Every point is an annealed final loss: a cooldown branched from the size's constant-LR trunk (the same numbers as a run trained from scratch for that budget). The small sizes' trunks run on to 4× the ladder budget. A size counts as converged when one more doubling of its tokens gains less than 1% of its loss.

# %% [markdown]
# **What to look for:** final loss (y) against the budget it was trained for (x, log), one line per size. A flat
# line is a converged size; a steep one is still limited by its tokens, and steep large sizes flatten the
# fixed-budget L(N) of section 4. Kaplan's Fig. 1 (right) plots only the flat ends.

# %%
long_final = an.final_table(study.ensure(study.grid("convergence")))
budgets = cv.budget_table(final, long_final)
conv = cv.convergence_by_budget(budgets)
display(conv)
conv_fits = cv.converged_fits(conv, n_boot, seed)
print(cv.interpret_convergence(conv, conv_fits))
hold = {k: cv.holdout(conv, without_1_layer=k == "without 1-layer") for k in ("without 1-layer", "with 1-layer")}
for k, h in hold.items():
    print(f"hold-out ({k}): " + (h["why"] if h["why"] else f"fitted on {h['sizes'] - 1} converged sizes, the law predicts {h['predicted']:.4f} for N = {h['N_held']:,.0f}, measured {h['measured']:.4f} ({h['err_pct']:+.2f}%)"))
fig, ax = P.new_figure(figsize=(6.5, 4.2))
d = P.learning_curves(ax, budgets.assign(run_id=budgets.N), x="tokens", y="L", hue="N", run="run_id", color_label="N (non-embedding parameters)", marker="o")
ax.set_xlabel("training tokens (each point an annealed final loss)"); ax.set_ylabel("final validation loss (nats/token)")
an.save(study, fig, budgets, "01_convergence")
fig

# %% [markdown]
# ## 4. How fast does the loss fall with N, at a fixed budget and once converged?
# Left: final losses at the ladder budget (every seed): the slope **at a fixed budget**. Triangles and dash-dot lines: the same fit at the other budgets (one run per size); a fixed-budget slope depends on the budget, so none is Kaplan's converged α_N. Squares: the converged sizes without 1-layer models, as Kaplan fit them. The headline number is the fitted loss at a size inside the data.

# %% [markdown]
# **What to look for:** log-log axes, so a power law is a straight line and α_N minus its slope; the dashed line is
# our fit at the ladder budget, the grey dotted line the paper's slope (0.076) through the middle of our points (the
# cross), so a flatter dashed line means our loss falls more slowly with N. Right: residuals, which a good power law
# leaves scattered around zero with no arch or tilt.

# %%
# Resampled by size (groups): the sizes are the independent points, a size's seed replicates are not.
fit_final = F.fit_power_law(points["N"], points["final_val_loss"], groups=points["N"], n_boot=n_boot, seed=seed)
# The same fixed-budget slope at every budget trained on 3+ sizes (seed 0; the ladder budget: fit_final, every seed)
ladder_tok = int(final.tokens.max())
fixed = cv.fixed_budget_fits(budgets[budgets.tokens != ladder_tok], n_boot, seed)
fixed[ladder_tok] = fit_final
fig, data = ms.loss_vs_N_figure(points, fit_final, conv, conv_fits["without 1-layer"], fixed, budgets, ladder_tok, K["alpha_N"].value)
print(cv.interpret_fixed_budgets(fixed))
an.save(study, fig, data, "01_loss_vs_N")
fig

# %% [markdown]
# The law in code, with our constants (Kaplan Eq. 1.1): what the fixed-budget fit predicts for a model size.

# %%
if an.usable(fit_final):
    N_c, alpha_N = fit_final.params["X_c"], fit_final.params["alpha"]
    L_N = lambda N: (N_c / N) ** alpha_N  # noqa: E731
    for N in (1e4, 1e5, 1e6):
        print(f"N = {N:.0e}: L = {L_N(N):.3f} nats/token" + ("  (beyond the largest size trained)" if N > final.N.max() else ""))

# %% [markdown]
# **Try it — how much does the fitted range move α_N?** (no training, seconds) Open this notebook with
# `SCALINGLAWS_NO_TRAIN=1 .venv/bin/jupyter lab notebooks/01_model_size.ipynb`, run all cells, then add:
# ```python
# sizes = np.sort(points.N.unique())
# for name, keep in [("all sizes", points.N > 0), ("without the smallest", points.N > sizes[0]),
#                    ("without the largest", points.N < sizes[-1]), ("without both", points.N.between(sizes[1], sizes[-2]))]:
#     f = F.fit_power_law(points.N[keep], points.final_val_loss[keep], n_boot=n_boot, seed=seed)
#     print(f"{name:22s} alpha_N = {an.pm(f, 'alpha')}")
# f = F.fit_power_law(points.N_total, points.final_val_loss, n_boot=n_boot, seed=seed)
# print(f"all parameters as N    alpha_N = {an.pm(f, 'alpha')}")
# ```
# What to expect: dropping an end of a straight line moves α_N by less than its interval; if under-training of the
# largest sizes flattens the slope, dropping them steepens it. Counting all parameters stretches the small end most
# (embeddings are a larger share of small models), so that slope differs too.
#
# **Try it — predict one more size before training it** (trains one run): a shape between two ladder sizes,
# ```python
# spec = study.profile.base(3, 32, study.profile.ladder_tokens)   # 3 layers, d_model 32
# print(f"N = {spec.n_params:,}  tokens = {spec.tokens:,}  LR = {rule(spec.n_params):.3g}  predicted loss = {L_N(spec.n_params):.3f}")
# ```
# then `.venv/bin/scalinglaws train --n-layer 3 --d-model 32 --tokens <tokens> --lr <LR> --runs-dir runs/try`. Inside
# the ladder's range the loss should land within the residual scatter of the figure; beyond it, it can miss by more.

# %% [markdown]
# Kaplan's converged L(N) can also be read off Eq. 1.5, L(N, D) = [(N_c/N)^(α_N/α_D) + D_c/D]^α_D, fitted to every final loss of section 3 (each token seen once, schedule matched): its D → ∞ limit is (N_c/N)^α_N.

# %%
single = budgets.rename(columns={"L": "final_val_loss"})[["n_layer", "N", "tokens", "final_val_loss"]]
nd_single = cv.nd_limit_fit(single, n_boot, seed)
nd_deep = cv.nd_limit_fit(single, n_boot, seed, without_1_layer=True)  # Kaplan leave 1-layer models out of L(N)
for f in (nd_single, nd_deep):
    if f is not None:
        display(f.summary_frame())
# Is the limit the data's or the form's? Refit on the lower and the upper half of the budgets.
nd_stable = {k: cv.nd_limit_stability(single, f, without_1_layer=k == "deep") for k, f in (("all", nd_single), ("deep", nd_deep))}
for k, st in nd_stable.items():
    print(f"D->inf limit ({'2+ layers' if k == 'deep' else 'all depths'}): halves of the budgets give {st['low']:.3g} and {st['high']:.3g}"
          + (f" -> unreliable: {st['why']}" if st["why"] else ", both inside its interval"))
n_ref = float(np.exp(np.log(points.N).mean()))  # reference size: the geometric middle of the ladder
ref = fit_final.predict_interval(np.array([n_ref])) if an.usable(fit_final) else None
if ref is not None:
    print(f"fitted loss at N = {n_ref:,.0f}: {ref.estimate[0]:.4f} [95% CI {ref.low[0]:.4f}, {ref.high[0]:.4f}] nats/token")

# %%
ladder_seeds_used = an.seeds_entered(points)  # the ladder budget's fits pool the seed replicates
for t, f in sorted(fixed.items()):
    res.add_fit(f, "alpha", f"alpha_N at a fixed budget of {t:.3g} tokens", K["alpha_N"].value, "",
                "a fixed-budget slope of final losses, not converged losses; " + ("every seed of the ladder" if t == ladder_tok else "one run per size"),
                key=f"alpha_N.fixed_budget:{t}", seeds=ladder_seeds_used if t == ladder_tok else None)
if ref is not None:
    res.add(f"fitted loss at N = {n_ref:.3g} (ladder budget)", ref.estimate[0], (ref.low[0], ref.high[0]), None, "nats/token", "headline scale: inside the data",
            seeds=ladder_seeds_used)
res.add_fit(fit_final, "X_c", "N_c (final loss)", K["N_c"].value, "parameters", "extrapolation to a loss of 1 nat; depends on the tokenizer", seeds=ladder_seeds_used)
claim = cv.converged_claim(conv, conv_fits)
if claim["ok"]:
    res.add_fit(claim["fit"], "alpha", "alpha_N (converged sizes, without 1-layer)", K["alpha_N"].value, "", f"{claim['converged_deep']} sizes gaining < 1% per doubling of tokens", key="alpha_N.converged")
else:
    res.add("alpha_N (converged sizes, without 1-layer)", None, None, K["alpha_N"].value, "", claim["reason"], key="alpha_N.converged", status="untestable", n_points=claim["converged_deep"])
    if conv_fits["without 1-layer"] is not None:
        res.add_fit(conv_fits["without 1-layer"], "alpha", "alpha_N (converged sizes, without 1-layer; too few for the claim)", K["alpha_N"].value, "", claim["reason"], key="alpha_N.converged_sizes")
for k, h in hold.items():
    if not h["why"]:
        res.add(f"converged L(N) hold-out error at N = {h['N_held']:.3g} ({k})", h["err_pct"], None, None, "%",
                f"fitted on the {h['sizes'] - 1} smaller converged sizes; predicted minus measured", key=f"alpha_N.converged.holdout.{k.replace(' ', '_')}",
                n_points=h["sizes"] - 1)
if conv_fits["with 1-layer"] is not None:
    res.add_fit(conv_fits["with 1-layer"], "alpha", "alpha_N (converged sizes, with 1-layer)", K["alpha_N"].value, "", "sizes gaining < 1% per doubling of tokens", key="alpha_N.converged.with_1_layer")
for f, key, who, st in ((nd_single, "alpha_N.nd_limit", "all depths", nd_stable["all"]),
                        (nd_deep, "alpha_N.nd_limit.without_1_layer", "2+ layers, as Kaplan fit L(N)", nd_stable["deep"])):
    if f is not None:
        res.add_fit(f, "alpha_N", f"alpha_N (D->inf limit of Eq. 1.5, single-epoch runs, {who})", paper.KAPLAN["nd_alpha_N"].value, "",
                    f"{len(f.points)} runs with matched schedules, resampled by size; an extrapolation through Eq. 1.5's form", key=key,
                    unreliable=st["why"])
res.add("sizes meeting the convergence criterion", int(conv.converged.sum()), None, None, "count", f"of {len(conv)}; gain per doubling of tokens < 1% of the loss")
if spread.size:
    res.add("seed-to-seed sd of the final loss (pooled)", seed_sd, None, None, "nats/token", f"{len(spread)} sizes x {int(spread.seeds.max())} seeds",
            seeds=ladder_seeds_used)
_ = res.add("N range", final.N.max() / final.N.min(), None, None, "ratio", f"{final.N.min():.3g} to {final.N.max():.3g} parameters")

# %% [markdown]
# ## 5. Is the LR tuned at a quarter of the budget still right at the full budget?
# Two sizes again at the full budget with the tuned LR ×/÷ √2: the tuning transfers if the tuned LR is within the seed noise of the best.

# %%
checks = an.final_table(study.ensure(study.grid("lr_check")))
lrc = cv.lr_check_table(checks, final)
display(lrc)
for r in lrc.itertuples():
    verdict = "the tuned LR is best" if r.tuned_minus_best <= 0 else (f"a neighbour is {r.tuned_minus_best:.4f} nats better, " + ("within" if np.isfinite(seed_sd) and r.tuned_minus_best <= 2 * seed_sd else "more than") + " twice the seed sd")
    print(f"N = {r.N:,.0f}: {verdict}")
    res.add(f"LR check at N = {r.N:.0f}: tuned minus best of LR x/÷ sqrt2", r.tuned_minus_best, None, None, "nats/token", "0 = the tuned LR is best")

# %% [markdown]
# ## 6. Do all depths fall on one line once embeddings are left out of N? (Kaplan Fig. 6)
# Extra shapes (1 to 6 layers) at the ladder budget; one power law through all depths in each view.

# %% [markdown]
# **What to look for:** the same final losses against all parameters (left) and non-embedding parameters (right),
# one colour per depth, with one power law through every depth (dashed). In Kaplan's Fig. 6 the left panel fans out
# by depth and the right one collapses onto one line, except 1-layer models; the table gives each view's rms residual.

# %%
depth_runs = study.ensure(study.grid("depth"))
dfin = an.final_table(pd.concat([depth_runs, runs[runs.tokens == runs.tokens.max()]]) if study.profile.depth_tokens == study.profile.ladder_tokens else depth_runs)
dfin = dfin.drop_duplicates("run_id").reset_index(drop=True)
dfits, dspread = ms.depth_collapse(dfin, n_boot, seed)
display(dspread)
# The comparison itself, paired on the same models: rms residual (non-embedding) minus rms residual (total)
dd_all = ms.depth_difference(dfin, n_boot, seed)
dd_deep = ms.depth_difference(dfin, n_boot, seed, without_1_layer=True)  # Kaplan Fig. 6 exempts 1-layer models
print(ms.interpret_depth(dd_all, dd_deep))
fig, data = ms.depth_figure(dfin, dfits)
an.save(study, fig, data, "01_depth_collapse")
fig

# %%
tot, non = dspread.set_index("view").loc["N_total"], dspread.set_index("view").loc["N"]
span_N = float(np.log10(dfin.N.max() / dfin.N.min()))
res.add("rms residual, one power law vs total params", tot.rms_residual, None, None, "log-loss", "all depths", n_points=len(dfin), span=span_N)
res.add("rms residual, one power law vs non-embedding N", non.rms_residual, None, None, "log-loss", "all depths", n_points=len(dfin), span=span_N)
for d, key in ((dd_all, "depth.rms_residual.difference"), (dd_deep, "depth.rms_residual.difference.without_1_layer")):
    res.add(f"rms residual, non-embedding minus total ({d['models']})", d["value"], d["ci"], None, "log-loss",
            "below 0: one power law in non-embedding N fits the depths more tightly (Kaplan Fig. 6)", key=key,
            n_points=d["n_models"], span=d["span"], ci_method=f"paired percentile bootstrap over models ({d['resamples']} resamples)")
res.add("mean residual of 1-layer models (non-embedding view)", non.mean_residual_1_layer, None, None, "log-loss", "Kaplan: 1-layer models fall off the trend")

# %% [markdown]
# ## Results

# %%
res.save()
display(res.frame())


# %% [markdown]
# ## Interpretation (computed from the numbers above)

# %%
a = fit_final.params["alpha"]; lo, hi = fit_final.ci["alpha"]
pv = K["alpha_N"].value
print(f"At a fixed budget of {study.profile.ladder_tokens:.2g} tokens, alpha_N = {an.pm(fit_final, 'alpha')}; the paper has {pv} for converged models. "
      + an.fit_versus_paper(fit_final, "alpha", pv))
print(cv.interpret_fixed_budgets(fixed))
print(cv.interpret_convergence(conv, conv_fits))
print(cv.interpret_alpha_N_claim(claim, nd_deep, pv))
if nd_single is not None and nd_single.converged:
    print(f"With 1-layer models, the D→∞ limit of Eq. 1.5 on {len(single)} single-epoch runs gives alpha_N = {an.pm(nd_single, 'alpha_N')} (paper, same fit: {paper.KAPLAN['nd_alpha_N'].value}).")
print("Depth collapse: " + ms.interpret_depth(dd_all, dd_deep))
if np.isfinite(non.mean_residual_1_layer):
    print(f"1-layer models sit {non.mean_residual_1_layer:+.3f} in log-loss from the common non-embedding trend.")

# %% [markdown]
# ## Exercises
# Answer from the figures and tables above (the reference `cpu` run), or with a short `quick` run where it says so.
#
# 1. **Fixed budget vs converged.** Is the paper's α_N inside our interval at the ladder budget? Using the
#    convergence table of section 3 (`gain_pct`), explain in which direction under-training of the largest models
#    moves the fixed-budget slope, and whether enough sizes converged for a converged fit here.
# 2. **Seed noise.** Take the pooled seed-to-seed sd from section 2. How many of those sd separate the final losses
#    of the two smallest ladder sizes (table of section 2)? What does that say about how much the left end of the
#    fit can be trusted?
# 3. **Embeddings.** From the depth figure and its table: which view, total or non-embedding parameters, gives the
#    smaller rms residual here? Kaplan found that leaving the embeddings out collapses the depths onto one line; does
#    it here? Give one reason, from the `N` and `N_total` columns, why tiny models could behave differently.
# 4. **The tuned LR.** Section 5 retrains two sizes with the tuned LR ×/÷ √2. For which size is a neighbour better,
#    and by how many seed sd? If the largest sizes' LRs were systematically too low, would α_N at the fixed budget
#    come out too small or too large?
# 5. **Budget** (`quick`, trains: several minutes). Re-run this notebook with every token budget halved:
#    `cd notebooks && ../.venv/bin/papermill 01_model_size.ipynb /tmp/01_half.ipynb -p profile quick -p scale 0.5 -p figures_dir /tmp/figures-half`.
#    Compare α_N with the quick run at full budget. If the sizes have too few steps to separate, their final losses
#    bunch together and α_N falls towards 0; if they still separate, which sizes lost the most?
#
# Longer (hours, `cpu` profile): raise `long_tokens` in the `cpu` entry of `PROFILES` (`lib/scalinglaws/study/profiles.py`)
# so that more sizes pass the 1% criterion of section 3, and fit the converged L(N).

# %% [markdown]
# ## Appendix: learning-rate sweeps

# %% [markdown]
# **What to look for:** on the left, the final loss at the sweep budget against the peak LR, one line per size:
# each line should be a valley with its lowest point *inside* the swept range (a minimum at the edge means the best
# LR was not bracketed; the `at_edge` column of section 1 flags it). How deep the valley is says how much a wrong LR
# costs. On the right, each size's best LR against N with the fitted rule lr(N) (dashed): the usual pattern is a
# falling line, larger models wanting smaller LRs. Points far from the line are the sizes whose LR is least certain;
# the shapes of notebooks 03 and 06 that were not swept get their LR from this line.

# %%
fig, data = ms.lr_sweep_figure(study, rule)
an.save(study, fig, data, "01_appendix_lr_sweep")
fig
