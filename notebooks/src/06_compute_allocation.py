# Source of notebooks/06_compute_allocation.ipynb (jupytext "percent" format: each "# %%" starts a cell).
# Edit here, then: .venv/bin/python notebooks/make_notebooks.py 06

# %% [markdown]
# # 06 — Compute allocation (Kaplan): the efficient frontier, critical batch size, and where extra compute goes
#
# **The claim.** Kaplan et al. 2020 (Sec. 5–6, Eqs. 1.3, 1.4, 1.7, 1.8, Figs. 3, 10–14): the lower envelope of learning
# curves against compute falls as L ∝ C_min^−0.050; along it the best model size grows as N_opt ∝ C^0.73, the critical
# batch size as B_crit ∝ L^−1/0.21, and extra compute goes mostly into model size (0.73), some into batch (0.24),
# hardly any into steps (0.03).
#
# **How we measure it.** The frontier of notebook 01's ladder curves, counted Kaplan's way (non-embedding N,
# C = 6ND) and in all parameters and C_full, which also counts attention's context and the de-embedding (section 1);
# the critical batch from one model at several batch sizes, and the gradient noise scale across sizes (section 2);
# the split of extra compute (section 3). Why Chinchilla found N_opt ∝ C^~0.5 instead, on these same runs:
# [notebook 06b](06b_chinchilla_contrast.ipynb).
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
from scalinglaws.analysis import allocation as al, common as an, critical_batch as bs, plots as P
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
# ## Results

# %%
res.save()
display(res.frame())

# %% [markdown]
# ## Interpretation (computed from the numbers above)

# %%
if an.usable(fit_C):
    print(f"On the frontier, L falls as C^-{an.pm(fit_C, 'alpha', 2)} (paper alpha_C^min = 0.050), fitted from C = {fc.C.min():.2g} to {fc.C.max():.2g} FLOPs "
          f"({np.log10(fc.C.max() / fc.C.min()):.1f} decades; the stretches held by the smallest and largest sizes and the losses above the unigram entropy, {h1:.2f} nats, are not fitted).")
else:
    print("No L(C) frontier fit: fewer than two interior model sizes hold the frontier below the unigram entropy (see section 1).")
print(bs.interpret_bcrit(fit_B, K["alpha_B"].value))
print(bs.interpret_warmup_sensitivity(wsens[wsens.target == wsens.target.max()]) if len(wsens) else bs.interpret_warmup_sensitivity(wsens))
print(bs.interpret_loss_or_size(los, shared))
print(al.interpret_eq18(eq18, unreliable=s_unstable))
print(al.interpret_counting_shift(shift))
print("Kaplan's 0.73 or Chinchilla's 0.49 on the learning-curve frontier (on annealed final losses: notebook 06b):")
for key in ["a.frontier.kaplan_counting", "a.frontier.full_counting"]:
    if any(r["key"] == key for r in res.records):
        print("- " + al.kaplan_or_chinchilla(res.get(key)))
print("Verdicts on the paper's claims (the README's claims table applies the same rule to the same records):")
print(al.conclude_claims(res.records, "06"))

# %% [markdown]
# **Try it — another seed** (`quick`, trains the quick ladder and batch sweep again):
# ```bash
# .venv/bin/scalinglaws study --profile quick --notebooks 06          # seed 0 → runs/quick/notebooks/06_compute_allocation.ipynb
# cd notebooks && ../.venv/bin/papermill 06_compute_allocation.ipynb /tmp/06_seed1.ipynb \
#     -p profile quick -p seed 1 -p figures_dir /tmp/figures-seed1
# ```
# If the frontier exponents and B_crit move between the seeds by about their intervals, the intervals are honest; by
# more, one seed understates the uncertainty.

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
