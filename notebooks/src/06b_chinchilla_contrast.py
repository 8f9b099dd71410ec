# Source of notebooks/06b_chinchilla_contrast.ipynb (jupytext "percent" format: each "# %%" starts a cell).
# Edit here, then: .venv/bin/python notebooks/make_notebooks.py 06b

# %% [markdown]
# # 06b — Kaplan vs Chinchilla on the same runs: N_opt from final losses, and one change at a time
#
# **The claim.** Hoffmann et al. 2022 (Chinchilla, Sec. 3, Figs. 2–4): with a schedule matched to each budget the
# compute-optimal model grows as N_opt ∝ C^~0.5, not as Kaplan's C^0.73 (notebook 06). Porian et al. 2024 trace the
# gap to Kaplan's counting (non-embedding parameters, 6ND), a long warmup and an optimizer not tuned per size — and
# find the schedule, which Chinchilla blamed, not needed.
#
# **How we measure it.** Every ladder size, and five sizes off it, has annealed final losses at budgets a
# factor 2 apart (cooldown branches of one constant-LR trunk): read as IsoFLOP slices they give Approach 2, their envelope Approach 1, and all of them
# L(N, D), Approach 3 (section 1). Porian et al.'s steps from Kaplan's setup to Chinchilla's, one change at a time,
# each with a paired interval (section 2). What the laws recommend (section 3).
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
from scalinglaws.analysis import allocation as al, common as an, convergence as cv, final_losses as fl, plots as P
from scalinglaws.runner import start_notebook

# Checks the parameters above (a mistyped papermill -p name stops here, not after an hour of training), then
# binds the study (profile, run store, figures folder), the results record of this notebook and the plot style.
study, res, n_boot = start_notebook("06b", globals())
K = paper.KAPLAN

# %% [markdown]
# The ladder of notebook 01 and its learning-curve frontier (notebook 06, section 1): the Kaplan-style reference
# every method below is compared with.

# %%
rule = study.lr_rule()
ladder = study.ensure(study.grid("model_size"))
h1 = al.unigram_loss(study)
fr = {conv: al.frontier(ladder, conv, h1, n_boot, seed) for conv in al.CONVENTIONS}
fit_Nopt = fr["kaplan"]["fit_Nopt"]
for conv in al.CONVENTIONS:
    f = fr[conv]["fit_Nopt"]
    print(f"learning-curve frontier, {al.CONVENTIONS[conv]['describe']}: a = " + (an.pm(f, "a") if an.usable(f) else "no fit"))


# %% [markdown]
# ## 1. With schedules matched to every budget, how fast should N grow with C? (Chinchilla Approaches 1–3)
# Every ladder size has annealed final losses at budgets a factor 2 apart (cooldown branches of its constant-LR
# trunk), and so have the sizes the profile adds off the ladder (`iso_ladder`: at `cpu` 2x8, 2x12, 2x20, 2x40 and
# 4x48, LR from the fitted rule), so that each slice holds enough sizes on both sides of its minimum. An IsoFLOP slice at C reads each size's final loss at D = C / (FLOPs per token) between its two nearest
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
an.save(study, fig, {"kaplan": iso[cols], "full": isof[cols], "interpolation_check": interp}, "06b_isoflop")
fig

# %% [markdown]
# **Approach 1** is the lower envelope of these final losses over sizes (at each C, the best final loss any size
# reached at that compute), and N_opt(C) the size holding it: the same staircase fit as notebook 06's frontier, on annealed final
# losses instead of learning curves read part-way through a schedule. Dashed: the learning-curve frontier (notebook 06).

# %%
a1 = {conv: al.frontier(fl.final_curves(finals), conv, h1, n_boot, seed) for conv in al.CONVENTIONS}
fig, axes = P.new_figure(1, 2, figsize=(11, 4.2))
for ax, conv in zip(axes, al.CONVENTIONS):
    c, ncol = al.CONVENTIONS[conv]["C"], al.CONVENTIONS[conv]["N"]
    P.learning_curves(ax, fl.final_curves(finals), x=c, y="val_loss", hue="N", run="run_id", color_label="N (non-embedding)", marker="o", lw=0.7)
    ax.plot(a1[conv]["env"][c], a1[conv]["env"]["L"], "r-", lw=2, label="envelope of final losses (Approach 1)")
    ax.plot(fr[conv]["env"][c], fr[conv]["env"]["L"], "k--", lw=1, label="learning-curve frontier (notebook 06)")
    ax.set_xlabel({"C": "C = 6·N·D (FLOPs)", "C_full": "C_full incl. context + de-embedding (FLOPs)"}[c]); ax.set_ylabel("final validation loss (nats/token)")
    ax.legend(fontsize="x-small")
an.save(study, fig, {conv: a1[conv]["env"] for conv in al.CONVENTIONS}, "06b_final_frontier")
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
# Do the thin slices (few sizes, or the minimum at an edge) move a? The same fit on the dense slices alone.
for t, full_fit, conv, name in ((iso, a2fit, "kaplan", "C = 6ND"), (isof, a2full, "full", "C_full")):
    dense = fl.dense_slices(t)
    dense_fit = al.isoflop(dense, conv, n_boot, seed)[1] if len(dense) else None
    print(fl.describe_dense(full_fit, dense_fit, dense, name))
    if an.usable(dense_fit):
        res.add_fit(dense_fit, "a", f"a (Approach 2, {name}, slices with >= {fl.DENSE_SLICE_SIZES} sizes bracketing the minimum)",
                    paper.CHINCHILLA["a_approach2"].value, "", "the fit above on its densest slices only",
                    key={"kaplan": "a.approach2.c_6nd", "full": "a.approach2.c_full"}[conv] + ".dense_slices")
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
# ## 2. Which change takes Kaplan's exponent to Chinchilla's? One change at a time (Porian et al. 2024)
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
an.save(study, fig, steps.drop(columns=["delta_why", "why", "ci_method"]), "06b_contrast")  # how each interval was made: in the records
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
# ## 3. What do the laws recommend, inside and beyond our budgets?
# Approach 3's L(N, D) predicts a few final losses (one beyond the largest model trained), where it is reliable; each
# method gives its compute-optimal N at the IsoFLOP budgets and at one 10× beyond them.

# %% [markdown]
# **What to look for:** the compute-optimal N each method recommends against C (log-log). Parallel lines agree on the
# exponent but not the constant; lines that spread apart disagree on the exponent, and the rightmost point (10×
# beyond every budget trained) shows how differently they would size the next model.

# %%
if a3_ok:
    cases = pd.DataFrame({"N": [ladder.N.median(), ladder.N.max(), ladder.N.max() * 3], "D": [ladder.tokens.max()] * 2 + [ladder.tokens.max() * 3]})
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
an.save(study, fig, alloc, "06b_allocation")
fig

# %% [markdown]
# **Try it — the laws at scale, from the command line** (no training, seconds).
# ```bash
# .venv/bin/scalinglaws predict --compute 1e12 --laws kaplan chinchilla cpu    # inside the range of our runs
# .venv/bin/scalinglaws predict --compute 1e21 --laws kaplan chinchilla cpu    # a large model's budget
# ```
# The `cpu` column reads this notebook's Approach 3 fit from `figures/cpu/06b_results.json` (and refuses it where E
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
print("How the allocation exponent moves from Kaplan's setting to Chinchilla's, one change at a time:")
print(fl.interpret_ablation_steps(steps))
print("Kaplan's 0.73 or Chinchilla's 0.49, record by record (the learning-curve frontier: notebook 06):")
for key in ["a.approach1.kaplan_counting", "a.approach1.full_counting", "a.approach2.c_6nd", "a.approach2.c_full",
            "a.approach2.c_full.dense_slices", "a.approach3"]:
    if any(r["key"] == key for r in res.records):
        print("- " + al.kaplan_or_chinchilla(res.get(key)))
print("Verdicts on the papers' claims (the README's claims table applies the same rule to the same records):")
print(al.conclude_claims(res.records, "06b"))

# %% [markdown]
# **Try it — another seed** (`quick`, trains the quick ladder again):
# ```bash
# .venv/bin/scalinglaws study --profile quick --notebooks 06b         # seed 0 → runs/quick/notebooks/06b_chinchilla_contrast.ipynb
# cd notebooks && ../.venv/bin/papermill 06b_chinchilla_contrast.ipynb /tmp/06b_seed1.ipynb \
#     -p profile quick -p seed 1 -p figures_dir /tmp/figures-seed1
# ```
# Quick trains no Kaplan-style ladder and no ablation, so section 2 stays empty there. If the Approach 1 and 2
# exponents move between the seeds by about their intervals, the intervals are honest; by more, one seed understates
# the uncertainty.

# %% [markdown]
# ## Exercises
# Answer from the figures and tables above (the reference `cpu` run).
#
# 1. **Kaplan vs Chinchilla.** In the ablation figure, which single change moves a the most, and is its paired
#    interval clear of 0? Why would counting the embeddings matter more for our models than for Kaplan's (compare N
#    and N_total in notebook 01)?
# 2. **Is E identified?** Approach 3's table gives E with its interval. Does the interval reach zero? What would
#    more budgets per size, or larger sizes, change about that?
