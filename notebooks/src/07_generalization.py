# Source of notebooks/07_generalization.ipynb (jupytext "percent" format: each "# %%" starts a cell).
# Edit here, then: .venv/bin/python notebooks/make_notebooks.py 07

# %% [markdown]
# # 07 — Generalisation to other text
#
# **The claim** (Kaplan et al. 2020, Sec. 3.2.2, Fig. 8): a model does worse on text unlike its training data, but
# that loss improves smoothly with size, roughly in parallel with the training distribution (a roughly constant
# offset). Generalisation depends only on the in-distribution loss, not on the phase of training: a half-trained
# large model and a finished small one with the same in-distribution loss do equally well elsewhere.
#
# **How we measure it.** Notebook 01's ladder, retrained at a budget of its own, also scores four texts unlike its
# books at every evaluation (dictionary definitions, short quotations, technical documentation, Python source;
# `../shared/ood`, read in place), each with the run's own tokenizer, in a sidecar file that never changes a run's
# address or curve. Each size is a constant-LR *trunk* (WSD: warmup, constant LR, a linear cooldown over its last
# 20%) with two cooldown *branches* leaving it at a quarter and at half of its budget. Per text: (1) L(N) on the
# trunks' final losses, its slope against the books'; (2) L_other = a + b·L_books across sizes (b = 1: a constant
# offset); (3) at matched tokens a branch end differs from its trunk only by the cooldown: does the cooldown move the
# losses along the trunk's L_other(L_books) (the loss alone matters) or off it (annealing changes the relation)?
# Mid-training points of a cosine run would mix the phase of training with the LR's decay. In code:
# `F.fit_power_law`, `gz.offset_line`, `gz.anneal_shift`.
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
eval_sets: str = ""  # extra text to evaluate, comma-separated: empty means the profile sets (ood: the four texts in ../shared/ood); or names such as ood:fortunes or a folder of .txt files


# %%
import numpy as np
import pandas as pd
from IPython.display import display
from scalinglaws import ScalingLawsError, fit as F, paper
from scalinglaws.analysis import common as an, generalization as gz, plots as P
from scalinglaws.store import tables
from scalinglaws.runner import start_notebook

# Checks the parameters above (a mistyped papermill -p name stops here, not after an hour of training), then
# binds the study (profile, run store, figures folder), the results record of this notebook and the plot style.
study, res, n_boot = start_notebook("07", globals())
K = paper.KAPLAN

# %% [markdown]
# ## 1. The runs, and the four texts they are scored on

# %%
sets = [s.strip() for s in eval_sets.split(",") if s.strip()] or list(study.profile.ood_sets)
specs = study.grid("generalization")  # per size: the trunk at ood_tokens and its cooldown branches
runs = study.ensure(specs, eval_sets=sets)
ev = tables.load_evals(specs, study.runs_dir)
# The across-size analyses (sections 2 and 3) read one final point per size: the trunk's end, labelled
# "generalization"; the branches (at smaller budgets) enter only the training-phase comparison.
trunk_ids = {sp.run_id for sp in specs if sp.label == "generalization"}
n_branches = sum(bool(sp.branch_from) for sp in specs)
final = an.final_table(runs)
final = final[final["run_id"].isin(trunk_ids)].reset_index(drop=True)
names = sorted(ev["set"].unique()) if len(ev) else []
display(final[["N", "n_layer", "d_model", "tokens", "final_val_loss", "peak_lr"]])
print(f"{len(final)} trunks at {study.profile.ood_tokens:,} tokens, with {n_branches} cooldown branches; "
      f"extra sets evaluated: {', '.join(names) or 'none'}")
fin = ev[ev["is_final"] & ev["run_id"].isin(trunk_ids)]
display(fin.pivot_table(index="N", columns="set", values="loss").assign(books=final.set_index("N")["final_val_loss"]))
# The training-phase comparison: each trunk's points in its constant-LR phase, and each branch's end
points = gz.phase_points(ev, gz.run_roles(specs))

# %% [markdown]
# ## 2. Does the loss on every text fall with N in parallel with the books? (Kaplan Fig. 8, left)
# **What to look for:** one line per text, log-log; Kaplan's lines run nearly parallel to the training distribution's, a
# little above it. Is each line straight, and its slope (α in the legend) close to the books'? Steeper means the gap
# closes as models grow, flatter that it widens.

# %%
fits_N = {"books (validation)": an.try_fit(F.fit_power_law, final["N"], final["final_val_loss"], n_boot=n_boot, seed=seed)}
for s in names:
    f = fin[fin["set"] == s].sort_values("N")
    fits_N[s] = an.try_fit(F.fit_power_law, f["N"], f["loss"], n_boot=n_boot, seed=seed)
fig, ax = P.new_figure(figsize=(7, 4.5))
plotted = []
for i, (s, fit) in enumerate(fits_N.items()):
    pts = final.rename(columns={"final_val_loss": "loss"}) if s.startswith("books") else fin[fin["set"] == s]
    c = f"C{i}"
    ax.plot(pts["N"], pts["loss"], "o", color=c, label=s + (f": α = {an.pm(fit, 'alpha')}" if an.usable(fit) else ""))
    if an.usable(fit):
        xs = np.geomspace(pts["N"].min(), pts["N"].max(), 50)
        ax.plot(xs, fit.predict(xs), "--", color=c, lw=1)
    plotted.append(pd.DataFrame({"set": s, "N": pts["N"].to_numpy(), "loss": pts["loss"].to_numpy()}))
P.log_axes(ax)
ax.set_xlabel("non-embedding parameters N"); ax.set_ylabel("final loss (nats/token)")
ax.legend(fontsize="x-small")
an.save(study, fig, pd.concat(plotted, ignore_index=True), "07_loss_vs_N_by_text")
fig

# %% [markdown]
# ## 3. Does the loss on other text depend only on the loss on the books? (Kaplan Fig. 8, right)
# **What to look for:** big dots are the trunks' final points, with a dashed fit per text (slope 1: a constant
# offset); small dots are the trunks' constant-LR evaluations, and thin segments join each branch end (triangle) to
# its trunk at the same tokens. If generalisation depends only on the books loss, the triangles sit on the small
# dots' trend; if annealing changes the relation, above or below it.

# %%
lines, phases = {}, {}
fig, ax = P.new_figure(figsize=(7, 5))
plotted = []
for i, s in enumerate(names):
    c = f"C{i + 1}"
    e = ev[ev["set"] == s]
    pts = points[points["set"] == s]
    stable = pts[pts["point"] == gz.STABLE]
    ax.plot(stable["val_loss"], stable["loss"], ".", color=c, alpha=0.35, ms=3)
    f = e[e["is_final"] & e["run_id"].isin(trunk_ids)]
    line = gz.offset_line(f, s, n_boot=n_boot, seed=seed)
    lines[s] = line
    lab = s if line is None else f"{s}: slope {line.slope:.2f}"
    ax.plot(f["val_loss"], f["loss"], "o", color=c, label=lab)
    if line is not None:
        xs = np.linspace(min(e["val_loss"].min(), f["val_loss"].min()), f["val_loss"].max(), 20)
        ax.plot(xs, line.predict(xs), "--", color=c, lw=1)
    phases[s] = gz.anneal_shift(points, s, n_boot=n_boot, seed=seed)
    for r in phases[s]["ends"].itertuples(index=False):
        ax.plot([r.x_trunk, r.x_end], [r.y_trunk, r.y_end], "-", color=c, lw=0.7, alpha=0.7)
        ax.plot(r.x_end, r.y_end, "^", color=c, ms=4)
    plotted.append(pts.assign(is_final=False)[["run_id", "N", "step", "val_loss", "set", "loss", "point", "is_final"]])
    plotted.append(f.assign(point="trunk end")[["run_id", "N", "step", "val_loss", "set", "loss", "point", "is_final"]])
lo = float(ev["val_loss"].min()) if len(ev) else 4.0
ax.axline((lo, lo), slope=1, color="grey", lw=0.8, ls=":", label="L_other = L_books")
ax.set_xlabel("loss on the books' validation split (nats/token)"); ax.set_ylabel("loss on the other text (nats/token)")
ax.legend(fontsize="x-small")
an.save(study, fig, pd.concat(plotted, ignore_index=True) if plotted else pd.DataFrame(), "07_other_vs_books")
fig

# %% [markdown]
# ## Results

# %%
fb = fits_N["books (validation)"]
span_N = float(np.log10(final["N"].max() / final["N"].min())) if len(final) >= 2 else None  # decades of N
vocabs = {int(sp.vocab_size) for sp in specs}  # the tokenizer's vocabulary: one for the whole ladder
if len(vocabs) != 1:
    raise ScalingLawsError(f"the generalization ladder mixes vocabularies {sorted(vocabs)}: give its runs one tokenizer")
vocab = vocabs.pop()
# A text the models score worse than a uniform guess over the vocabulary at most sizes is out of the
# tokenizer's reach: its numbers are kept, marked untestable (prefix "oov."), and it leaves the all-sets claims.
reach = {s: gz.vocab_check(fin[fin["set"] == s]["loss"], vocab) for s in names}
judged = [s for s in names if not reach[s]["oov"]]
excluded = {s: reach[s]["reason"] for s in names if reach[s]["oov"]}
phase_delta = gz.claim_delta("ood.anneal_shift:*")  # the claim's equivalence margin (nats)
# whether each set's cooldowns moved the losses far enough along the relation for that margin to tell
reach_phase = {s: gz.anneal_testable(phases[s], phase_delta) for s in names}
# what the cooldowns did to the books loss itself (its "relation" with itself is the diagonal: only the drop counts)
books_pts = points.drop_duplicates(["run_id", "step"]).assign(set="books", loss=lambda d: d["val_loss"])
cool = gz.anneal_shift(books_pts, "books", n_boot=n_boot, seed=seed)
if an.usable(fb):
    res.add_fit(fb, "alpha", "alpha_N (books, this budget)", K["alpha_N"].value, "", f"final loss at {study.profile.ood_tokens:,} tokens")


def put(prefix, s, label, value, ci, paper_value, units, note, *, untestable="", **kw):
    """One per-set record: key <prefix>:<set> for a set in reach, oov.<prefix>:<set> (status untestable,
    the computed reason in its note) for one out of the tokenizer's reach. `untestable`: another computed
    reason the design cannot test the claim on this set (the record keeps its ood. key, status untestable)."""
    item = s.split(":", 1)[-1]
    if s in excluded:
        return res.add(label, value, ci, paper_value, units, f"{note}; untestable: {excluded[s]}",
                       key=f"oov.{prefix}:{item}", status="untestable", **kw)
    if untestable:
        return res.add(label, value, ci, paper_value, units, f"{note}; untestable: {untestable}",
                       key=f"ood.{prefix}:{item}", status="untestable", **kw)
    return res.add(label, value, ci, paper_value, units, note, key=f"ood.{prefix}:{item}", **kw)


for s in names:
    fit = fits_N.get(s)
    if an.usable(fit) and s in excluded:
        put("alpha_N", s, f"alpha_N on {s}", fit.params["alpha"], fit.ci.get("alpha"), None, "",
            "power law in N of the final loss on this text", n_points=fit.n_points, span=fit.span,
            ci_method=fit.ci_method)
    elif an.usable(fit):
        res.add_fit(fit, "alpha", f"alpha_N on {s}", None, "", "power law in N of the final loss on this text",
                    key=f"ood.alpha_N:{s.split(':', 1)[-1]}")
    line = lines.get(s)
    if line is not None:
        r, r_ci = gz.ratio_slope(line)
        put("slope", s, f"slope dL_other/dL_books across sizes ({s})", line.slope, line.slope_ci, 1.0, "",
            f"1 = a constant offset; a constant ratio gives {r:.2f} (ood.ratio_slope)", n_points=line.n_runs,
            span=span_N, ci_method="percentile bootstrap over runs")
        put("ratio_slope", s, f"slope a constant ratio would give ({s})", r, r_ci, None, "",
            f"L_other/L_books at L_books = {line.ref:.2f}: the rival of slope 1", n_points=line.n_runs, span=span_N,
            ci_method="percentile bootstrap over runs")
        res.add(f"offset L_other - L_books ({s})", line.offset_at_ref, line.offset_ci, None, "nats/token",
                f"at L_books = {line.ref:.2f}" + (f"; untestable: {excluded[s]}" if s in excluded else ""),
                status="untestable" if s in excluded else None)
    pr = phases[s]
    if pr["mean"] is not None:
        # n_points: sizes (a size's branch ends share its trunk); fewer than 5 marks the record few_points
        rp = reach_phase[s]
        put("anneal_shift", s, f"branch ends off their trunks' relation at matched tokens ({s})", pr["mean"], pr["ci"],
            0.0, "nats/token", f"the cooldown's shift of L_other off the constant-LR trunk's L_other(L_books), mean "
            f"over {pr['n_sizes']} sizes ({pr['n_ends']} branch ends)"
            + (f"; {rp['reason']}" if rp["testable"] else ""),
            n_points=pr["n_sizes"], ci_method=pr["ci_method"], untestable="" if rp["testable"] else rp["reason"])
if cool["drop"] is not None:
    res.add("books loss change from the cooldown at matched tokens", cool["drop"], cool["drop_ci"], None,
            "nats/token", gz.describe_cooldown(cool), key="ood.cooldown_books_drop", n_points=cool["n_sizes"],
            ci_method=cool["ci_method"])
res.add("text sets the all-sets claims judge", len(judged), None, None, "count",
        gz.describe_sets(judged, excluded), key="ood.sets_judged")
res.add("runs", len(final), None, None, "count",
        f"trunks at {study.profile.ood_tokens:,} tokens (one per size), besides {n_branches} cooldown branches")
res.save()
display(res.frame())

# %% [markdown]
# ## Interpretation (printed from the numbers above)

# %%
if not names:
    print("No extra text was evaluated, so this profile does not measure generalisation.")
else:
    print(gz.describe_sets(judged, excluded))
if an.usable(fb):
    print(f"On the books themselves alpha_N = {an.pm(fb, 'alpha')} at this budget.")
for s in names:
    print(f"{s}: {reach[s]['reason']}.")
    if s in excluded:
        continue
    fit = fits_N.get(s)
    if an.usable(fit) and an.usable(fb):
        lo_, hi_ = fit.ci.get("alpha", (np.nan, np.nan))
        a_b = fb.params["alpha"]
        rel = ("steeper than" if lo_ > a_b else "flatter than" if hi_ < a_b else "not distinguishable from")
        print(f"  loss falls with N as a power law with alpha_N = {an.pm(fit, 'alpha')}, {rel} the books' {a_b:.3f}.")
    else:
        print("  no power-law fit in N.")
    if lines.get(s) is not None:
        print("  " + gz.describe_offset(lines[s]))
    print("  " + gz.describe_anneal(s, phases[s], phase_delta, reach_phase[s]))
print(gz.describe_cooldown(cool))

# %% [markdown]
# ## Try it
# **Your own text** (`quick`, minutes): any corpus (a folder of `.txt` files, one file, `gutenberg:<n>` books) can
# be an evaluation set:
# ```bash
# cd notebooks && ../.venv/bin/papermill 07_generalization.ipynb /tmp/07_mine.ipynb -p profile quick \
#     -p eval_sets "ood:python-stdlib-source,/path/to/my/notes" -p figures_dir /tmp/figures-07
# ```
# Trained runs score a new set from their kept final weights (one point per run); fresh runs record the whole
# curve. Text far from 19th-century books (code, markup) should sit well above them with a flatter slope; text
# close to them should track them.
#
# **One command**: `scalinglaws train --n-layer 2 --d-model 32 --tokens 1000000 --eval-sets ood` trains one model
# scoring all four texts at every evaluation (curves in its `evals.jsonl`).
#
# ## Exercises
# 1. Which text is hardest for a model trained on books, which closest? Does the order change with size?
# 2. Where a dashed line in section 3 has a slope below 1, does the gap to the books grow or shrink as models improve?
# 3. Follow one segment in section 3 from trunk to branch end: does the cooldown move each text's loss along the
#    trunk's trend, or off it? Why would mid-training points of a cosine run not answer this?
# 4. The offset is in nats per token of our tokenizer. Why would it change with a tokenizer trained on Python source?
