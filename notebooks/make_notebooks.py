"""Write the study's six notebooks from the cell sources below (outputs empty).

    .venv/bin/python notebooks/make_notebooks.py          # then: make study PROFILE=cpu
    .venv/bin/python notebooks/make_notebooks.py 01 05    # only these two (the others keep their outputs)

The notebooks are thin: a tagged parameters cell, one library call per step, figures, a results
table and an interpretation computed from the numbers. Keeping their sources here keeps them
reviewable as plain Python; the committed .ipynb files carry the outputs of the reference profile.
"""

from pathlib import Path

import nbformat as nbf

HERE = Path(__file__).resolve().parent

PARAMS = '''\
profile: str = "cpu"  # smoke | quick | cpu | gpu (grids in scalinglaws.experiments)
runs_dir: str = ""  # run store folder; empty means <repo>/runs/<profile>
figures_dir: str = ""  # folder for figures and NN_results.json; empty means <repo>/figures/<profile>
workers: int = 0  # training worker processes; 0 means automatic layout (scalinglaws.store.auto_layout)
device: str = "cpu"  # cpu | cuda | auto
seed: int = 0  # model initialisation and data order of every run
corpus: str = ""  # empty means the corpus of the profile (gutenberg); or a local path, or hub:<dataset id>
n_boot: int = 0  # bootstrap resamples per fit; 0 means the default of the profile; -1 means none (point estimates only, no intervals)
scale: float = 0.0  # multiply every token budget (gpu users with more time); 0 means no change
'''

SETUP = '''\
import pandas as pd
from IPython.display import display
from scalinglaws import analysis as an, experiments as ex, fit as F, paper, plots as P
from scalinglaws.study import check_notebook_parameters

check_notebook_parameters(globals())  # a mistyped papermill -p name stops here, not after an hour of training

study = ex.Study(profile, runs_dir=runs_dir or None, figures_dir=figures_dir or None, workers=workers,
                 device=device, seed=seed, corpus=corpus or None, scale=scale or None)
n_boot = study.profile.n_boot if n_boot == 0 else max(n_boot, 0)
res = an.Results("{nb}", study.figures_dir)
K = paper.KAPLAN
P.set_style()
an.readable_warnings()
pd.set_option("display.width", 160, "display.max_columns", 30)
print(an.smoke_banner(study))
print(f"runs: {{an.where(study.runs_dir)}}   figures: {{an.where(study.figures_dir)}}")
'''

RESULTS = '''\
res.save()
display(res.frame())
'''


def md(s):
    return nbf.v4.new_markdown_cell(s)


def code(s, tags=None):
    c = nbf.v4.new_code_cell(s)
    if tags:
        c.metadata["tags"] = tags
    return c


def notebook(nb_id, title, intro, cells):
    nb = nbf.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    nb.cells = [md(f"# {title}\n\n{intro}"), code(PARAMS, ["parameters"]), code(SETUP.format(nb=nb_id))]
    nb.cells += cells
    return nb


NB01 = notebook("01", "01 — Model size: L(N)", """\
Kaplan et al. 2020 (Sec. 3.1, Fig. 1, Fig. 6): with enough data and steps, test loss falls as a power law in
the **non-embedding** parameter count, L(N) = (N_c/N)^α_N with α_N ≈ 0.076; models of different depths collapse
onto one trend only when embeddings are left out of N (except 1-layer models).

Conventions: N = non-embedding parameters; loss in nats per token of our 1024-token BPE on held-out books.
Each model is trained on fresh text (no repetition) with its peak LR tuned by a sweep (appendix).""", [
    md("## 1. Tune the peak learning rate per model size\nA short sweep per ladder size (see the appendix figure); "
       "the best LR of each size is used for its run, and a power law lr(N) fitted to the optima serves the "
       "shapes that were not swept. A profile with `lr_from` (quick) reads these sweeps from that profile's "
       "store instead of repeating them; the line below says where they came from."),
    code("rule = study.lr_rule()\nprint(rule.source, f': lr(N) = {rule.A:.3g}·(N/1e4)^{rule.B:.2f}')\ndisplay(rule.best)"),
    md("## 2. Train the size ladder"),
    code('runs = study.ensure(study.grid("model_size"))\nfinal = an.final_table(runs)\n'
         'display(final[["n_layer", "d_model", "N", "N_total", "lr", "tokens", "step", "final_val_loss"]])'),
    md("## 3. Convergence check\nL(N) needs each model trained until data and steps no longer limit it. We fit "
       "Kaplan's L(N, S) (Eq. 1.6) to the learning curves after warmup and ask, per model, how much more the fit "
       "predicts from **doubling the steps**; a model counts as converged when that is under 1% of its loss. "
       "The fit's S→∞ limit (N_c/N)^α_N is our estimate of each model's converged loss."),
    code("ns_fit, conv = an.convergence_table(runs, n_boot, seed)\ndisplay(conv)\n"
         "print(f'{conv.converged.sum()} of {len(conv)} models meet the criterion')"),
    md("## 4. Fit L(N)"),
    code('fit_final = F.fit_power_law(final["N"], final["final_val_loss"], n_boot=n_boot, seed=seed)\n'
         'fig, (ax, ax2) = P.new_figure(1, 2, figsize=(10, 4))\n'
         'd1 = P.powerlaw_plot(ax, final["N"], final["final_val_loss"], fit_final, label_x="N (non-embedding parameters)",\n'
         '                     paper_alpha=K["alpha_N"].value, data_label="final loss")\n'
         'ok = conv[conv.L_converged_est.notna()]\n'
         'ax.plot(ok["N"], ok["L_converged_est"], "s", mfc="none", color="C3", label="converged estimate (L(N,S) fit)")\n'
         'ax.legend(fontsize="small")\n'
         'd2 = P.residual_plot(ax2, fit_final, label_x="N (non-embedding parameters)")\n'
         'an.save(study, fig, {"fit": d1, "converged_estimate": conv, "residuals": d2}, "01_loss_vs_N")\nfig'),
    code('res.add_fit(fit_final, "alpha", "alpha_N (final loss)", K["alpha_N"].value, "", "L(N)=(N_c/N)^alpha_N on final losses")\n'
         'res.add_fit(fit_final, "X_c", "N_c (final loss)", K["N_c"].value, "parameters", "absolute scale depends on tokenizer")\n'
         'credible = conv.L_converged_est.notna().all()\n'
         'res.add_fit(ns_fit, "alpha_N", "alpha_N (converged, from L(N,S) fit)", K["alpha_N"].value, "", "S->inf limit of Eq. 1.6" + ("" if credible else "; NOT credible here: the fit puts most of the loss in the step term (see 05)"))\n'
         'res.add("models meeting the convergence criterion", int(conv.converged.sum()), None, None, "count", f"of {len(conv)}; gain from 2x steps < 1% of loss")\n'
         'res.add("N range", final.N.max() / final.N.min(), None, None, "ratio", f"{final.N.min():.3g} to {final.N.max():.3g}")'),
    md("## 5. Embedding vs non-embedding parameters across depths (Kaplan Fig. 6)"),
    code('depth_runs = study.ensure(study.grid("depth"))\n'
         'dfin = an.final_table(pd.concat([depth_runs, runs[runs.tokens == runs.tokens.max()]]) if study.profile.depth_tokens == study.profile.ladder_tokens else depth_runs)\n'
         'dfin = dfin.drop_duplicates("run_id").reset_index(drop=True)\n'
         'dfits, spread = an.depth_collapse(dfin, n_boot, seed)\ndisplay(spread)\n'
         'fig, data = an.depth_figure(dfin, dfits)\nan.save(study, fig, data, "01_depth_collapse")\nfig'),
    code('tot, non = spread.set_index("view").loc["N_total"], spread.set_index("view").loc["N"]\n'
         'res.add("rms residual, one power law vs total params", tot.rms_residual, None, None, "log-loss", "all depths")\n'
         'res.add("rms residual, one power law vs non-embedding N", non.rms_residual, None, None, "log-loss", "all depths")\n'
         'res.add("mean residual of 1-layer models (non-embedding view)", non.mean_residual_1_layer, None, None, "log-loss", "Kaplan: 1-layer models fall off the trend")'),
    md("## Results"),
    code(RESULTS),
    md("## Interpretation (computed from the numbers above)"),
    code('a = fit_final.params["alpha"]; lo, hi = fit_final.ci["alpha"]\n'
         'inside = lo <= K["alpha_N"].value <= hi\n'
         'print(f"alpha_N = {an.pm(fit_final, \'alpha\')} on final losses; the paper has {K[\'alpha_N\'].value}. "\n'
         '      + ("The paper\'s value lies inside our interval." if inside else\n'
         '         f"The paper\'s value lies {\'below\' if K[\'alpha_N\'].value < lo else \'above\'} our interval: at N ~1e3-1e5, with a 1024-token BPE on books and "\n'
         '         f"a few thousand steps, the slope is {\'steeper\' if a > K[\'alpha_N\'].value else \'shallower\'} than Kaplan\'s (1e3-1e9 params, WebText2, BPE 50k)."))\n'
         'print(f"Converged-loss estimate from L(N,S): alpha_N = {an.pm(ns_fit, \'alpha_N\')}" + ("" if credible else " — not credible, the fit assigns most of the loss to the step term") + f"; {conv.converged.sum()} of {len(conv)} models meet the 1% criterion, "\n'
         '      + ("so the final-loss slope is close to the converged one." if conv.converged.all() else\n'
         '         f"so the final losses are not converged losses; the S→∞ limit of the L(N,S) fit gives a {\'steeper\' if ns_fit.params[\'alpha_N\'] > a else \'shallower\'} slope "\n'
         '         f"({ns_fit.params[\'alpha_N\']:.3f} against {a:.3f}), but Eq. 1.6\'s step term has no N, so that limit leans on the law\'s form (see 05)."))\n'
         'ratio = tot.rms_residual / non.rms_residual\n'
         'print(f"Depth collapse: residual spread around one power law is {tot.rms_residual:.3f} against total parameters and {non.rms_residual:.3f} against non-embedding N "\n'
         '      f"({ratio:.1f}x {\'tighter\' if ratio > 1 else \'looser\'} without embeddings); 1-layer models sit {non.mean_residual_1_layer:+.3f} in log-loss from the common trend.")'),
    md("## Appendix: learning-rate sweeps"),
    code('fig, data = an.lr_sweep_figure(study, rule)\nan.save(study, fig, data, "01_appendix_lr_sweep")\nfig'),
])


NB02 = notebook("02", "02 — Dataset size: L(D)", """\
Kaplan et al. 2020 (Sec. 3.2, Fig. 1 middle): a model large enough to be data-limited, trained with early stopping
on a dataset of D tokens, reaches L(D) = (D_c/D)^α_D with α_D ≈ 0.095.

Here: one model trained on nested subsets (the first D tokens of a fixed shuffled book order), repeating each
subset for as many epochs as it helps, and stopped early on validation loss; the best validation loss is L(D).""", [
    md("## 1. Learning rate (shared sweeps) and the runs"),
    code('rule = study.lr_rule()\nruns = study.ensure(study.grid("dataset_size"))\nfinal = an.final_table(runs)\n'
         'display(final[["N", "data_tokens", "tokens", "epochs", "step", "best_val_loss", "final_val_loss", "status", "lr"]])'),
    md("## 2. Learning curves, and where each one was best\nEach run's lowest validation loss is marked; it is "
       "L(D) only if the run got past it (stopped early, or still rose before its budget ended). The line below "
       "counts how many did."),
    code('n_stop = int((final.status == "early_stopped").sum())\n'
         'past_min = int((final.best_val_loss < final.final_val_loss).sum())\n'
         'print(f"{n_stop} of {len(final)} runs were stopped early; {past_min} of {len(final)} ended above their best loss (past their minimum); "\n'
         '      + ("the rest were still improving at the end of their budget, so their best loss is an upper bound on L(D)." if past_min < len(final) else "every point is a minimum."))\n'
         'fig, data = an.early_stop_figure(runs, final)\nan.save(study, fig, data, "02_early_stopping")\nfig'),
    md("## 3. Fit L(D)"),
    code('fit_D = F.fit_power_law(final["data_tokens"], final["best_val_loss"], n_boot=n_boot, seed=seed)\n'
         'fig, (ax, ax2) = P.new_figure(1, 2, figsize=(10, 4))\n'
         'd1 = P.powerlaw_plot(ax, final["data_tokens"], final["best_val_loss"], fit_D, label_x="D (tokens in the subset)",\n'
         '                     paper_alpha=K["alpha_D"].value, data_label=f"early-stopped, N={final.N.iloc[0]:,}")\n'
         'd2 = P.residual_plot(ax2, fit_D, label_x="D (tokens)")\n'
         'an.save(study, fig, {"fit": d1, "residuals": d2}, "02_loss_vs_D")\nfig'),
    code('res.add_fit(fit_D, "alpha", "alpha_D", K["alpha_D"].value, "", "L(D)=(D_c/D)^alpha_D, best val loss with early stopping")\n'
         'res.add_fit(fit_D, "X_c", "D_c", K["D_c"].value, "tokens", "absolute scale depends on tokenizer")\n'
         'res.add("model size", final.N.iloc[0], None, None, "parameters (non-embedding)", "one model for every D")\n'
         'res.add("D range", final.data_tokens.max() / final.data_tokens.min(), None, None, "ratio", f"{final.data_tokens.min():.3g} to {final.data_tokens.max():.3g} tokens")\n'
         'res.add("runs stopped early", int((final.status == "early_stopped").sum()), None, None, "count", f"of {len(final)}")'),
    md("## Results"),
    code(RESULTS),
    md("## Interpretation (computed from the numbers above)"),
    code('lo, hi = fit_D.ci["alpha"]; pv = K["alpha_D"].value\n'
         'print(f"alpha_D = {an.pm(fit_D, \'alpha\')}; the paper has {pv}. " + ("The paper\'s value lies inside our interval." if lo <= pv <= hi else\n'
         '      f"The paper\'s value lies {\'below\' if pv < lo else \'above\'} our interval."))\n'
         'big = final.sort_values("data_tokens").iloc[-1]\n'
         'print(f"The largest subset ({big.data_tokens:.3g} tokens) was seen {big.epochs:.2f} times; "\n'
         '      + ("it ended without early stopping, so the model may be capacity- or step-limited there and the curve flattens." if big.status != "early_stopped" else "it too was stopped early, so the model was data-limited across the range."))'),
])


NB05 = notebook("05", "05 — Sample efficiency and learning curves: L(N, S)", """\
Kaplan et al. 2020 (Sec. 5, Fig. 2, Eq. 1.6): larger models reach any given loss in fewer optimisation steps and
fewer tokens, and learning curves after warmup follow L(N, S) = (N_c/N)^α_N + (S_c/S)^α_S with α_S ≈ 0.76.
The practical use: fit the law on the start of a run and predict where it will end ("when to stop").

Uses the size ladder of notebook 01 (the same runs from the store).""", [
    md("## 1. Learning curves of the size ladder (Kaplan Fig. 2)"),
    code('rule = study.lr_rule()\nruns = study.ensure(study.grid("model_size"))\nfinal = an.final_table(runs)\n'
         'fig, (a1, a2) = P.new_figure(1, 2, figsize=(11, 4))\n'
         'd1 = P.learning_curves(a1, runs, x="tokens", y="val_loss", hue="N", color_label="N (non-embedding)")\n'
         'd2 = P.learning_curves(a2, runs, x="step", y="val_loss", hue="N", color_label="N (non-embedding)")\n'
         'a1.set_xlabel("tokens processed"); a2.set_xlabel("optimizer steps")\n'
         'an.save(study, fig, {"vs_tokens": d1, "vs_steps": d2}, "05_learning_curves")\nfig'),
    md("## 2. Tokens and steps to reach a target loss, against N"),
    code('targets = an.target_losses(final, k=3)\nreach = an.steps_to_targets(runs, targets)\n'
         'display(reach.pivot_table(index="N", columns="target", values="tokens"))\n'
         'fig, ax = P.new_figure(figsize=(6.5, 4.2))\nrows, plotted = [], []\n'
         'for i, (t, g) in enumerate(reach.dropna(subset=["tokens"]).groupby("target")):\n'
         '    if len(g) < 3:\n'
         '        continue\n'
         '    ft = F.fit_power_law(g["N"], g["tokens"], n_boot=n_boot, seed=seed)\n'
         '    ax.plot(g["N"], g["tokens"], "o", color=f"C{i}")\n'
         '    xs = g["N"].sort_values().to_numpy(); ax.plot(xs, ft.predict(xs), "--", color=f"C{i}", label=f"L={t:.2f}: tokens ∝ N^-{an.pm(ft, \'alpha\', 2)}")\n'
         '    rows.append({"target": t, "exponent": ft.params["alpha"], "lo": ft.ci["alpha"][0], "hi": ft.ci["alpha"][1], "models": len(g)})\n'
         '    plotted.append(g.assign(fit=ft.predict(g["N"].to_numpy())))\n'
         'ax.set_xlabel("N (non-embedding)"); ax.set_ylabel("tokens to reach the target loss"); P.log_axes(ax); ax.legend(fontsize="x-small")\n'
         'reach_fits = pd.DataFrame(rows); display(reach_fits)\n'
         'an.save(study, fig, pd.concat(plotted, ignore_index=True), "05_tokens_to_target")\nfig'),
    md("## 3. Fit L(N, S) on steps after warmup"),
    code('# each run\'s own effective warmup (steps); the law describes training after it\n'
         'after = runs[runs.step > runs.warmup_steps]\n'
         'print(f"{len(after)} of {len(runs)} evals are after warmup ({runs.warmup_steps.min():,} to {runs.warmup_steps.max():,} warmup steps per run)")\n'
         'ns_fit = F.fit_kaplan_ns(runs["N"], runs["step"], runs["val_loss"], warmup_steps=runs["warmup_steps"], groups=runs["run_id"], n_boot=n_boot, seed=seed)\n'
         'display(ns_fit.summary_frame())\n'
         'fig, ax = P.new_figure(figsize=(6.5, 4.2))\n'
         'd = P.learning_curves(ax, after, x="step", y="val_loss", hue="N", run="run_id", color_label="N (non-embedding)")\n'
         'for rid, g in after.groupby("run_id"):\n'
         '    ax.plot(g["step"], ns_fit.predict(g["N"].to_numpy(float), g["step"].to_numpy(float)), "k:", lw=0.8)\n'
         'ax.set_title(f"L(N,S) fit (dotted): α_S = {an.pm(ns_fit, \'alpha_S\', 2)} (paper {K[\'alpha_S\'].value})", fontsize="small")\n'
         'an.save(study, fig, d.assign(fit=ns_fit.predict(d["N"].to_numpy(float), d["step"].to_numpy(float))), "05_LNS_fit")\nfig'),
    md("## 4. When to stop: predict the end of each run from its first half"),
    code('pred, early_fit = an.holdout_prediction(runs, n_boot, seed, frac=0.5)\ndisplay(pred)\n'
         'fig, ax = P.new_figure(figsize=(5.5, 4))\n'
         'ax.errorbar(pred["actual"], pred["predicted"], yerr=[pred["predicted"] - pred["pred_low"], pred["pred_high"] - pred["predicted"]], fmt="o")\n'
         'lim = [pred[["actual", "pred_low"]].min().min() * 0.98, pred[["actual", "pred_high"]].max().max() * 1.02]\n'
         'ax.plot(lim, lim, "k--", lw=0.8); ax.set_xlabel("final loss reached"); ax.set_ylabel("predicted from the first half")\n'
         'an.save(study, fig, pred, "05_predict_from_first_half")\nfig'),
    code('res.add_fit(ns_fit, "alpha_S", "alpha_S", K["alpha_S"].value, "", "Eq. 1.6 on steps after warmup, S not adjusted to S_min")\n'
         'res.add_fit(ns_fit, "alpha_N", "alpha_N (from L(N,S))", paper.KAPLAN["ns_alpha_N"].value, "", "Eq. 1.6")\n'
         'res.add_fit(ns_fit, "S_c", "S_c", K["S_c"].value, "steps", "")\n'
         'for r in reach_fits.itertuples():\n'
         '    res.add(f"tokens-to-target exponent at L={r.target:.3f}", r.exponent, (r.lo, r.hi), None, "", f"tokens ∝ N^-exponent over {r.models} models")\n'
         'res.add("median |error| predicting the final loss from the first half", float(pred.error_pct.abs().median()), None, None, "%", "Eq. 1.6 fitted on steps <= half of each run")'),
    md("## Results"),
    code(RESULTS),
    md("## Interpretation (computed from the numbers above)"),
    code('pv = K["alpha_S"].value; lo, hi = ns_fit.ci["alpha_S"]\n'
         'print(f"alpha_S = {an.pm(ns_fit, \'alpha_S\')} against the paper\'s {pv}: " + ("inside our interval." if lo <= pv <= hi else f"the paper\'s value is {\'below\' if pv < lo else \'above\'} our interval."))\n'
         'if len(reach_fits):\n'
         '    print(f"Bigger models need fewer tokens: the tokens needed fall as N^-k with k between {reach_fits.exponent.min():.2f} and {reach_fits.exponent.max():.2f} across {len(reach_fits)} target losses" + (" (all positive)." if (reach_fits.exponent > 0).all() else " — not all positive, so the claim does not hold at every target here."))\n'
         'bias = pred.error_pct.median()\n'
         'print(f"From the first half of each curve the law predicts the final loss with a median error of {bias:+.1f}% "\n'
         '      + ("(it over-predicts: the cosine decay at the end of each run buys extra loss the power law in steps does not see)." if bias > 0.5 else "(close to unbiased)." if abs(bias) <= 0.5 else "(it under-predicts)."))'),
])


NB03 = notebook("03", "03 — Model shape at fixed N", """\
Kaplan et al. 2020 (Sec. 3.1, Fig. 5): at fixed non-embedding N, the loss depends only weakly on shape —
depth vs width (aspect ratio d_model/n_layer over a ~40× range costs only a few %), the feed-forward ratio
d_ff/d_model and the number of heads.

Small differences in N between shapes are corrected with the L(N) slope fitted in notebook 01 (same runs).""", [
    md("## 1. Runs: aspect ratios at fixed N, and feed-forward ratio / heads at one N"),
    code('rule = study.lr_rule()\nladder = an.final_table(study.ensure(study.grid("model_size")))\n'
         'fit_N = F.fit_power_law(ladder["N"], ladder["final_val_loss"], n_boot=n_boot, seed=seed)\n'
         'specs = study.grid("shape")\nruns = study.ensure(specs)\nfinal = an.final_for(specs, runs)\n'
         'table = an.shape_table(final, max(fit_N.params["alpha"], 0.0))  # a negative slope would not be a correction\n'
         'display(table[["kind", "size", "n_layer", "d_model", "n_head_eff", "ff_ratio", "aspect_ratio", "N", "final_val_loss", "L_corrected", "increase_pct"]])'),
    md("## 2. Loss increase over the best shape (Kaplan Fig. 5)"),
    code('fig, axes = P.new_figure(1, 3, figsize=(14, 4))\nplotted = {}\n'
         'for ax, (kind, var, xl) in zip(axes, [("aspect", "aspect_ratio", "aspect ratio d_model / n_layer"), ("ff", "ff_ratio", "feed-forward ratio d_ff / d_model"), ("heads", "head_dim", "head dimension d_model / n_head")]):\n'
         '    t = table[table.kind == kind]\n'
         '    for size, g in t.groupby("size"):\n'
         '        g = g.sort_values(var); ax.plot(g[var], g["increase_pct"], "o-", label=f"N ≈ {float(size):,.0f}")\n'
         '    ax.set_xscale("log"); ax.set_xlabel(xl); ax.set_ylabel("loss increase over best (%)"); ax.legend(fontsize="small")\n'
         '    ax.axhline(3, color="grey", ls=":", lw=0.8)\n'
         '    plotted[kind] = t[["size", var, "N", "final_val_loss", "L_corrected", "increase_pct"]]\n'
         'an.save(study, fig, plotted, "03_shape")\nfig'),
    code('for size, g in table[table.kind == "aspect"].groupby("size"):\n'
         '    lo, hi, ratio = an.within_range(g, "aspect_ratio", 3.0)\n'
         '    res.add(f"aspect-ratio range within 3% of best (N≈{float(size):.2g})", ratio, None, 40.0, "ratio", f"aspect {lo:.3g} to {hi:.3g}; tried {g.aspect_ratio.min():.3g}-{g.aspect_ratio.max():.3g}")\n'
         '    res.add(f"worst aspect-ratio penalty (N≈{float(size):.2g})", g.increase_pct.max(), None, None, "%", "")\n'
         'for kind, var in [("ff", "ff_ratio"), ("heads", "head_dim")]:\n'
         '    g = table[table.kind == kind]\n'
         '    if len(g):\n'
         '        res.add(f"worst {kind} penalty", g.increase_pct.max(), None, None, "%", f"{var} {g[var].min():.3g}-{g[var].max():.3g}")\n'
         'res.add_fit(fit_N, "alpha", "alpha_N used for the N correction", K["alpha_N"].value, "", "from the size ladder (notebook 01 runs)")'),
    md("## Results"),
    code(RESULTS),
    md("## Interpretation (computed from the numbers above)"),
    code('for size, g in table[table.kind == "aspect"].groupby("size"):\n'
         '    lo, hi, ratio = an.within_range(g, "aspect_ratio", 3.0)\n'
         '    print(f"N≈{float(size):,.0f}: shapes with aspect ratio {lo:.3g} to {hi:.3g} ({ratio:.0f}x range) are within 3% of the best; the worst shape tried costs {g.increase_pct.max():.1f}%. "\n'
         '          + ("Like Kaplan (a 40x range within a few %), shape barely matters here." if ratio >= 10 else "Shape matters more here than in Kaplan\'s models (their 40x range within a few %)."))\n'
         'for kind in ["ff", "heads"]:\n'
         '    g = table[table.kind == kind]\n'
         '    if len(g):\n'
         '        print(f"{kind}: the worst setting costs {g.increase_pct.max():.1f}% over the best.")'),
])


NB04 = notebook("04", "04 — Overfitting: L(N, D) and the D ∝ N^0.74 rule", """\
Kaplan et al. 2020 (Sec. 4, Eq. 1.5, Fig. 9): with early stopping, L(N, D) = [(N_c/N)^(α_N/α_D) + D_c/D]^α_D; the
overfitting penalty δL = L(N, D)/L(N, ∞) − 1 depends on N and D only through N^(α_N/α_D)/D, so keeping it small
needs D ≳ 5·10³·N^0.74.

Grid: model sizes × nested data subsets, each repeated until validation loss stops improving; plus, per size,
the ladder run that saw fresh data throughout (D = tokens seen).""", [
    md("## 1. Runs"),
    code('rule = study.lr_rule()\nladder_runs = study.ensure(study.grid("model_size"))\nruns = study.ensure(study.grid("overfitting"))\n'
         'pts = an.nd_points(study, runs, ladder_runs)\ndisplay(pts.pivot_table(index="N", columns="D", values="L"))'),
    md("## 2. Fit Eq. 1.5 jointly"),
    code('nd = F.fit_kaplan_nd(pts["N"], pts["D"], pts["L"], groups=pts["run_id"], n_boot=n_boot, seed=seed)\ndisplay(nd.summary_frame())\n'
         'fig, (ax, ax2) = P.new_figure(1, 2, figsize=(11, 4.2))\nplotted = []\n'
         'import numpy as np, matplotlib as mpl\nnorm = mpl.colors.LogNorm(pts.N.min(), pts.N.max())\n'
         'for N, g in pts.groupby("N"):\n'
         '    g = g.sort_values("D"); c = mpl.colormaps["viridis"](norm(N))\n'
         '    ax.plot(g["D"], g["L"], "o", color=c, label=f"N={N:,.0f}")\n'
         '    Ds = np.geomspace(pts.D.min(), pts.D.max(), 60); ax.plot(Ds, nd.predict(np.full_like(Ds, N), Ds), "--", color=c, lw=1)\n'
         '    plotted.append(pd.DataFrame({"N": N, "D": Ds, "L_fit": nd.predict(np.full_like(Ds, N), Ds)}))\n'
         'ax.set_xlabel("D (tokens)"); ax.set_ylabel("early-stopped loss"); P.log_axes(ax); ax.legend(fontsize="x-small")\n'
         'p = nd.params\npts["L_inf"] = (p["N_c"] / pts["N"]) ** p["alpha_N"]\n'
         'pts["delta_L"] = F.overfit_delta(pts["L"], pts["L_inf"])\npts["x"] = F.collapse_variable(pts["N"], pts["D"], p["alpha_N"], p["alpha_D"])\n'
         'for N, g in pts.groupby("N"):\n'
         '    ax2.plot(g["x"], g["delta_L"], "o", color=mpl.colormaps["viridis"](norm(N)))\n'
         'xs = np.geomspace(pts.x.min(), pts.x.max(), 60)\n'
         'ax2.plot(xs, (1 + xs * p["D_c"] / p["N_c"] ** (p["alpha_N"] / p["alpha_D"])) ** p["alpha_D"] - 1, "k--", lw=1, label="Eq. 1.5")\n'
         'ax2.set_xscale("log"); ax2.set_xlabel("N^(α_N/α_D) / D"); ax2.set_ylabel("δL = L(N,D)/L(N,∞) − 1"); ax2.legend(fontsize="small")\n'
         'an.save(study, fig, {"points": pts, "fit": pd.concat(plotted, ignore_index=True)}, "04_LND")\nfig'),
    md("## 3. This study's overfitting rule"),
    code('rule_d = an.overfit_rule(nd, tolerance=0.02)\n'
         'print(f"dL < 2% needs D >= {rule_d[\'k\']:.3g} * N^{rule_d[\'exponent\']:.2f}  (paper: 5e3 * N^0.74)")\n'
         'res.add_fit(nd, "alpha_N", "alpha_N (Eq. 1.5)", paper.KAPLAN["nd_alpha_N"].value, "", "joint fit")\n'
         'res.add_fit(nd, "alpha_D", "alpha_D (Eq. 1.5)", paper.KAPLAN["nd_alpha_D"].value, "", "joint fit")\n'
         'res.add_fit(nd, "N_c", "N_c (Eq. 1.5)", paper.KAPLAN["nd_N_c"].value, "parameters", "")\n'
         'res.add_fit(nd, "D_c", "D_c (Eq. 1.5)", paper.KAPLAN["nd_D_c"].value, "tokens", "")\n'
         'res.add("overfitting rule exponent alpha_N/alpha_D", rule_d["exponent"], rule_d["exponent_ci"], paper.KAPLAN["D_over_N_exponent"].value, "", "D >= k N^exponent keeps dL < 2%")\n'
         'res.add("overfitting rule coefficient k", rule_d["k"], rule_d["k_ci"], paper.KAPLAN["overfit_D_coef"].value, "tokens", "tolerance 2%")'),
    md("## Results"),
    code(RESULTS),
    md("## Interpretation (computed from the numbers above)"),
    code('e, (elo, ehi) = rule_d["exponent"], rule_d["exponent_ci"]\n'
         'print(f"alpha_N/alpha_D = {e:.2f} [{elo:.2f}, {ehi:.2f}] against the paper\'s 0.74: " + ("inside our interval." if elo <= 0.74 <= ehi else "outside our interval."))\n'
         'spread = float(np.sqrt(np.mean(nd.residuals ** 2)))\n'
         'print(f"Eq. 1.5 describes the grid with an rms log-residual of {spread:.3f}; the collapse plot shows whether all sizes fall on one curve of N^(α_N/α_D)/D.")\n'
         'for N in sorted(pts.N.unique()):\n'
         '    print(f"  N={N:,.0f}: no more than 2% overfitting needs D >= {rule_d[\'k\'] * N ** e:.3g} tokens")'),
])


NB06 = notebook("06", "06 — Compute allocation: the efficient frontier, critical batch size, and the Chinchilla contrast", """\
Kaplan et al. 2020 (Sec. 5–6, Figs. 3, 10–14): the lower envelope of learning curves against compute falls as
L ∝ C_min^−0.050; along it the best model size grows as N_opt ∝ C^0.73, the critical batch size as B_crit ∝ L^−1/0.21,
and extra compute goes mostly into model size (0.73), some into batch (0.24), hardly any into steps (0.03).
Hoffmann et al. 2022 (Chinchilla) found N_opt ∝ C^~0.5 with schedules matched to each budget. We do both on our runs.

C = 6·N·tokens with non-embedding N (Kaplan's); C_full adds attention-context and de-embedding FLOPs.""", [
    md("## 1. The compute-efficient frontier from the size ladder's learning curves"),
    code('import numpy as np\nrule = study.lr_rule()\nladder = study.ensure(study.grid("model_size"))\n'
         'fig, (a1, a2) = P.new_figure(1, 2, figsize=(11, 4.2))\nfront, plotted = {}, {}\n'
         'for ax, c in ((a1, "C"), (a2, "C_full")):\n'
         '    P.learning_curves(ax, ladder, x=c, y="val_loss", hue="N", run="run_id", color_label="N (non-embedding)", lw=0.7)\n'
         '    env = F.compute_frontier(ladder, c_col=c, l_col="val_loss", n_col="N", run_col="run_id")\n'
         '    ax.plot(env[c], env["val_loss"], "r-", lw=2, label="frontier"); ax.legend(fontsize="small")\n'
         '    ax.set_xlabel({"C": "C = 6·N·tokens (FLOPs)", "C_full": "C_full incl. context + de-embedding (FLOPs)"}[c])\n'
         '    front[c] = env; plotted[c] = env\n'
         'an.save(study, fig, plotted, "06_frontier")\nfig'),
    code('# Which frontier points locate the compute-efficient law (F.frontier_fit_rows; both fits use them):\n'
         '# attained (where the run holding the frontier has ended and no curve is lower yet, its best loss is carried\n'
         '# forward, which is no loss reached at that C); not held by the smallest or largest size trained (censored: a\n'
         '# smaller or larger model that was not trained may be the efficient one there); below the unigram entropy\n'
         '# (above the loss of the best context-free model, models are still learning token frequencies: the transient).\n'
         '# Points next to each other come from the same run, so the bootstrap resamples whole model sizes.\n'
         'h1 = an.unigram_loss(study)\nenv = front["C"].rename(columns={"val_loss": "L"})\n'
         'keep = F.frontier_fit_rows(env, max_loss=h1)\nfc, fx = env[keep], env[env["attained"] & ~keep]\n'
         'print(f"fitted: {len(fc)} of {len(env)} frontier grid points, C = {fc.C.min():.2g} to {fc.C.max():.2g} FLOPs, held by N = {sorted(set(fc.N.astype(int)))}; "\n'
         '      f"not fitted: {(~env.attained).sum()} carried forward, {len(fx)} held by the smallest or largest size or above the unigram entropy ({h1:.2f} nats)")\n'
         'fit_C = an.frontier_loss_fit(fc, n_boot=n_boot, seed=seed)\n'
         'fit_Nopt = an.try_fit(F.fit_frontier_n_opt, env, c_col="C", n_col="N", max_loss=h1, n_boot=n_boot, seed=seed)\n'
         'for f in (fit_C, fit_Nopt):\n'
         '    if f is not None:\n'
         '        display(f.summary_frame())\n'
         'fig, (a1, a2) = P.new_figure(1, 2, figsize=(11, 4))\n'
         'd1 = P.powerlaw_plot(a1, fc["C"], fc["L"], fit_C, label_x="C (FLOPs)", paper_alpha=K["alpha_C_min"].value, data_label="frontier (fitted)", excluded=(fx["C"], fx["L"]), excluded_label="frontier, not fitted")\n'
         'd2 = P.powerlaw_plot(a2, fc["C"], fc["N"], fit_Nopt if an.usable(fit_Nopt) else None, label_x="C (FLOPs)", label_y="N on the frontier", param="a", paper_alpha=K["N_opt_exponent"].value, data_label="model on the frontier (fitted)", excluded=(fx["C"], fx["N"]), excluded_label="not fitted")\n'
         'an.save(study, fig, {"L_vs_C": d1, "Nopt_vs_C": d2}, "06_frontier_fits")\nfig'),
    md("## 2. Critical batch size (Kaplan Sec. 5.1)"),
    code('batch_runs = study.ensure(study.grid("batch"))\n'
         'bc, bfits = an.critical_batch(batch_runs, n_targets=4, n_boot=n_boot, seed=seed)\n'
         'display(bc.drop(columns="points"))\n'
         'fig, (a1, a2) = P.new_figure(1, 2, figsize=(11, 4))\nP.learning_curves(a1, batch_runs, x="tokens", y="val_loss", hue="batch_size", run="run_id", color_label="batch (sequences)")\n'
         'pts = pd.concat(list(bc["points"]), ignore_index=True) if len(bc) else pd.DataFrame()\n'
         'for i, (t, g) in enumerate(pts.groupby("target")) if len(pts) else []:\n'
         '    g = g.sort_values("steps")  # along the hyperbola, not in run order\n'
         '    a2.plot(g["steps"], g["examples"], "o-", color=f"C{i}", label=f"L={t:.2f}")\n'
         'a2.set_xlabel("steps S"); a2.set_ylabel("tokens E"); P.log_axes(a2); a2.legend(fontsize="x-small")\n'
         'an.save(study, fig, pts, "06_critical_batch")\nfig'),
    code('fit_B = an.try_fit(F.fit_bcrit_vs_loss, bc["target"], bc["B_crit"], n_boot=n_boot, seed=seed) if len(bc) >= 3 else None\n'
         'if fit_B is not None:\n'
         '    display(fit_B.summary_frame())\n'
         '    res.add_fit(fit_B, "alpha_B", "alpha_B", K["alpha_B"].value, "", "B_crit(L) = B*/L^(1/alpha_B)")\n'
         '    res.add_fit(fit_B, "B_star", "B*", K["B_star"].value, "tokens", "")\n'
         'for r in bc.itertuples():  # a fit without an interval says why (e.g. too few batch sizes to resample)\n'
         '    res.add(f"B_crit at L={r.target:.3f}", r.B_crit, (r.B_crit_low, r.B_crit_high), None, "tokens per step",\n'
         '            r.note)'),
    md("## 3. How to spend more compute (Kaplan Fig. 3 / Eq. 1.7)\nAlong the frontier N_opt ∝ C^a. With L ∝ C^−α_C on the frontier and B_crit ∝ L^−1/α_B, the critical batch "
       "grows as C^(α_C/α_B), and serial steps take the rest: S ∝ C^(1 − a − α_C/α_B)."),
    code('a_N = fit_Nopt.params["a"] if an.usable(fit_Nopt) else np.nan\n'
         'b_B = fit_C.params["alpha"] / fit_B.params["alpha_B"] if an.usable(fit_B) and an.usable(fit_C) else np.nan\n'
         'split = pd.DataFrame({"share": ["model size N", "batch size B", "serial steps S"], "ours": [a_N, b_B, 1 - a_N - b_B],\n'
         '                      "paper": [K["N_opt_exponent"].value, K["B_opt_exponent"].value, K["S_opt_exponent"].value]})\ndisplay(split)\n'
         'if an.usable(fit_C):\n'
         '    res.add_fit(fit_C, "alpha", "alpha_C (frontier, C=6ND, fixed batch)", K["alpha_C_min"].value, "", f"L on the frontier vs C (interior sizes, below the unigram entropy; C {fc.C.min():.2g} to {fc.C.max():.2g}), not adjusted to C_min")\n'
         'if an.usable(fit_Nopt):\n'
         '    res.add_fit(fit_Nopt, "a", "N_opt exponent a (frontier)", K["N_opt_exponent"].value, "", "model size on the frontier vs C")\n'
         'res.add("B exponent alpha_C/alpha_B", b_B, None, K["B_opt_exponent"].value, "", "derived")\n'
         'res.add("S exponent 1 - a - alpha_C/alpha_B", 1 - a_N - b_B, None, K["S_opt_exponent"].value, "", "derived")'),
    md("## 4. The Chinchilla contrast on the same machinery: IsoFLOP profiles with matched schedules"),
    code('iso_specs = study.grid("isoflop")\niso_runs = study.ensure(iso_specs)\niso = an.isoflop_table(an.final_for(iso_specs, iso_runs))\n'
         'a2fit = an.try_fit(F.chinchilla_approach2, iso.rename(columns={"final_val_loss": "L"}).assign(C=iso["budget"]), n_col="N", c_col="C", l_col="L", n_boot=n_boot, seed=seed)\n'
         'if a2fit is not None:\n'
         '    display(a2fit.summary_frame()); display(a2fit.tables.get("minima"))\n'
         'fig, ax = P.new_figure(figsize=(6.5, 4.2))\n'
         'for i, (C, g) in enumerate(iso.groupby("budget")):\n'
         '    g = g.sort_values("N"); ax.plot(g["N"], g["final_val_loss"], "o-", color=f"C{i}", label=f"C = {C:.0e}")\n'
         'ax.set_xlabel("N (non-embedding)"); ax.set_ylabel("final loss"); P.log_axes(ax); ax.legend(fontsize="small")\n'
         'an.save(study, fig, iso[["budget", "N", "tokens", "final_val_loss"]], "06_isoflop")\nfig'),
    code('lad = an.final_table(ladder)\nmatched = pd.concat([iso, lad], ignore_index=True).drop_duplicates("run_id")\n'
         'a3fit = F.chinchilla_approach3(matched["N"], matched["tokens"], matched["final_val_loss"], n_boot=n_boot, seed=seed)\n'
         'display(a3fit.summary_frame())\n'
         'if a2fit is not None:\n'
         '    res.add_fit(a2fit, "a", "a (Approach 2, IsoFLOP)", paper.CHINCHILLA["a_approach2"].value, "", "N_opt ∝ C^a, schedules matched")\n'
         'a3_ok, a3_why = an.approach3_reliable(a3fit)  # whether its numbers may be used for claims\n'
         'for name in ["alpha", "beta", "E", "a"]:\n'
         '    res.add_fit(a3fit, name, f"{name} (Approach 3)", paper.CHINCHILLA[name if name != "a" else "a_approach3"].value, "nats/token" if name == "E" else "",\n'
         '                "L = E + A/N^alpha + B/D^beta on runs with matched schedules" + ("" if a3_ok else f" [not reliable here: {a3_why}]"))'),
    md("## 5. The practical promise: predict the final loss, and allocate a budget"),
    code('cases = pd.DataFrame({"N": [lad.N.median(), lad.N.max(), lad.N.max() * 3], "D": [lad.tokens.max()] * 2 + [lad.tokens.max() * 3]})\n'
         'pi = a3fit.predict_interval(cases["N"].to_numpy(float), cases["D"].to_numpy(float))\n'
         'cases = cases.assign(C=6 * cases.N * cases.D, L_pred=pi.estimate, L_low=pi.low, L_high=pi.high); display(cases)\n'
         'budgets = np.array(sorted(set(iso["budget"])) + [max(iso["budget"]) * 10])\nrows = []\n'
         'if not a3_ok:\n'
         '    print(f"Approach 3 is not used to allocate compute: its {a3_why}.")\n'
         'for C in budgets:\n'
         '    nK = fit_Nopt.predict(np.array([C]))[0] if an.usable(fit_Nopt) else np.nan\n'
         '    n2 = a2fit.predict(np.array([C]))[0] if an.usable(a2fit) else np.nan\n'
         '    n3, d3 = (x[0] for x in a3fit.optimal_allocation(np.array([C]))) if a3_ok else (np.nan, np.nan)\n'
         '    rows.append({"C": C, "N_opt Kaplan frontier": nK, "N_opt Approach 2": n2, "N_opt Approach 3": n3, "D_opt Approach 3": d3, "tokens per parameter (A3)": d3 / n3})\n'
         'alloc = pd.DataFrame(rows); display(alloc)\n'
         'fig, ax = P.new_figure(figsize=(6.5, 4.2))\n'
         'drawn = 0\n'
         'for col, st in [("N_opt Kaplan frontier", "o-"), ("N_opt Approach 2", "s-"), ("N_opt Approach 3", "^-")]:\n'
         '    ok = alloc[np.isfinite(alloc[col])]\n'
         '    if len(ok):\n'
         '        ax.plot(ok["C"], ok[col], st, label=col); drawn += 1\n'
         'ax.set_xlabel("C (FLOPs)"); ax.set_ylabel("compute-optimal N (parameters)")\n'
         'if drawn:\n'
         '    P.log_axes(ax); ax.legend(fontsize="small")\n'
         'else:  # nothing to draw: say so on the figure rather than leave an empty frame\n'
         '    ax.text(0.5, 0.5, "no method gave a usable compute-optimal N here (see above)", ha="center", transform=ax.transAxes)\n'
         'an.save(study, fig, alloc, "06_allocation")\nfig'),
    md("## Results"),
    code(RESULTS),
    md("## Interpretation (computed from the numbers above)"),
    code('print(an.interpret_chinchilla(fit_Nopt if an.usable(fit_Nopt) else None, a2fit if an.usable(a2fit) else None, a3fit if a3fit.converged else None))\n'
         'if an.usable(fit_C):\n'
         '    print(f"On the frontier, L falls as C^-{an.pm(fit_C, \'alpha\', 2)} (paper alpha_C^min = 0.050), fitted from C = {fc.C.min():.2g} to {fc.C.max():.2g} FLOPs "\n'
         '          f"({np.log10(fc.C.max() / fc.C.min()):.1f} decades; the stretches held by the smallest and largest sizes and the losses above the unigram entropy, {h1:.2f} nats, are not fitted).")\n'
         'else:\n'
         '    print("No L(C) frontier fit: fewer than two interior model sizes hold the frontier below the unigram entropy (see section 1).")\n'
         'print(an.interpret_bcrit(fit_B, K["alpha_B"].value))\n'
         'agree = an.methods_agree(fit_Nopt if an.usable(fit_Nopt) else None, a2fit if an.usable(a2fit) else None)\n'
         'print(an.interpret_contrast_reasons(agree, lad.N_total.iloc[0] / lad.N.iloc[0] - 1, a3fit.params["E"] if a3fit.converged else None))'),
])

NOTEBOOKS = {"01_model_size": NB01, "02_dataset_size": NB02, "03_model_shape": NB03, "04_overfitting": NB04,
             "05_sample_efficiency": NB05, "06_compute_allocation": NB06}


def main(argv=None):
    """Write every notebook, or only those whose names start with the arguments (e.g. 01 05): the
    others keep their executed outputs."""
    import sys

    want = (sys.argv[1:] if argv is None else argv) or [""]
    for name, nb in NOTEBOOKS.items():
        if any(name.startswith(w) for w in want):
            nbf.write(nb, HERE / f"{name}.ipynb")
            print("wrote", HERE / f"{name}.ipynb")


if __name__ == "__main__":
    main()
