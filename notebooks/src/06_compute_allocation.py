# Source of notebooks/06_compute_allocation.ipynb (jupytext "percent" format: each "# %%" starts a cell).
# Edit here, then: .venv/bin/python notebooks/make_notebooks.py 06

# %% [markdown]
# # 06 — Compute allocation: the efficient frontier, critical batch size, and the Chinchilla contrast
#
# **The claim.** Kaplan et al. 2020 (Sec. 5–6, Eqs. 1.3, 1.4, 1.7, Figs. 3, 10–14): the lower envelope of learning curves against compute falls as
# L ∝ C_min^−0.050; along it the best model size grows as N_opt ∝ C^0.73, the critical batch size as B_crit ∝ L^−1/0.21,
# and extra compute goes mostly into model size (0.73), some into batch (0.24), hardly any into steps (0.03).
# Hoffmann et al. 2022 (Chinchilla, Sec. 3, Fig. 3) found N_opt ∝ C^~0.5 with schedules matched to each budget.
#
# **How we measure it.** The allocation exponent a several ways on our own runs: the frontier of notebook 01's
# ladder curves (section 1); the critical batch from one model at several batch sizes (section 2); annealed final
# losses at budgets a factor 2 apart per size, read as IsoFLOP slices (Approach 2), their envelope (Approach 1) and
# L(N, D) (Approach 3) (section 4); and Porian et al.'s steps from Kaplan's setup to Chinchilla's, one change at a
# time, each with a paired interval (section 5). Counting: Kaplan's non-embedding N and C = 6ND against all
# parameters and C_full (attention context and de-embedding; at this scale 6ND is only 15–75% of the real FLOPs).
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
from scalinglaws.analysis import allocation as al, common as an, convergence as cv, critical_batch as bs, final_losses as fl, plots as P
from scalinglaws.runner import start_notebook

# Checks the parameters above (a mistyped papermill -p name stops here, not after an hour of training), then
# binds the study (profile, run store, figures folder), the results record of this notebook and the plot style.
study, res, n_boot = start_notebook("06", globals())
K = paper.KAPLAN


# %% [markdown]
# ## 1. Along the envelope of learning curves, how fast does the best N grow with compute? (Kaplan Sec. 6)

# %% [markdown]
# **What to look for:** every ladder run's learning curve against compute (left C = 6·N·tokens, right C_full, which
# also counts attention and the de-embedding); the thick line is the frontier, held by one size after another. In
# Kaplan's Fig. 13 it is close to a straight line in log-log; the ladder runs hold a constant LR until their last 20%
# (WSD), so most of a curve is un-annealed.

# %%
rule = study.lr_rule()
ladder = study.ensure(study.grid("model_size"))
h1 = al.unigram_loss(study)
fr = {conv: al.frontier(ladder, conv, h1, n_boot, seed) for conv in al.CONVENTIONS}
fig, axes = P.new_figure(1, 2, figsize=(11, 4.2))
plotted = {}
for ax, conv in zip(axes, al.CONVENTIONS):
    c = al.CONVENTIONS[conv]["C"]; env = fr[conv]["env"]
    P.learning_curves(ax, ladder, x=c, y="val_loss", hue="N", run="run_id", color_label="N (non-embedding)", lw=0.7)
    ax.plot(env[c], env["L"], "r-", lw=2, label="frontier"); ax.legend(fontsize="small")
    ax.set_xlabel({"C": "C = 6·N·tokens (FLOPs)", "C_full": "C_full incl. context + de-embedding (FLOPs)"}[c]); ax.set_ylabel("validation loss (nats/token)")
    plotted[conv] = env
an.save(study, fig, plotted, "06_frontier")
fig

# %% [markdown]
# **What to look for:** left, the frontier's loss against C, blue the fitted stretch (grey: above the unigram entropy,
# or held by the smallest or largest size, which are censored), dashed L ∝ C^−α beside the paper's 0.050. Right, the
# size holding the frontier: a staircase whose slope is the allocation exponent a (paper 0.73, Kaplan Fig. 14); with
# few steps, a rests on few points.

# %%
# Which frontier points locate the compute-efficient law (F.frontier_fit_rows; both fits use them):
# attained (not a stretch where the best loss so far is carried forward), not held by the smallest or largest
# size trained (censored), below the unigram entropy (above it models are still learning token frequencies).
env, keep = fr["kaplan"]["env"], fr["kaplan"]["keep"]
fc, fx = env[keep], env[env["attained"] & ~keep]
fit_C, fit_Nopt = fr["kaplan"]["fit_C"], fr["kaplan"]["fit_Nopt"]
print(f"fitted: {len(fc)} of {len(env)} frontier grid points, held by N = {sorted(set(fc.N.astype(int)))}" + (f", C = {fc.C.min():.2g} to {fc.C.max():.2g} FLOPs" if len(fc) else ""))
for f in (fit_C, fit_Nopt):
    if f is not None:
        display(f.summary_frame())
fig, (a1, a2) = P.new_figure(1, 2, figsize=(11, 4))
d1 = P.powerlaw_plot(a1, fc["C"], fc["L"], fit_C, label_x="C = 6ND (FLOPs)", paper_alpha=K["alpha_C_min"].value, data_label="frontier (fitted)", excluded=(fx["C"], fx["L"]), excluded_label="frontier, not fitted")
d2 = P.powerlaw_plot(a2, fc["C"], fc["N"], fit_Nopt if an.usable(fit_Nopt) else None, label_x="C = 6ND (FLOPs)", label_y="N on the frontier (non-embedding)", param="a", paper_alpha=K["N_opt_exponent"].value, data_label="model on the frontier (fitted)", excluded=(fx["C"], fx["N"]), excluded_label="not fitted")
an.save(study, fig, {"L_vs_C": d1, "Nopt_vs_C": d2}, "06_frontier_fits")
fig

# %% [markdown]
# **Try it — how many sizes set the exponent?** (no training, minutes; `n_boot = -1` is faster). Open the notebook with
# `SCALINGLAWS_NO_TRAIN=1 .venv/bin/jupyter lab notebooks/06_compute_allocation.ipynb`, run all cells, then add:
# ```python
# for drop in sorted(ladder.N.unique()):
#     f = al.frontier(ladder[ladder.N != drop], "kaplan", h1, n_boot, seed)["fit_Nopt"]
#     print(f"without N = {drop:>9,.0f}: a = {an.pm(f, 'a') if an.usable(f) else 'no fit'}")
# ```
# What to expect: if many sizes set the exponent, dropping one moves a by less than its interval; if few do,
# dropping one of them moves it a lot (or leaves too few to fit).

# %% [markdown]
# ## 2. How large a batch before more batch stops saving steps? (Kaplan Sec. 5.1)
# One model at batch sizes spanning 32×, the same warmup, then a constant LR scaled as √B (checked ×/÷2 at two batch sizes). For each target loss (below the unigram plateau, reached at constant LR) the steps S and tokens E lie on (S/S_min − 1)(E/E_min − 1) = 1, and B_crit = E_min/S_min.

# %% [markdown]
# **What to look for:** left, loss against tokens per batch size, the dotted lines the targets; right, per target, the
# steps S and tokens E each batch needed, with the fitted hyperbola, whose knee is B_crit = E_min/S_min. Kaplan
# (Sec. 5.1, Fig. 10) find B_crit roughly doubles for every 13% decrease in loss: compare the legend's B_crit values.

# %%
batch_runs = study.ensure(study.grid("batch"))
bc, bfits = bs.critical_batch(batch_runs, h1, n_targets=4, n_boot=n_boot, seed=seed)
display(bc.drop(columns="points"))
lrb = bs.lr_check(batch_runs); display(lrb)
main = bs.sweep_runs(batch_runs)
fig, pts = bs.critical_batch_figure(main, bc)
an.save(study, fig, pts, "06_critical_batch")
fig

# %%
fit_B = an.try_fit(F.fit_bcrit_vs_loss, bc["target"], bc["B_crit"], n_boot=n_boot, seed=seed) if len(bc) >= 3 else None
if fit_B is not None:
    display(fit_B.summary_frame())
    # independent points: the target losses (loss levels); span: decades of L they cover
    b_design = {"n_points": int(bc.target.nunique()), "span": float(np.log10(bc.target.max() / bc.target.min())),
                "seeds": an.seeds_entered(bs.sweep_runs(batch_runs), by="batch_size")}
    res.add_fit(fit_B, "alpha_B", "alpha_B", K["alpha_B"].value, "", f"B_crit(L) = B*/L^(1/alpha_B) over L = {bc.target.min():.3g} to {bc.target.max():.3g}"
                + (f"; {int((bc.unreliable != '').sum())} of {len(bc)} targets' B_crit not bracketed by the batches tried" if (bc.unreliable != "").any() else ""), **b_design)
    res.add_fit(fit_B, "B_star", "B*", K["B_star"].value, "tokens", "extrapolation to a loss of 1 nat", **b_design)
for r in bc.itertuples():  # a fit without an interval says why; a B_crit the batches tried do not bracket is unreliable
    b_tok = r.points["batch_tokens"]
    res.add(f"B_crit at L={r.target:.3f}", r.B_crit, (r.B_crit_low, r.B_crit_high), None, "tokens per step", r.note,
            n_points=r.n_batches, span=float(np.log10(b_tok.max() / b_tok.min())), unreliable=r.unreliable,
            seeds=an.seeds_entered(bs.sweep_runs(batch_runs), by="batch_size"))
# How warmup steps are counted: B_crit = E_min/S_min at each target with 0, 50, 100 of the warmup's steps subtracted
# from every run's S (the hyperbola counts every step alike; warmup steps at a low LR are not alike).
wsens = bs.warmup_sensitivity(batch_runs, h1, n_targets=4, subtracts=(0, batch_runs.warmup.max() // 2, batch_runs.warmup.max()))
display(wsens.pivot(index="target", columns="warmup_subtracted", values="B_crit"))
if len(wsens):
    top = wsens[wsens.target == wsens.target.max()]
    for r in top.itertuples():
        res.add(f"B_crit at the highest target L={r.target:.3f}, {r.warmup_subtracted} warmup steps subtracted", r.B_crit, None, None,
                "tokens per step", f"point estimate; the warmup is {batch_runs.warmup.max()} steps", key=f"bcrit.warmup_sensitivity:w={r.warmup_subtracted}",
                n_points=int(bc.n_batches.iloc[0]) if len(bc) else None)
    print(bs.interpret_warmup_sensitivity(top))
for r in lrb.itertuples():
    res.add(f"batch {r.batch_size}: sqrt(B)-scaled LR minus best of x0.5 / x2", r.scaled_minus_best, None, None, "nats/token", "0 = the scaled LR is best")

# %% [markdown]
# ### Does B_crit depend on the loss alone, or also on N? The gradient noise scale
# McCandlish et al. (2018) predict B_crit ≈ B_simple = tr(Σ)/|G|², measured from gradient norms at two batch sizes during training: in the batch runs and the Kaplan-style ladder (seven sizes).

# %% [markdown]
# **What to look for:** dots are B_simple over one window of one run, coloured by N; squares are B_crit from the batch
# sweep. Kaplan's claim (Fig. 10) is that B_crit depends on the loss alone: at one loss, colours should overlap, not
# sort into bands; McCandlish et al. predict B_simple ≈ B_crit up to a factor of order one.

# %%
kap_runs = study.ensure(study.grid("kaplan"))
long_runs = study.ensure(study.grid("convergence"))
windows = bs.noise_windows(pd.concat([main, kap_runs, long_runs], ignore_index=True))
los = bs.loss_or_size(windows, n_boot, seed)
shared = bs.shared_loss_range(windows)  # loss levels every size reached: where "at equal loss" can be tested
print(bs.interpret_loss_or_size(los, shared))
svc = bs.simple_vs_crit(windows, bc)  # McCandlish et al.: B_crit ≈ B_simple up to a factor of order one
display(svc)
for r in svc.dropna(subset=["ratio_simple_to_crit"]).itertuples():
    res.add(f"B_simple / B_crit at L={r.target:.3f}", r.ratio_simple_to_crit, None, 1.0, "ratio", f"median of {r.windows} B_simple windows within 2% of the loss")
fig, data = bs.noise_scale_figure(windows, bc)
an.save(study, fig, data, "06_noise_scale")
if np.isfinite(los["gamma"]):
    w_n = windows.dropna(subset=["B_simple"])["N"]
    res.add("gamma: d log B_simple / d log N at equal loss", los["gamma"], los["gamma_ci"], 0.0, "",
            f"{los['sizes']} sizes; 0 = depends on the loss alone (Kaplan)" + (f"; not testable: {shared['why']}" if shared["why"] else ""),
            n_points=los["sizes"], span=float(np.log10(w_n.max() / w_n.min())), status="untestable" if shared["why"] else None)
    res.add("alpha_B from B_simple", los["alpha_B"], los["alpha_B_ci"], K["alpha_B"].value, "", "same regression")
fig

# %% [markdown]
# ### Adjusting steps and compute for the batch size (Kaplan Eqs. 5.4–5.5)
# With B_crit(L), each ladder step S counts as S_min = S/(1 + B_crit/B) steps at a very large batch and each C as C_min = C/(1 + B/B_crit) at a very small one; Kaplan's α_S = 0.76 and α_C^min = 0.050 are on these axes. Applying B_crit(L) from one model to every size assumes Kaplan's claim that it depends on the loss alone.

# %%
B_tok = study.profile.batch_size * study.profile.n_ctx
ns_min = fit_Cmin = None
s_unstable = ""  # why the Eq. 1.6 fit on S_min is unstable (computed below), "" when it is not
if an.usable(fit_B):
    lad = ladder[ladder.step > ladder.warmup].copy()
    bcrit_l = fit_B.predict(lad["val_loss"].to_numpy(float))
    lad["S_min"] = F.s_min_adjust(lad["step"], B_tok, bcrit_l); lad["C_min"] = F.c_min_adjust(lad["C"], B_tok, bcrit_l)
    inside = lad.val_loss.between(bc.target.min(), bc.target.max()).mean()
    print(f"{100 * inside:.0f}% of the ladder evals after warmup lie inside the loss range where B_crit was measured")
    ns_min = an.try_fit(F.fit_kaplan_ns, lad["N"], lad["S_min"], lad["val_loss"], groups=lad["run_id"], n_boot=n_boot, seed=seed)
    envm = F.compute_frontier(lad, c_col="C_min", l_col="val_loss", n_col="N", run_col="run_id").rename(columns={"val_loss": "L"})
    km = F.frontier_fit_rows(envm, max_loss=h1)
    fit_Cmin = al.frontier_loss_fit(envm[km].rename(columns={"C_min": "C"}), n_boot=n_boot, seed=seed)
    if an.usable(ns_min):
        # How far alpha_S moves when one size is left out (point refits, so the same with or without intervals)
        loo = bs.leave_one_out(F.fit_kaplan_ns, lad, "N", "alpha_S", N="N", S="S_min", L="val_loss")
        s_unstable = bs.unstable_reason("alpha_S", loo)
        print("alpha_S on S_min, leaving out one size at a time: " + ", ".join(f"{v:.3g}" for v in loo) + (f" -> unreliable: {s_unstable}" if s_unstable else ""))
        res.add_fit(ns_min, "alpha_S", "alpha_S (on S_min)", K["alpha_S"].value, "", "Eq. 1.6 with S_min = S/(1 + B_crit(L)/B)", unreliable=s_unstable)
    if an.usable(fit_Cmin):
        res.add_fit(fit_Cmin, "alpha", "alpha_C^min (frontier on C_min)", K["alpha_C_min"].value, "", "C_min = C/(1 + B/B_crit(L))", n_points=int(envm[km].N.nunique()))
else:
    print("No usable B_crit(L) fit, so S and C are not adjusted to S_min and C_min here.")
# Kaplan's internal consistency (Eq. 1.8): alpha_C^min follows from alpha_N, alpha_S (the Eq. 1.6 fit above) and alpha_B
eq18 = al.eq18_consistency(ns_min, fit_B, fit_Cmin, seed)
print(al.interpret_eq18(eq18, unreliable=s_unstable))
eq18_n = min([int(f.n_points) for f in (ns_min, fit_B, fit_Cmin) if an.usable(f)], default=None)  # the fewest independent points of its inputs
res.add("alpha_C^min predicted by Eq. 1.8 from alpha_N, alpha_S, alpha_B", eq18["predicted"], eq18["predicted_ci"], None, "",
        "1/(1/alpha_S + 1/alpha_B + 1/alpha_N); Kaplan's own exponents give 0.052; interval: the three fits' draws paired at random",
        key="consistency.alpha_C_min.predicted", n_points=eq18_n, ci_method=f"propagated draws ({eq18['draws']})", unreliable=s_unstable)
res.add("Eq. 1.8 predicted minus measured alpha_C^min", eq18["difference"], eq18["difference_ci"], 0.0, "",
        "0 = Kaplan's exponents are consistent with each other (Eq. 1.8)", key="consistency.alpha_C_min.difference", n_points=eq18_n,
        span=float(fit_Cmin.span) if an.usable(fit_Cmin) else None, ci_method=f"propagated draws ({eq18['draws']})", unreliable=s_unstable)

# %% [markdown]
# ## 3. Where should extra compute go? (Kaplan Fig. 3 / Eq. 1.7)
# Along the frontier N_opt ∝ C^a; with L ∝ C^−α_C and B_crit ∝ L^−1/α_B the critical batch grows as C^(α_C/α_B), and serial steps take the rest: S ∝ C^(1 − a − α_C/α_B).

# %%
a_N = fit_Nopt.params["a"] if an.usable(fit_Nopt) else np.nan
b_B = fit_C.params["alpha"] / fit_B.params["alpha_B"] if an.usable(fit_B) and an.usable(fit_C) else np.nan
split = pd.DataFrame({"share": ["model size N", "batch size B", "serial steps S"], "ours": [a_N, b_B, 1 - a_N - b_B],
                      "paper": [K["N_opt_exponent"].value, K["B_opt_exponent"].value, K["S_opt_exponent"].value]})
display(split)
# independent points of the frontier fits: the model SIZES holding the fitted stretch (not its grid points or stairs' rows)
fr_design = {conv: {"n_points": int(fr[conv]["env"][fr[conv]["keep"]][al.CONVENTIONS[conv]["N"]].nunique())} for conv in al.CONVENTIONS}
if an.usable(fit_C):
    res.add_fit(fit_C, "alpha", "alpha_C (frontier, C=6ND, fixed batch)", K["alpha_C_min"].value, "", f"L on the frontier vs C (interior sizes, below the unigram entropy; C {fc.C.min():.2g} to {fc.C.max():.2g}), not adjusted to C_min", **fr_design["kaplan"])
if an.usable(fit_Nopt):
    res.add_fit(fit_Nopt, "a", "N_opt exponent a (frontier, Kaplan counting)", K["N_opt_exponent"].value, "", "model size on the frontier vs C = 6ND", **fr_design["kaplan"])
if an.usable(fr["full"]["fit_Nopt"]):
    res.add_fit(fr["full"]["fit_Nopt"], "a", "N_opt exponent a (frontier, full counting)", K["N_opt_exponent"].value, "", "all parameters vs C_full", **fr_design["full"])
# The counting contrast on the SAME runs: the two frontier fits share their sizes, so the shift of a between
# the countings gets a paired interval (two unpaired intervals overlap even when the shift is well resolved).
shift = al.counting_shift(fr["kaplan"], fr["full"], n_boot, seed)
print(al.interpret_counting_shift(shift))
if np.isfinite(shift["value"]):
    res.add("a shift: Kaplan counting minus full counting (frontier, same sizes)", shift["value"], shift["ci"], None, "",
            "a(non-embedding N vs C = 6ND) - a(all parameters vs C_full) on the sizes both fitted stretches hold", key="a.counting_shift",
            n_points=shift["n_points"], span=shift["span"], ci_method=shift["ci_method"])
res.add("B exponent alpha_C/alpha_B", b_B, None, K["B_opt_exponent"].value, "", "derived")
res.add("S exponent 1 - a - alpha_C/alpha_B", 1 - a_N - b_B, None, K["S_opt_exponent"].value, "", "derived")

# %% [markdown]
# ## 4. With schedules matched to every budget, how fast should N grow with C? (Chinchilla Approaches 1–3)
# Every ladder size has annealed final losses at budgets a factor 2 apart (cooldown branches of its constant-LR
# trunk). An IsoFLOP slice at C reads each size's final loss at D = C / (FLOPs per token) between its two nearest
# budgets (log-log; the printed check bounds that interpolation). Left: C = 6ND, non-embedding N; right: C_full, all
# parameters.

# %% [markdown]
# **What to look for:** one curve per budget, final loss against N (log): Chinchilla's Fig. 3 (left) shows valleys
# whose minimum moves to larger N as C grows. A minimum at a curve's edge does not locate N_opt (`bracketed` in the
# table); `sizes` says how many sizes each slice holds.

# %%
fam_runs = study.ensure(study.grid("isoflop"))
finals = fl.final_losses(fam_runs)
seed_pts = cv.ladder_replicates(an.final_table(ladder), an.final_table(study.ensure(study.grid("seeds"))))
seed_sd = cv.pooled_sd(cv.seed_spread(seed_pts, ["n_layer", "d_model", "N"]))
interp = fl.interpolation_error(finals)
print(fl.describe_interpolation(interp, seed_sd))
p_ = study.profile
iso, a2fit = al.isoflop(fl.isoflop_slices(finals, "kaplan", p_.iso_budgets), "kaplan", n_boot, seed)
isof, a2full = al.isoflop(fl.isoflop_slices(finals, "full", p_.iso_full_budgets), "full", n_boot, seed)
for t, f, name in ((iso, a2fit, "C = 6ND"), (isof, a2full, "C_full")):
    print(f"IsoFLOP slices, {name}:"); display(fl.slice_design(t))
    if f is not None:
        display(f.summary_frame()); display(f.tables.get("minima"))
fig, axes = P.new_figure(1, 2, figsize=(11, 4.2))
for ax, (t, ncol, title) in zip(axes, [(iso, "N", "C = 6ND, non-embedding N"), (isof, "N_total", "C_full, all parameters")]):
    for i, (C, g) in enumerate(t.groupby("budget")):
        g = g.sort_values(ncol); ax.plot(g[ncol], g["final_val_loss"], "o-", color=f"C{i % 10}", label=f"C = {C:.2g} FLOPs")
    ax.set_xlabel({"N": "N, non-embedding parameters", "N_total": "N, all parameters"}[ncol]); ax.set_ylabel("final loss (nats/token)"); ax.set_title(title, fontsize="small")
    if len(t):
        P.log_axes(ax); ax.legend(fontsize="x-small")
cols = ["budget", "size", "N", "N_total", "tokens", "final_val_loss", "nearest_budget_ratio"]
an.save(study, fig, {"kaplan": iso[cols], "full": isof[cols], "interpolation_check": interp}, "06_isoflop")
fig

# %% [markdown]
# **Approach 1** is the lower envelope of these final losses over sizes (at each C, the best final loss any size
# reached at that compute), and N_opt(C) the size holding it: the same staircase fit as section 1, on annealed final
# losses instead of learning curves read part-way through a schedule. Dashed: section 1's learning-curve frontier.

# %%
a1 = {conv: al.frontier(fl.final_curves(finals), conv, h1, n_boot, seed) for conv in al.CONVENTIONS}
fig, axes = P.new_figure(1, 2, figsize=(11, 4.2))
for ax, conv in zip(axes, al.CONVENTIONS):
    c, ncol = al.CONVENTIONS[conv]["C"], al.CONVENTIONS[conv]["N"]
    P.learning_curves(ax, fl.final_curves(finals), x=c, y="val_loss", hue="N", run="run_id", color_label="N (non-embedding)", marker="o", lw=0.7)
    ax.plot(a1[conv]["env"][c], a1[conv]["env"]["L"], "r-", lw=2, label="envelope of final losses (Approach 1)")
    ax.plot(fr[conv]["env"][c], fr[conv]["env"]["L"], "k--", lw=1, label="learning-curve frontier (section 1)")
    ax.set_xlabel({"C": "C = 6·N·D (FLOPs)", "C_full": "C_full incl. context + de-embedding (FLOPs)"}[c]); ax.set_ylabel("final validation loss (nats/token)")
    ax.legend(fontsize="x-small")
an.save(study, fig, {conv: a1[conv]["env"] for conv in al.CONVENTIONS}, "06_final_frontier")
for conv, label in (("kaplan", "a (Approach 1, envelope of final losses, Kaplan counting)"), ("full", "a (Approach 1, envelope of final losses, full counting)")):
    f = a1[conv]["fit_Nopt"]
    if an.usable(f):
        res.add_fit(f, "a", label, paper.CHINCHILLA["a_approach1"].value, "", "sizes holding the envelope of annealed final losses",
                    key=f"a.approach1.{conv}_counting", n_points=int(a1[conv]["env"][a1[conv]["keep"]][al.CONVENTIONS[conv]["N"]].nunique()))
fig

# %% [markdown]
# Approach 3 fits L = E + A/N^α + B/D^β. Its irreducible loss E is identified only when each N is seen at several D: here every size's annealed final losses at its 5–7 budgets.

# %%
matched = finals
print(f"{len(matched)} runs over {matched.N.nunique()} sizes, {matched.groupby('N').tokens.nunique().median():.0f} budgets per size (median)")
a3fit = F.chinchilla_approach3(matched["N"], matched["tokens"], matched["final_val_loss"], n_boot=n_boot, seed=seed)
display(a3fit.summary_frame())
if a2fit is not None:
    res.add_fit(a2fit, "a", "a (Approach 2, IsoFLOP, C=6ND)", paper.CHINCHILLA["a_approach2"].value, "", "N_opt ∝ C^a on IsoFLOP slices of annealed final losses")
if a2full is not None:
    res.add_fit(a2full, "a", "a (Approach 2, IsoFLOP, C_full)", paper.CHINCHILLA["a_approach2"].value, "", "all parameters, budgets in full FLOPs")
# Whether E is identified is judged from its bootstrap interval; without intervals (n_boot = -1) a separate
# bootstrap fit is made for this check alone, so the records' status is the same either way.
a3_check = (F.chinchilla_approach3(matched["N"], matched["tokens"], matched["final_val_loss"], n_boot=al.A3_CHECK_BOOT, seed=seed)
            if al.needs_check_fit(a3fit) else None)
a3_ok, a3_why = al.approach3_reliable(a3fit, a3_check)  # whether its numbers may be used for claims
print("Approach 3 " + ("is usable for claims here." if a3_ok else f"is unreliable here: its {a3_why}."))
a3_units = {"E": "nats/token", "A": "nats/token x parameters^alpha", "B": "nats/token x tokens^beta"}
for name in ["alpha", "beta", "E", "A", "B", "a"]:  # A and B too: `scalinglaws predict --laws cpu` reads them (and refuses an unreliable law)
    res.add_fit(a3fit, name, f"{name} (Approach 3)", paper.CHINCHILLA[name if name != "a" else "a_approach3"].value, a3_units.get(name, ""),
                f"L = E + A/N^alpha + B/D^beta on {len(matched)} annealed final losses ({matched.N.nunique()} sizes)", unreliable="" if a3_ok else a3_why)

# %% [markdown]
# ## 5. Which change takes Kaplan's exponent to Chinchilla's? One change at a time (Porian et al. 2024)
# The ladder sizes and one estimator (the sizes holding the lower envelope, N_opt ∝ C^a), one change per step:
# (a) Kaplan-style training read off learning curves; (b) the same runs counted in all parameters and C_full;
# (c) a 100-step warmup; (d) a schedule matched to each budget (annealed final losses); (e) the LR tuned per size;
# (f) AdamW β2 = 0.99. Each change has a *paired* interval: the same sizes resampled in both steps.

# %% [markdown]
# **What to look for:** a at each step (x), under both countings (colours), with 95% intervals; dashed: Kaplan's 0.73
# and Chinchilla's ~0.5. A step moves a only where the paired interval of its change (`delta` in the table) excludes 0.

# %%
kap_runs_ab = study.ensure(study.grid("kaplan"))
abl_specs = study.grid("ablation")
abl_runs = study.ensure(abl_specs)
label_of = {s.run_id: s.label for s in abl_specs}
# a profile without the Kaplan-style ladder (quick) trains no ablation: its steps are then empty
step_runs = {k: abl_runs[abl_runs.run_id.map(label_of).str.startswith(f"ablation {k}:")] if len(abl_runs) else abl_runs for k in "cdf"}
ladder_sizes = set(fl.size_key(pd.DataFrame(study.profile.ladder, columns=["n_layer", "d_model"])))
curves = {"a": fl.as_size_curves(kap_runs_ab), "c": fl.as_size_curves(step_runs["c"]),
          "d": fl.final_curves(fl.final_losses(step_runs["d"])),
          "e": fl.final_curves(finals[finals["size"].isin(ladder_sizes) & finals["tokens"].isin(study.ablation_budgets())]),
          "f": fl.final_curves(fl.final_losses(step_runs["f"]))}
curves = {k: v for k, v in curves.items() if len(v)}
steps, abl_fr = fl.ablation(curves, h1, n_boot, seed)
display(steps[["step", "counting", "a", "a_low", "a_high", "n_points", "delta", "delta_low", "delta_high", "delta_n"]])
print(fl.interpret_ablation_steps(steps))
fig, ax = P.new_figure(figsize=(8, 4.2))
fl.ablation_plot(ax, steps, K["N_opt_exponent"].value, paper.CHINCHILLA["a_approach2"].value)
an.save(study, fig, steps.drop(columns=["delta_why", "why", "ci_method"]), "06_contrast")  # how each interval was made: in the records
for r in steps.itertuples():
    conv = "kaplan" if r.counting == al.CONVENTIONS["kaplan"]["describe"] else "full"
    if np.isfinite(r.a):
        res.add(f"a: ablation step ({r.step}), {conv} counting", r.a, (r.a_low, r.a_high), None, "", r.change, key=f"a.ablation.{r.step}.{conv}",
                n_points=int(r.n_points) if pd.notna(r.n_points) else None, span=float(r.span) if pd.notna(r.span) else None,
                ci_method=r.ci_method if isinstance(r.ci_method, str) else None)
    if r.step == "a":
        continue  # the first step has no change
    # every change is written, measured or not (the claims table reads the full-counting ones)
    measured = np.isfinite(r.delta)
    res.add(f"change of a at step ({r.step}), {conv} counting (paired)", r.delta if measured else None,
            (r.delta_low, r.delta_high) if measured else None, None, "",
            f"a after minus a before this change, on {r.delta_n} sizes in both" if measured else f"not measured: {r.delta_why or r.why}",
            key=f"a.ablation.delta.{r.step}.{conv}", n_points=int(r.delta_n) if pd.notna(r.delta_n) else None,
            ci_method="paired (see allocation.paired_shift)", status=None if measured else "failed")
fig

# %% [markdown]
# ## 6. What do the laws recommend, inside and beyond our budgets?
# Approach 3's L(N, D) predicts a few final losses (one beyond the largest model trained), where it is reliable; each
# method gives its compute-optimal N at the IsoFLOP budgets and at one 10× beyond them.

# %% [markdown]
# **What to look for:** the compute-optimal N each method recommends against C (log-log). Parallel lines agree on the
# exponent but not the constant; lines that spread apart disagree on the exponent, and the rightmost point (10×
# beyond every budget trained) shows how differently they would size the next model.

# %%
if a3_ok:
    cases = pd.DataFrame({"N": [lad.N.median(), lad.N.max(), lad.N.max() * 3], "D": [lad.tokens.max()] * 2 + [lad.tokens.max() * 3]})
    pi = a3fit.predict_interval(cases["N"].to_numpy(float), cases["D"].to_numpy(float))
    cases = cases.assign(C=6 * cases.N * cases.D, L_pred=pi.estimate, L_low=pi.low, L_high=pi.high); display(cases)
else:  # an unreliable law predicts nothing here, as `scalinglaws predict` refuses it
    print(f"Approach 3 neither predicts losses nor allocates compute (its columns below are empty): its {a3_why}.")
budgets = np.array(sorted(set(iso["budget"])) + [max(iso["budget"]) * 10]) if len(iso) else np.array([])
rows = []
for C in budgets:
    nK = fit_Nopt.predict(np.array([C]))[0] if an.usable(fit_Nopt) else np.nan
    n2 = a2fit.predict(np.array([C]))[0] if an.usable(a2fit) else np.nan
    n3, d3 = (x[0] for x in a3fit.optimal_allocation(np.array([C]))) if a3_ok else (np.nan, np.nan)
    rows.append({"C": C, "N_opt Kaplan frontier": nK, "N_opt Approach 2": n2, "N_opt Approach 3": n3, "D_opt Approach 3": d3, "tokens per parameter (A3)": d3 / n3})
alloc = pd.DataFrame(rows); display(alloc)
fig, ax = P.new_figure(figsize=(6.5, 4.2))
drawn = 0
for col, st in [("N_opt Kaplan frontier", "o-"), ("N_opt Approach 2", "s-"), ("N_opt Approach 3", "^-")]:
    ok = alloc[np.isfinite(alloc[col])]
    if len(ok):
        ax.plot(ok["C"], ok[col], st, label=col); drawn += 1
ax.set_xlabel("C = 6ND (FLOPs)"); ax.set_ylabel("compute-optimal N (non-embedding parameters)")
if drawn:
    P.log_axes(ax); ax.legend(fontsize="small")
else:  # nothing to draw: say so on the figure rather than leave an empty frame
    ax.text(0.5, 0.5, "no method gave a usable compute-optimal N here (see above)", ha="center", transform=ax.transAxes)
an.save(study, fig, alloc, "06_allocation")
fig

# %% [markdown]
# **Try it — the laws at scale, from the command line** (no training, seconds).
# ```bash
# .venv/bin/scalinglaws predict --compute 1e12 --laws kaplan chinchilla cpu    # inside the range of our runs
# .venv/bin/scalinglaws predict --compute 1e21 --laws kaplan chinchilla cpu    # a large model's budget
# ```
# The `cpu` column reads this notebook's Approach 3 fit from `figures/cpu/06_results.json` (and refuses it where E
# is unidentified). The laws need not agree (different data, tokenizer and counting of N); inside our runs the tool
# warns about the papers' laws, at 1e21 about ours. Their tokens per parameter show how much the advice depends on
# whose law you trust.

# %% [markdown]
# ## Results

# %%
res.save()
display(res.frame())


# %% [markdown]
# ## Interpretation (computed from the numbers above)

# %%
print(al.interpret_chinchilla(fit_Nopt if an.usable(fit_Nopt) else None, a2fit if an.usable(a2fit) else None, a3fit if a3fit.converged else None, a3_check))
if an.usable(fit_C):
    print(f"On the frontier, L falls as C^-{an.pm(fit_C, 'alpha', 2)} (paper alpha_C^min = 0.050), fitted from C = {fc.C.min():.2g} to {fc.C.max():.2g} FLOPs "
          f"({np.log10(fc.C.max() / fc.C.min()):.1f} decades; the stretches held by the smallest and largest sizes and the losses above the unigram entropy, {h1:.2f} nats, are not fitted).")
else:
    print("No L(C) frontier fit: fewer than two interior model sizes hold the frontier below the unigram entropy (see section 1).")
print(bs.interpret_bcrit(fit_B, K["alpha_B"].value))
print(bs.interpret_warmup_sensitivity(wsens[wsens.target == wsens.target.max()]) if len(wsens) else bs.interpret_warmup_sensitivity(wsens))
print(bs.interpret_loss_or_size(los, shared))
print(al.interpret_eq18(eq18, unreliable=s_unstable))
print("How the allocation exponent moves from Kaplan's setting to Chinchilla's, one change at a time:")
print(fl.interpret_ablation_steps(steps))
print(al.interpret_counting_shift(shift))
print("Kaplan's 0.73 or Chinchilla's 0.49, record by record:")
for key in ["a.frontier.kaplan_counting", "a.frontier.full_counting", "a.approach1.kaplan_counting", "a.approach1.full_counting", "a.approach2.c_6nd", "a.approach2.c_full", "a.approach3"]:
    if any(r["key"] == key for r in res.records):
        print("- " + al.kaplan_or_chinchilla(res.get(key)))
print("Verdicts on the paper's claims (the README's claims table applies the same rule to the same records):")
print(al.conclude_claims(res.records))

# %% [markdown]
# **Try it — another seed** (`quick`, trains the quick ladder and batch sweep again):
# ```bash
# .venv/bin/scalinglaws study --profile quick --notebooks 06          # seed 0 → runs/quick/notebooks/06_compute_allocation.ipynb
# cd notebooks && ../.venv/bin/papermill 06_compute_allocation.ipynb /tmp/06_seed1.ipynb \
#     -p profile quick -p seed 1 -p figures_dir /tmp/figures-seed1
# ```
# Quick trains no Kaplan-style ladder and no ablation, so section 5 stays empty there. If the frontier and Approach
# 1/2 exponents move between the seeds by about their intervals, the intervals are honest; by more, one seed
# understates the uncertainty.

# %% [markdown]
# ## Exercises
# Answer from the figures and tables above (the reference `cpu` run), or with a short run where it says so.
#
# 1. **The staircase.** In the frontier-fit figure (right), how many model sizes hold the fitted stretch, over how
#    many decades of C? Why does that limit how well a is known?
# 2. **Spending compute.** Section 3's table splits extra compute between model size, batch and serial steps.
#    Compare our shares with the paper's. What does a negative share for serial steps mean, and which measured
#    exponent (α_C or α_B) drives our batch share?
# 3. **The critical batch.** By what factor does B_crit grow between the highest and the lowest target loss in the
#    table of section 2? What factor would Kaplan's α_B = 0.21 predict over the same losses,
#    (L_high/L_low)^(1/0.21)? Is the direction right even if the slope is not?
# 4. **Kaplan vs Chinchilla.** In the ablation figure, which single change moves a the most, and is its paired
#    interval clear of 0? Why would counting the embeddings matter more for our models than for Kaplan's (compare N
#    and N_total in notebook 01)?
# 5. **Tokens per parameter.** (If Approach 3 is unreliable here, first say why an unidentified E makes its tokens per
#    parameter meaningless.) In the allocation table, how many tokens per parameter does Approach 3 recommend at the
#    largest budget, against Chinchilla's ~20? Give one reason why the ratio for models of 1e4–1e5 parameters on
#    our data need not match theirs.
#
# Longer (hours, `cpu` profile): add budgets to `iso_full_budgets`, or set `kaplan_warmup_frac` to 0.05 (both in
# the `cpu` entry of `PROFILES`, `lib/scalinglaws/study/profiles.py`) and compare with step (c) of the ablation.
