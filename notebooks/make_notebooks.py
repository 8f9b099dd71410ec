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
import numpy as np
from scalinglaws import allocation as al, analysis as an, batch_size as bs, convergence as cv, experiments as ex, fit as F, paper, plots as P
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
Each model is trained on fresh text (no repetition) with its peak LR tuned by a sweep (appendix).

**How we measure it.** Kaplan's L(N) is the loss of a *converged* model. We train every size at the ladder
budget, check how converged each is by training the small sizes at two more budgets (each with its own full
schedule), fit L(N) on the sizes that meet a measured criterion, and show the slope at the fixed ladder budget
beside it. Seeds: three sizes are trained with three seeds, so the intervals include seed noise.""", [
    md("## 1. Tune the peak learning rate per model size\nA short sweep per ladder size (see the appendix figure); "
       "the best LR of each size is used for its run, and a power law lr(N) fitted to the optima serves the "
       "shapes that were not swept. A profile with `lr_from` (quick) reads these sweeps from that profile's "
       "store instead of repeating them; the line below says where they came from."),
    code("rule = study.lr_rule()\nprint(rule.source, f': lr(N) = {rule.A:.3g}·(N/1e4)^{rule.B:.2f}')\ndisplay(rule.best)"),
    md("## 2. Train the size ladder, and the seed replicates\nWhat to look for: the loss falls steadily with N; "
       "the replicates of a size differ by the seed noise (the `sd` column), which sets how small a difference "
       "between two runs can mean anything."),
    code('runs = study.ensure(study.grid("model_size"))\nfinal = an.final_table(runs)\n'
         'display(final[["n_layer", "d_model", "N", "N_total", "lr", "tokens", "step", "final_val_loss"]])\n'
         'seed_final = an.final_table(study.ensure(study.grid("seeds")))\n'
         'ladder_seeds = seed_final[seed_final.label.str.fullmatch(r"seed \d+")]\n'
         'points = pd.concat([final, ladder_seeds], ignore_index=True)  # every seed of every size: the fit resamples runs\n'
         'spread = cv.seed_spread(points, ["n_layer", "d_model", "N"])\nseed_sd = cv.pooled_sd(spread)\ndisplay(spread)\n'
         'print(f"pooled seed-to-seed sd of the final loss: {seed_sd:.4f} nats" if spread.size else "no seed replicates at this profile")'),
    md("## 3. How converged is each size? The same sizes at 2–3 matched budgets\nEach point is a run with its own "
       "cosine schedule (not a checkpoint of a longer run): the best run of the size's LR sweep, the ladder run, and "
       "for the small sizes a run 4× longer. A size counts as converged when one more doubling of its tokens gains "
       f"less than 1% of its loss. Eq. 1.6's step term cannot make this call: it has no N, so it predicts the same "
       "gain for every model trained the same number of steps."),
    code('long_final = an.final_table(study.ensure(study.grid("convergence")))\n'
         'budgets = cv.budget_table(rule.sweeps, final, long_final)\nconv = cv.convergence_by_budget(budgets)\ndisplay(conv)\n'
         'conv_fits = cv.converged_fits(conv, n_boot, seed)\nprint(cv.interpret_convergence(conv, conv_fits))\n'
         'fig, ax = P.new_figure(figsize=(6.5, 4.2))\n'
         'd = P.learning_curves(ax, budgets.assign(run_id=budgets.N), x="tokens", y="L", hue="N", run="run_id", color_label="N (non-embedding)", marker="o")\n'
         'ax.set_xlabel("training tokens (each point its own run and schedule)"); ax.set_ylabel("final validation loss (nats/token)")\n'
         'an.save(study, fig, budgets, "01_convergence")\nfig'),
    md("## 4. Fit L(N)\nLeft: final losses at the ladder budget (every seed), the slope **at a fixed budget**. "
       "Squares: the converged sizes, fitted without 1-layer models as Kaplan do. The headline number is the "
       "fitted loss at a model size inside the data, which the data pin down far better than N_c "
       "(an extrapolation to a loss of 1 nat)."),
    code('fit_final = F.fit_power_law(points["N"], points["final_val_loss"], n_boot=n_boot, seed=seed)\n'
         'fig, (ax, ax2) = P.new_figure(1, 2, figsize=(10, 4))\n'
         'd1 = P.powerlaw_plot(ax, points["N"], points["final_val_loss"], fit_final, label_x="N (non-embedding parameters)",\n'
         '                     paper_alpha=K["alpha_N"].value, data_label=f"final loss at {study.profile.ladder_tokens:.2g} tokens")\n'
         'fc = conv_fits["without 1-layer"]\nok = conv[conv.converged & (conv.n_layer > 1)]\n'
         'ax.plot(ok["N"], ok["L_at_max"], "s", mfc="none", ms=9, color="C3", label="converged sizes (no 1-layer)" + (f": α_N = {an.pm(fc, \'alpha\', 2)}" if fc is not None else ""))\n'
         'if fc is not None:\n'
         '    xs = ok["N"].sort_values().to_numpy(); ax.plot(xs, fc.predict(xs), "-", color="C3", lw=1)\n'
         'ax.legend(fontsize="x-small")\n'
         'd2 = P.residual_plot(ax2, fit_final, label_x="N (non-embedding parameters)")\n'
         'an.save(study, fig, {"fit": d1, "converged": conv, "residuals": d2}, "01_loss_vs_N")\nfig'),
    md("Kaplan's converged L(N) can also be read off Eq. 1.5: L(N, D) = [(N_c/N)^(α_N/α_D) + D_c/D]^α_D fitted to "
       "runs that saw each token once with a schedule matched to their budget (the three budgets above and the "
       "IsoFLOP runs of notebook 06); its D → ∞ limit is (N_c/N)^α_N."),
    code('iso_final = an.final_table(study.ensure(study.grid("isoflop")))\n'
         'single = pd.concat([budgets.rename(columns={"L": "final_val_loss"}), iso_final], ignore_index=True)[["N", "tokens", "final_val_loss"]]\n'
         'nd_single = an.try_fit(F.fit_kaplan_nd, single["N"], single["tokens"], single["final_val_loss"], n_boot=n_boot, seed=seed)\n'
         'if nd_single is not None:\n'
         '    display(nd_single.summary_frame())\n'
         'n_ref = float(np.exp(np.log(points.N).mean()))  # reference size: the geometric middle of the ladder\n'
         'ref = fit_final.predict_interval(np.array([n_ref])) if an.usable(fit_final) else None\n'
         'if ref is not None:\n'
         '    print(f"fitted loss at N = {n_ref:,.0f}: {ref.estimate[0]:.4f} [95% CI {ref.low[0]:.4f}, {ref.high[0]:.4f}] nats/token")'),
    code('res.add_fit(fit_final, "alpha", "alpha_N (final loss at the ladder budget)", K["alpha_N"].value, "", f"L(N)=(N_c/N)^alpha_N on final losses at {study.profile.ladder_tokens:.3g} tokens, every seed; not converged losses")\n'
         'if ref is not None:\n'
         '    res.add(f"fitted loss at N = {n_ref:.3g} (ladder budget)", ref.estimate[0], (ref.low[0], ref.high[0]), None, "nats/token", "headline scale: inside the data")\n'
         'res.add_fit(fit_final, "X_c", "N_c (final loss)", K["N_c"].value, "parameters", "extrapolation to a loss of 1 nat; depends on the tokenizer")\n'
         'for key, f in conv_fits.items():\n'
         '    if f is not None:\n'
         '        res.add_fit(f, "alpha", f"alpha_N (converged sizes, {key})", K["alpha_N"].value, "", f"{len(f.points)} sizes gaining < 1% per doubling of tokens")\n'
         'if nd_single is not None:\n'
         '    res.add_fit(nd_single, "alpha_N", "alpha_N (D->inf limit of Eq. 1.5, single-epoch runs)", paper.KAPLAN["nd_alpha_N"].value, "", f"{len(single)} runs with matched schedules")\n'
         'res.add("sizes meeting the convergence criterion", int(conv.converged.sum()), None, None, "count", f"of {len(conv)}; gain per doubling of tokens < 1% of the loss")\n'
         'if spread.size:\n'
         '    res.add("seed-to-seed sd of the final loss (pooled)", seed_sd, None, None, "nats/token", f"{len(spread)} sizes x {int(spread.seeds.max())} seeds")\n'
         'res.add("N range", final.N.max() / final.N.min(), None, None, "ratio", f"{final.N.min():.3g} to {final.N.max():.3g} parameters")'),
    md("## 5. Is the tuned LR right at the full budget?\nThe LRs were tuned at a quarter of the ladder budget. Two "
       "sizes are trained again at the full budget with that LR ×/÷ √2; if the tuned LR is within the seed noise of "
       "the best of the three, the tuning transfers."),
    code('checks = an.final_table(study.ensure(study.grid("lr_check")))\n'
         'lrc = cv.lr_check_table(checks, final)\ndisplay(lrc)\n'
         'for r in lrc.itertuples():\n'
         '    verdict = "the tuned LR is best" if r.tuned_minus_best <= 0 else (f"a neighbour is {r.tuned_minus_best:.4f} nats better, " + ("within" if np.isfinite(seed_sd) and r.tuned_minus_best <= 2 * seed_sd else "more than") + " twice the seed sd")\n'
         '    print(f"N = {r.N:,.0f}: {verdict}")\n'
         '    res.add(f"LR check at N = {r.N:.0f}: tuned minus best of LR x/÷ sqrt2", r.tuned_minus_best, None, None, "nats/token", "0 = the tuned LR is best")'),
    md("## 6. Embedding vs non-embedding parameters across depths (Kaplan Fig. 6)"),
    code('depth_runs = study.ensure(study.grid("depth"))\n'
         'dfin = an.final_table(pd.concat([depth_runs, runs[runs.tokens == runs.tokens.max()]]) if study.profile.depth_tokens == study.profile.ladder_tokens else depth_runs)\n'
         'dfin = dfin.drop_duplicates("run_id").reset_index(drop=True)\n'
         'dfits, dspread = an.depth_collapse(dfin, n_boot, seed)\ndisplay(dspread)\n'
         'fig, data = an.depth_figure(dfin, dfits)\nan.save(study, fig, data, "01_depth_collapse")\nfig'),
    code('tot, non = dspread.set_index("view").loc["N_total"], dspread.set_index("view").loc["N"]\n'
         'res.add("rms residual, one power law vs total params", tot.rms_residual, None, None, "log-loss", "all depths")\n'
         'res.add("rms residual, one power law vs non-embedding N", non.rms_residual, None, None, "log-loss", "all depths")\n'
         'res.add("mean residual of 1-layer models (non-embedding view)", non.mean_residual_1_layer, None, None, "log-loss", "Kaplan: 1-layer models fall off the trend")'),
    md("## Results"),
    code(RESULTS),
    md("## Interpretation (computed from the numbers above)"),
    code('a = fit_final.params["alpha"]; lo, hi = fit_final.ci["alpha"]\n'
         'pv = K["alpha_N"].value\n'
         'print(f"At a fixed budget of {study.profile.ladder_tokens:.2g} tokens, alpha_N = {an.pm(fit_final, \'alpha\')}; the paper has {pv} for converged models. "\n'
         '      + an.fit_versus_paper(fit_final, "alpha", pv))\n'
         'print(cv.interpret_convergence(conv, conv_fits))\n'
         'if fc is not None:\n'
         '    clo, chi = fc.ci["alpha"]\n'
         '    print(f"Converged sizes only (no 1-layer): alpha_N = {an.pm(fc, \'alpha\')}, over N = {ok.N.min():,.0f} to {ok.N.max():,.0f} only; "\n'
         '          + an.fit_versus_paper(fc, "alpha", pv))\n'
         'if nd_single is not None and nd_single.converged:\n'
         '    print(f"The D→∞ limit of Eq. 1.5 on {len(single)} single-epoch runs gives alpha_N = {an.pm(nd_single, \'alpha_N\')} (paper, same fit: {paper.KAPLAN[\'nd_alpha_N\'].value}).")\n'
         'ratio = tot.rms_residual / non.rms_residual\n'
         'print(f"Depth collapse: residual spread around one power law is {tot.rms_residual:.3f} against total parameters and {non.rms_residual:.3f} against non-embedding N "\n'
         '      f"({ratio:.1f}x {\'tighter\' if ratio > 1 else \'looser\'} without embeddings); 1-layer models sit {non.mean_residual_1_layer:+.3f} in log-loss from the common trend.")'),
    md("## What to try\n- Re-run this notebook with `-p seed 1`: the ladder retrains with another seed; compare α_N.\n"
       "- Raise `long_tokens` in `scalinglaws.experiments` (cpu profile) to push more sizes past the 1% criterion.\n"
       "- Compare the two fits in the figure: the fixed-budget slope is shallower whenever the large models are "
       "further from convergence than the small ones."),
    md("## Appendix: learning-rate sweeps"),
    code('fig, data = an.lr_sweep_figure(study, rule)\nan.save(study, fig, data, "01_appendix_lr_sweep")\nfig'),
])


NB02 = notebook("02", "02 — Dataset size: L(D)", """\
Kaplan et al. 2020 (Sec. 3.2, Fig. 1 middle): a model large enough to be data-limited, trained with early stopping
on a dataset of D tokens, reaches L(D) = (D_c/D)^α_D with α_D ≈ 0.095.

**How we measure it.** One model is trained on nested subsets of D tokens, each repeated for as many epochs as
helps and stopped early on validation loss (patience rule, capped), with Kaplan's 10% dropout. A subset is made of
2,048-token chunks drawn at random across every book (`RunSpec.data_sampling = "chunks"`), so a small D is a
small sample of the whole corpus, not part of one book. Only runs that got past their minimum are fitted; a
run still improving at its cap gives only an upper bound.""", [
    md("## 1. Learning rate (shared sweeps) and the runs"),
    code('rule = study.lr_rule()\nruns = study.ensure(study.grid("dataset_size"))\nfinal = an.reached_minimum(runs)\n'
         'display(final[["N", "data_tokens", "tokens", "epochs", "step", "best_step", "best_val_loss", "final_val_loss", "status", "reached_min", "lr"]])'),
    md("## 2. Learning curves, and where each one was best\nWhat to look for: each curve falls, bottoms out and "
       "rises again as the model starts to memorise its subset; the red marks are the minima. A curve that never "
       "turns up was still improving when its budget ended."),
    code('n_min = int(final.reached_min.sum())\n'
         'print(f"{n_min} of {len(final)} runs got past their minimum ({int((final.status == \'early_stopped\').sum())} stopped early)"\n'
         '      + ("; the others were still improving at their cap, so their best loss is only an upper bound on L(D) and they are not fitted." if n_min < len(final) else "; every point is a minimum."))\n'
         'fig, data = an.early_stop_figure(runs, final)\nan.save(study, fig, data, "02_early_stopping")\nfig'),
    md("## 3. Fit L(D) on the runs that reached their minimum"),
    code('fitted = final[final.reached_min]\n'
         'fit_D = an.try_fit(F.fit_power_law, fitted["data_tokens"], fitted["best_val_loss"], n_boot=n_boot, seed=seed) if len(fitted) >= 3 else None\n'
         'if fit_D is None:\n'
         '    print(f"L(D) not fitted: {len(fitted)} run(s) reached their minimum; a power law needs 3.")\n'
         'fig, (ax, ax2) = P.new_figure(1, 2, figsize=(10, 4))\nrest = final[~final.reached_min]\n'
         'd1 = P.powerlaw_plot(ax, fitted["data_tokens"], fitted["best_val_loss"], fit_D, label_x="D (tokens in the subset)",\n'
         '                     paper_alpha=K["alpha_D"].value, data_label=f"minimum reached, N={final.N.iloc[0]:,}",\n'
         '                     excluded=(rest["data_tokens"], rest["best_val_loss"]), excluded_label="still improving (upper bound)")\n'
         'd2 = P.residual_plot(ax2, fit_D, label_x="D (tokens)") if fit_D is not None else None\n'
         'an.save(study, fig, {"fit": d1, "residuals": d2} if d2 is not None else {"fit": d1}, "02_loss_vs_D")\nfig'),
    md("## 4. Is this model large enough? L(D) is the large-N limit\nNotebook 04 trains the same subsets on "
       "several model sizes. Where the two largest sizes reach the same loss (within 1%), the model size no longer "
       "limits the loss and the point is L(D) itself; where they differ, L(D) lies below the larger model's loss."),
    code('agree = an.large_n_agreement(an.reached_minimum(study.ensure(study.grid("overfitting"))))\ndisplay(agree)'),
    code('if fit_D is not None:\n'
         '    res.add_fit(fit_D, "alpha", "alpha_D", K["alpha_D"].value, "", "L(D)=(D_c/D)^alpha_D, best val loss of runs past their minimum")\n'
         '    res.add_fit(fit_D, "X_c", "D_c", K["D_c"].value, "tokens", "extrapolation to a loss of 1 nat; depends on the tokenizer")\n'
         '    d_ref = float(np.exp(np.log(fitted.data_tokens).mean()))\n'
         '    if an.usable(fit_D):\n'
         '        ref = fit_D.predict_interval(np.array([d_ref]))\n'
         '        res.add(f"fitted L at D = {d_ref:.3g} tokens", ref.estimate[0], (ref.low[0], ref.high[0]), None, "nats/token", "headline scale: inside the data")\n'
         'res.add("model size", final.N.iloc[0], None, None, "parameters (non-embedding)", "one model for every D")\n'
         'res.add("D range", final.data_tokens.max() / final.data_tokens.min(), None, None, "ratio", f"{final.data_tokens.min():.3g} to {final.data_tokens.max():.3g} tokens")\n'
         'res.add("runs past their minimum (fitted)", n_min, None, None, "count", f"of {len(final)}")\n'
         'res.add("subsets where the two largest sizes agree within 1%", int(agree.agree.sum()) if len(agree) else 0, None, None, "count", f"of {len(agree)} subset sizes (notebook 04 grid)")'),
    md("## Results"),
    code(RESULTS),
    md("## Interpretation (computed from the numbers above)"),
    code('pv = K["alpha_D"].value\n'
         'if fit_D is None:\n'
         '    print(f"No L(D) fit: only {n_min} of {len(final)} runs reached their minimum, so this profile does not measure L(D).")\n'
         'else:\n'
         '    print(f"alpha_D = {an.pm(fit_D, \'alpha\')} from {len(fitted)} runs past their minimum; the paper has {pv}. " + an.fit_versus_paper(fit_D, "alpha", pv))\n'
         'big = final.sort_values("data_tokens").iloc[-1]\n'
         'print(f"The largest subset ({big.data_tokens:.3g} tokens) was seen {big.epochs:.2f} times and "\n'
         '      + ("got past its minimum." if big.reached_min else "was still improving at its cap: at that D this model is limited by its size or its steps, not by the data."))\n'
         'if len(agree):\n'
         '    print(f"The two largest sizes agree within 1% at {int(agree.agree.sum())} of {len(agree)} subset sizes"\n'
         '          + (f" (D = {\', \'.join(f\'{d:.3g}\' for d in agree[agree.agree].D)}): there the loss is L(D) in its large-N limit." if agree.agree.any() else "; nowhere is the model large enough for its loss to be L(D) itself."))'),
    md("## What to try\n- `-p seed 1`: another seed for every run; compare α_D with the interval above.\n"
       "- Set `data_sampling=\"prefix\"` on the data profile (scalinglaws.experiments) to see the confound the chunks "
       "remove: a small D that is one book's opening is a different, narrower dataset."),
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
         'print(f"alpha_S = {an.pm(ns_fit, \'alpha_S\')} against the paper\'s {pv}. " + an.fit_versus_paper(ns_fit, "alpha_S", pv))\n'
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

Small differences in N between shapes are corrected with the L(N) slope fitted in notebook 01 (same runs).
The first size's whole grid is trained with three seeds: a penalty smaller than twice the seed-to-seed spread
is "no difference", not a ranking.""", [
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
    md("## 3. Seed noise: which differences are real?\nThe same shapes (first size) with other seeds. The pooled "
       "seed-to-seed sd, in % of the loss, is the floor below which two shapes cannot be told apart."),
    code('seed_specs = [s for s in study.grid("seeds") if s.label.startswith("shape")]\n'
         'seed_runs = an.final_for(seed_specs, study.ensure(seed_specs)) if seed_specs else final.iloc[:0]\n'
         'key = ["n_layer", "d_model", "n_head_eff", "d_ff_eff"]\n'
         'reps = pd.concat([final.drop_duplicates("run_id"), seed_runs.drop_duplicates("run_id")], ignore_index=True)\n'
         'sspread = cv.seed_spread(reps, key)\nnoise_pct = 100 * cv.pooled_sd(sspread) / float(reps.final_val_loss.mean()) if len(sspread) else np.nan\n'
         'display(sspread)\n'
         'print(f"pooled seed-to-seed sd: {noise_pct:.2f}% of the loss over {len(sspread)} shapes" if np.isfinite(noise_pct) else "no seed replicates at this profile")\n'
         'table["distinguishable"] = table["increase_pct"] > 2 * noise_pct if np.isfinite(noise_pct) else True\n'
         'display(table[["kind", "size", "n_layer", "d_model", "increase_pct", "distinguishable"]])\n'
         'if np.isfinite(noise_pct):\n'
         '    res.add("seed-to-seed sd of the loss (pooled over shapes)", noise_pct, None, None, "%", f"{len(sspread)} shapes x {int(sspread.seeds.max())} seeds")'),
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
         '        print(f"{kind}: the worst setting costs {g.increase_pct.max():.1f}% over the best.")\n'
         'if np.isfinite(noise_pct):\n'
         '    tied = table[~table.distinguishable]\n'
         '    print(f"Seed noise: sd {noise_pct:.2f}% of the loss; {len(tied)} of {len(table)} shapes are within twice that of their group\'s best, "\n'
         '          "so their order among themselves is not a ranking" + ("." if len(tied) else " (every penalty here is larger than the noise)."))'),
])


NB04 = notebook("04", "04 — Overfitting: L(N, D) and the D ∝ N^0.74 rule", """\
Kaplan et al. 2020 (Sec. 4, Eq. 1.5, Fig. 9): with early stopping, L(N, D) = [(N_c/N)^(α_N/α_D) + D_c/D]^α_D; the
overfitting penalty δL = L(N, D)/L(N, ∞) − 1 depends on N and D only through N^(α_N/α_D)/D, so keeping it small
needs D ≳ 5·10³·N^0.74.

**How we measure it.** Model sizes × nested data subsets (random 2,048-token chunks across all books, as in
notebook 02), each repeated with 10% dropout until validation loss stops improving (patience rule, capped); plus,
per size, the ladder run that saw fresh data throughout (D = tokens seen). Eq. 1.5 is fitted only on runs that got
past their minimum: a run still improving at its cap is not an early-stopped loss.""", [
    md("## 1. Runs"),
    code('rule = study.lr_rule()\nladder_runs = study.ensure(study.grid("model_size"))\nruns = study.ensure(study.grid("overfitting"))\n'
         'pts = an.nd_points(study, runs, ladder_runs)\ndisplay(pts.pivot_table(index="N", columns="D", values="L"))\n'
         'all_pts, pts = pts, pts[pts.reached_min].copy()  # the fit uses minima only\n'
         'print(f"{len(pts)} of {len(all_pts)} points are minima (or single-epoch runs) and are fitted; "\n'
         '      f"{len(all_pts) - len(pts)} subset runs were still improving at their cap")\n'
         'display(all_pts.pivot_table(index="N", columns="D", values="reached_min"))'),
    md("## 2. Fit Eq. 1.5 jointly"),
    code('nd = an.try_fit(F.fit_kaplan_nd, pts["N"], pts["D"], pts["L"], groups=pts["run_id"], n_boot=n_boot, seed=seed)\n'
         'if nd is not None:\n'
         '    display(nd.summary_frame())\n'
         'fig, (ax, ax2) = P.new_figure(1, 2, figsize=(11, 4.2))\nplotted = []\n'
         'import matplotlib as mpl\nnorm = mpl.colors.LogNorm(all_pts.N.min(), all_pts.N.max())\n'
         'for N, g in all_pts.groupby("N"):\n'
         '    g = g.sort_values("D"); c = mpl.colormaps["viridis"](norm(N)); m = g["reached_min"].astype(bool)\n'
         '    ax.plot(g.D[m], g.L[m], "o", color=c, label=f"N={N:,.0f}")\n'
         '    ax.plot(g.D[~m], g.L[~m], "o", mfc="none", color=c)  # still improving at the cap: not fitted\n'
         '    if nd is not None:\n'
         '        Ds = np.geomspace(all_pts.D.min(), all_pts.D.max(), 60); ax.plot(Ds, nd.predict(np.full_like(Ds, N), Ds), "--", color=c, lw=1)\n'
         '        plotted.append(pd.DataFrame({"N": N, "D": Ds, "L_fit": nd.predict(np.full_like(Ds, N), Ds)}))\n'
         'ax.set_xlabel("D (tokens)"); ax.set_ylabel("early-stopped loss (nats/token)"); P.log_axes(ax); ax.legend(fontsize="x-small", title="open: not at a minimum", title_fontsize="x-small")\n'
         'if nd is not None:\n'
         '    p = nd.params\n'
         '    pts["L_inf"] = (p["N_c"] / pts["N"]) ** p["alpha_N"]\n'
         '    pts["delta_L"] = F.overfit_delta(pts["L"], pts["L_inf"]); pts["x"] = F.collapse_variable(pts["N"], pts["D"], p["alpha_N"], p["alpha_D"])\n'
         '    for N, g in pts.groupby("N"):\n'
         '        ax2.plot(g["x"], g["delta_L"], "o", color=mpl.colormaps["viridis"](norm(N)))\n'
         '    xs = np.geomspace(pts.x.min(), pts.x.max(), 60)\n'
         '    ax2.plot(xs, (1 + xs * p["D_c"] / p["N_c"] ** (p["alpha_N"] / p["alpha_D"])) ** p["alpha_D"] - 1, "k--", lw=1, label="Eq. 1.5")\n'
         '    ax2.set_xscale("log"); ax2.legend(fontsize="small")\n'
         'else:\n'
         '    ax2.text(0.5, 0.5, "Eq. 1.5 not fitted (too few minima, see above)", ha="center", transform=ax2.transAxes)\n'
         'ax2.set_xlabel("N^(α_N/α_D) / D"); ax2.set_ylabel("δL = L(N,D)/L(N,∞) − 1")\n'
         'an.save(study, fig, {"points": all_pts, "fit": pd.concat(plotted, ignore_index=True) if plotted else pd.DataFrame()}, "04_LND")\nfig'),
    md("## 3. This study's overfitting rule"),
    code('rule_d = an.overfit_rule(nd, tolerance=0.02) if nd is not None else None\n'
         'if rule_d is not None:\n'
         '    print(f"dL < 2% needs D >= {rule_d[\'k\']:.3g} * N^{rule_d[\'exponent\']:.2f}  (paper: 5e3 * N^0.74)")\n'
         '    res.add_fit(nd, "alpha_N", "alpha_N (Eq. 1.5)", paper.KAPLAN["nd_alpha_N"].value, "", "joint fit on minima")\n'
         '    res.add_fit(nd, "alpha_D", "alpha_D (Eq. 1.5)", paper.KAPLAN["nd_alpha_D"].value, "", "joint fit on minima")\n'
         '    res.add_fit(nd, "N_c", "N_c (Eq. 1.5)", paper.KAPLAN["nd_N_c"].value, "parameters", "")\n'
         '    res.add_fit(nd, "D_c", "D_c (Eq. 1.5)", paper.KAPLAN["nd_D_c"].value, "tokens", "")\n'
         '    res.add("overfitting rule exponent alpha_N/alpha_D", rule_d["exponent"], rule_d["exponent_ci"], paper.KAPLAN["D_over_N_exponent"].value, "", "D >= k N^exponent keeps dL < 2%")\n'
         '    res.add("overfitting rule coefficient k", rule_d["k"], rule_d["k_ci"], paper.KAPLAN["overfit_D_coef"].value, "tokens", "tolerance 2%")\n'
         'res.add("points fitted (minima or single-epoch)", len(pts), None, None, "count", f"of {len(all_pts)}")'),
    md("## Results"),
    code(RESULTS),
    md("## Interpretation (computed from the numbers above)"),
    code('print(f"{len(pts)} of {len(all_pts)} (N, D) points are minima or single-epoch runs; only those are fitted.")\n'
         'if rule_d is None:\n'
         '    print("Eq. 1.5 was not fitted: too few points reached their minimum, so this profile does not measure L(N, D) or the overfitting rule.")\n'
         'else:\n'
         '    e, (elo, ehi) = rule_d["exponent"], rule_d["exponent_ci"]\n'
         '    print(f"alpha_N/alpha_D = {e:.2f} [{elo:.2f}, {ehi:.2f}] against the paper\'s 0.74. " + an.versus_paper(e, (elo, ehi), 0.74, nd.converged))\n'
         '    spread = float(np.sqrt(np.mean(nd.residuals ** 2)))\n'
         '    print(f"Eq. 1.5 describes the fitted points with an rms log-residual of {spread:.3f}; the collapse plot shows whether all sizes fall on one curve of N^(α_N/α_D)/D.")\n'
         '    for N in sorted(pts.N.unique()):\n'
         '        print(f"  N={N:,.0f}: no more than 2% overfitting needs D >= {rule_d[\'k\'] * N ** e:.3g} tokens")'),
    md("## What to try\n- Lower `data_patience` or raise `nd_max_tokens` (cpu profile): how many more runs reach their minimum?\n"
       "- `-p seed 1`: how much do α_N/α_D and the rule's coefficient move with the seed?"),
])


NB06 = notebook("06", "06 — Compute allocation: the efficient frontier, critical batch size, and the Chinchilla contrast", """\
Kaplan et al. 2020 (Sec. 5–6, Figs. 3, 10–14): the lower envelope of learning curves against compute falls as
L ∝ C_min^−0.050; along it the best model size grows as N_opt ∝ C^0.73, the critical batch size as B_crit ∝ L^−1/0.21,
and extra compute goes mostly into model size (0.73), some into batch (0.24), hardly any into steps (0.03).
Hoffmann et al. 2022 (Chinchilla) found N_opt ∝ C^~0.5 with schedules matched to each budget.

**How we measure it, and the contrast explained.** We compute the allocation exponent a several ways on our own
runs and change one thing at a time: Kaplan-style training (long warmup, a cosine set for 4× the run, an untuned LR
rule) against our tuned runs; Kaplan's counting (non-embedding N, C = 6ND) against the full count (all parameters,
C_full with attention context and de-embedding; at this scale 6ND is only 15–75% of the real FLOPs); the frontier
against IsoFLOP profiles with schedules matched to each budget. Section 5 shows which step moves a, and how far.""", [
    md("## 1. The compute-efficient frontier from the size ladder's learning curves, under both countings"),
    code('rule = study.lr_rule()\nladder = study.ensure(study.grid("model_size"))\nh1 = an.unigram_loss(study)\n'
         'fr = {conv: al.frontier(ladder, conv, h1, n_boot, seed) for conv in al.CONVENTIONS}\n'
         'fig, axes = P.new_figure(1, 2, figsize=(11, 4.2))\nplotted = {}\n'
         'for ax, conv in zip(axes, al.CONVENTIONS):\n'
         '    c = al.CONVENTIONS[conv]["C"]; env = fr[conv]["env"]\n'
         '    P.learning_curves(ax, ladder, x=c, y="val_loss", hue="N", run="run_id", color_label="N (non-embedding)", lw=0.7)\n'
         '    ax.plot(env[c], env["L"], "r-", lw=2, label="frontier"); ax.legend(fontsize="small")\n'
         '    ax.set_xlabel({"C": "C = 6·N·tokens (FLOPs)", "C_full": "C_full incl. context + de-embedding (FLOPs)"}[c]); ax.set_ylabel("validation loss (nats/token)")\n'
         '    plotted[conv] = env\n'
         'an.save(study, fig, plotted, "06_frontier")\nfig'),
    code('# Which frontier points locate the compute-efficient law (F.frontier_fit_rows; both fits use them):\n'
         '# attained (not a stretch where the best loss so far is carried forward), not held by the smallest or largest\n'
         '# size trained (censored), below the unigram entropy (above it models are still learning token frequencies).\n'
         'env, keep = fr["kaplan"]["env"], fr["kaplan"]["keep"]\nfc, fx = env[keep], env[env["attained"] & ~keep]\n'
         'fit_C, fit_Nopt = fr["kaplan"]["fit_C"], fr["kaplan"]["fit_Nopt"]\n'
         'print(f"fitted: {len(fc)} of {len(env)} frontier grid points, held by N = {sorted(set(fc.N.astype(int)))}" + (f", C = {fc.C.min():.2g} to {fc.C.max():.2g} FLOPs" if len(fc) else ""))\n'
         'for f in (fit_C, fit_Nopt):\n'
         '    if f is not None:\n'
         '        display(f.summary_frame())\n'
         'fig, (a1, a2) = P.new_figure(1, 2, figsize=(11, 4))\n'
         'd1 = P.powerlaw_plot(a1, fc["C"], fc["L"], fit_C, label_x="C = 6ND (FLOPs)", paper_alpha=K["alpha_C_min"].value, data_label="frontier (fitted)", excluded=(fx["C"], fx["L"]), excluded_label="frontier, not fitted")\n'
         'd2 = P.powerlaw_plot(a2, fc["C"], fc["N"], fit_Nopt if an.usable(fit_Nopt) else None, label_x="C = 6ND (FLOPs)", label_y="N on the frontier (non-embedding)", param="a", paper_alpha=K["N_opt_exponent"].value, data_label="model on the frontier (fitted)", excluded=(fx["C"], fx["N"]), excluded_label="not fitted")\n'
         'an.save(study, fig, {"L_vs_C": d1, "Nopt_vs_C": d2}, "06_frontier_fits")\nfig'),
    md("## 2. Critical batch size (Kaplan Sec. 5.1)\nOne model at batch sizes spanning 32×, every one with the same "
       "warmup, then a constant LR scaled as √B (checked with ×/÷2 at two batch sizes). For each target loss (below the "
       "unigram plateau, reached by every batch size while the LR is constant) the steps S and tokens E lie on "
       "(S/S_min − 1)(E/E_min − 1) = 1, and B_crit = E_min/S_min. What to look for: small batches need fewer tokens, "
       "large ones fewer steps, and the knee between them moves to larger batches as the loss falls."),
    code('batch_runs = study.ensure(study.grid("batch"))\n'
         'bc, bfits = bs.critical_batch(batch_runs, h1, n_targets=4, n_boot=n_boot, seed=seed)\n'
         'display(bc.drop(columns="points"))\nlrb = bs.lr_check(batch_runs); display(lrb)\n'
         'fig, (a1, a2) = P.new_figure(1, 2, figsize=(11, 4))\nmain = bs.sweep_runs(batch_runs)\n'
         'P.learning_curves(a1, main, x="tokens", y="val_loss", hue="batch_size", run="run_id", color_label="batch (sequences)")\n'
         'for t in bc.target:\n'
         '    a1.axhline(t, color="grey", lw=0.6, ls=":")\n'
         'a1.set_xlabel("tokens processed"); a1.set_ylabel("validation loss (nats/token)")\n'
         'pts = pd.concat(list(bc["points"]), ignore_index=True) if len(bc) else pd.DataFrame(columns=["target", "steps", "examples"])\n'
         'for i, (r, fb) in enumerate(zip(bc.itertuples(), bfits)):\n'
         '    g = pts[pts.target == r.target]\n'
         '    a2.plot(g["steps"], g["examples"], "o", color=f"C{i}", label=f"L={r.target:.2f}: B_crit={r.B_crit:.3g}")\n'
         '    Bs = np.geomspace(g.batch_tokens.min() / 2, g.batch_tokens.max() * 2, 50); S = r.S_min * (1 + r.B_crit / Bs)\n'
         '    a2.plot(S, S * Bs, "-", color=f"C{i}", lw=0.8)  # the fitted hyperbola\n'
         'a2.set_xlabel("optimizer steps S to reach the target"); a2.set_ylabel("tokens E to reach the target")\n'
         'if len(bc):\n'
         '    P.log_axes(a2); a2.legend(fontsize="x-small")\n'
         'else:\n'
         '    a2.text(0.5, 0.5, "no target loss is reached by every batch size\\nbelow the unigram loss while the LR is constant", ha="center", transform=a2.transAxes)\n'
         'an.save(study, fig, pts, "06_critical_batch")\nfig'),
    code('fit_B = an.try_fit(F.fit_bcrit_vs_loss, bc["target"], bc["B_crit"], n_boot=n_boot, seed=seed) if len(bc) >= 3 else None\n'
         'if fit_B is not None:\n'
         '    display(fit_B.summary_frame())\n'
         '    res.add_fit(fit_B, "alpha_B", "alpha_B", K["alpha_B"].value, "", f"B_crit(L) = B*/L^(1/alpha_B) over L = {bc.target.min():.3g} to {bc.target.max():.3g}")\n'
         '    res.add_fit(fit_B, "B_star", "B*", K["B_star"].value, "tokens", "extrapolation to a loss of 1 nat")\n'
         'for r in bc.itertuples():  # a fit without an interval says why\n'
         '    res.add(f"B_crit at L={r.target:.3f}", r.B_crit, (r.B_crit_low, r.B_crit_high), None, "tokens per step", r.note)\n'
         'for r in lrb.itertuples():\n'
         '    res.add(f"batch {r.batch_size}: sqrt(B)-scaled LR minus best of x0.5 / x2", r.scaled_minus_best, None, None, "nats/token", "0 = the scaled LR is best")'),
    md("### The gradient noise scale, and does B_crit depend on the loss or on N?\nMcCandlish et al. (2018) predict "
       "B_crit ≈ B_simple = tr(Σ)/|G|², measured during training from gradient norms at two batch sizes. We record it "
       "in the batch runs, the long runs of notebook 01 and the Kaplan-style ladder (seven sizes), and ask whether, at "
       "equal loss, it still depends on N."),
    code('kap_runs = study.ensure(study.grid("kaplan"))\nlong_runs = study.ensure(study.grid("convergence"))\n'
         'windows = bs.noise_windows(pd.concat([main, kap_runs, long_runs], ignore_index=True))\n'
         'los = bs.loss_or_size(windows, n_boot, seed)\nprint(bs.interpret_loss_or_size(los))\n'
         'fig, ax = P.new_figure(figsize=(6.5, 4.2))\nw = windows.dropna(subset=["B_simple"])\n'
         'if len(w):\n'
         '    sc = ax.scatter(w["L"], w["B_simple"], c=np.log10(w["N"]), s=10, cmap="viridis", label="B_simple (one window of a run)")\n'
         '    fig.colorbar(sc, ax=ax, label="log10 N")\n'
         'if len(bc):\n'
         '    ax.errorbar(bc["target"], bc["B_crit"], yerr=[bc["B_crit"] - bc["B_crit_low"].fillna(bc["B_crit"]), bc["B_crit_high"].fillna(bc["B_crit"]) - bc["B_crit"]], fmt="s", color="C3", label="B_crit from the batch sweep")\n'
         'ax.set_xlabel("validation loss (nats/token)"); ax.set_ylabel("batch size (tokens per step)"); P.log_axes(ax); ax.legend(fontsize="x-small")\n'
         'an.save(study, fig, {"B_simple": windows, "B_crit": bc.drop(columns="points")}, "06_noise_scale")\n'
         'if np.isfinite(los["gamma"]):\n'
         '    res.add("gamma: d log B_simple / d log N at equal loss", los["gamma"], los["gamma_ci"], 0.0, "", f"{los[\'sizes\']} sizes; 0 = depends on the loss alone (Kaplan)")\n'
         '    res.add("alpha_B from B_simple", los["alpha_B"], los["alpha_B_ci"], K["alpha_B"].value, "", "same regression")\nfig'),
    md("### Adjusting steps and compute for the batch size (Kaplan Eqs. 5.4–5.5)\nWith B_crit(L) measured, each "
       "ladder step S counts as S_min = S/(1 + B_crit/B) steps at a very large batch and each C as C_min = C/(1 + B/B_crit) "
       "at a very small one. Kaplan's α_S = 0.76 and α_C^min = 0.050 are on these adjusted axes. B_crit(L) is measured "
       "on one model over the loss range above; applying it to every size assumes Kaplan's claim that it depends on "
       "the loss alone, and outside that range it is extrapolated."),
    code('B_tok = study.profile.batch_size * study.profile.n_ctx\nns_min = fit_Cmin = None\n'
         'if an.usable(fit_B):\n'
         '    lad = ladder[ladder.step > ladder.warmup_steps].copy()\n'
         '    bcrit_l = fit_B.predict(lad["val_loss"].to_numpy(float))\n'
         '    lad["S_min"] = F.s_min_adjust(lad["step"], B_tok, bcrit_l); lad["C_min"] = F.c_min_adjust(lad["C"], B_tok, bcrit_l)\n'
         '    inside = lad.val_loss.between(bc.target.min(), bc.target.max()).mean()\n'
         '    print(f"{100 * inside:.0f}% of the ladder evals after warmup lie inside the loss range where B_crit was measured")\n'
         '    ns_min = an.try_fit(F.fit_kaplan_ns, lad["N"], lad["S_min"], lad["val_loss"], groups=lad["run_id"], n_boot=n_boot, seed=seed)\n'
         '    envm = F.compute_frontier(lad, c_col="C_min", l_col="val_loss", n_col="N", run_col="run_id").rename(columns={"val_loss": "L"})\n'
         '    km = F.frontier_fit_rows(envm, max_loss=h1)\n'
         '    fit_Cmin = an.frontier_loss_fit(envm[km].rename(columns={"C_min": "C"}), n_boot=n_boot, seed=seed)\n'
         '    if an.usable(ns_min):\n'
         '        res.add_fit(ns_min, "alpha_S", "alpha_S (on S_min)", K["alpha_S"].value, "", "Eq. 1.6 with S_min = S/(1 + B_crit(L)/B)")\n'
         '    if an.usable(fit_Cmin):\n'
         '        res.add_fit(fit_Cmin, "alpha", "alpha_C^min (frontier on C_min)", K["alpha_C_min"].value, "", "C_min = C/(1 + B/B_crit(L))")\n'
         'else:\n'
         '    print("No usable B_crit(L) fit, so S and C are not adjusted to S_min and C_min here.")'),
    md("## 3. How to spend more compute (Kaplan Fig. 3 / Eq. 1.7)\nAlong the frontier N_opt ∝ C^a. With L ∝ C^−α_C on the frontier and B_crit ∝ L^−1/α_B, the critical batch "
       "grows as C^(α_C/α_B), and serial steps take the rest: S ∝ C^(1 − a − α_C/α_B)."),
    code('a_N = fit_Nopt.params["a"] if an.usable(fit_Nopt) else np.nan\n'
         'b_B = fit_C.params["alpha"] / fit_B.params["alpha_B"] if an.usable(fit_B) and an.usable(fit_C) else np.nan\n'
         'split = pd.DataFrame({"share": ["model size N", "batch size B", "serial steps S"], "ours": [a_N, b_B, 1 - a_N - b_B],\n'
         '                      "paper": [K["N_opt_exponent"].value, K["B_opt_exponent"].value, K["S_opt_exponent"].value]})\ndisplay(split)\n'
         'if an.usable(fit_C):\n'
         '    res.add_fit(fit_C, "alpha", "alpha_C (frontier, C=6ND, fixed batch)", K["alpha_C_min"].value, "", f"L on the frontier vs C (interior sizes, below the unigram entropy; C {fc.C.min():.2g} to {fc.C.max():.2g}), not adjusted to C_min")\n'
         'if an.usable(fit_Nopt):\n'
         '    res.add_fit(fit_Nopt, "a", "N_opt exponent a (frontier, Kaplan counting)", K["N_opt_exponent"].value, "", "model size on the frontier vs C = 6ND")\n'
         'if an.usable(fr["full"]["fit_Nopt"]):\n'
         '    res.add_fit(fr["full"]["fit_Nopt"], "a", "N_opt exponent a (frontier, full counting)", K["N_opt_exponent"].value, "", "all parameters vs C_full")\n'
         'res.add("B exponent alpha_C/alpha_B", b_B, None, K["B_opt_exponent"].value, "", "derived")\n'
         'res.add("S exponent 1 - a - alpha_C/alpha_B", 1 - a_N - b_B, None, K["S_opt_exponent"].value, "", "derived")'),
    md("## 4. IsoFLOP profiles with matched schedules (Chinchilla Approach 2), under both countings\nEach budget's "
       "runs share their compute exactly under the counting the budget was set in: C = 6ND (left) or C_full (right)."),
    code('iso_specs, isof_specs = study.grid("isoflop"), study.grid("isoflop_full")\n'
         'iso_final = an.final_for(iso_specs, study.ensure(iso_specs))\nisof_final = an.final_for(isof_specs, study.ensure(isof_specs)) if isof_specs else iso_final.iloc[:0]\n'
         'iso, a2fit = al.isoflop(iso_final, "kaplan", n_boot, seed)\n'
         'isof, a2full = al.isoflop(isof_final, "full", n_boot, seed)\n'
         'for f in (a2fit, a2full):\n'
         '    if f is not None:\n'
         '        display(f.summary_frame()); display(f.tables.get("minima"))\n'
         'fig, axes = P.new_figure(1, 2, figsize=(11, 4.2))\n'
         'for ax, (t, ncol, title) in zip(axes, [(iso, "N", "C = 6ND, non-embedding N"), (isof, "N_total", "C_full, all parameters")]):\n'
         '    for i, (C, g) in enumerate(t.groupby("budget")):\n'
         '        g = g.sort_values(ncol); ax.plot(g[ncol], g["final_val_loss"], "o-", color=f"C{i}", label=f"C = {C:.0e}")\n'
         '    ax.set_xlabel(f"N ({title.split(\', \')[1]})"); ax.set_ylabel("final loss (nats/token)"); ax.set_title(title, fontsize="small")\n'
         '    if len(t):\n'
         '        P.log_axes(ax); ax.legend(fontsize="small")\n'
         'an.save(study, fig, {"kaplan": iso[["budget", "N", "N_total", "tokens", "final_val_loss"]], "full": isof[["budget", "N", "N_total", "tokens", "final_val_loss"]] if len(isof) else isof}, "06_isoflop")\nfig'),
    md("Approach 3 fits L = E + A/N^α + B/D^β. Its irreducible loss E is identified only when each N is seen at "
       "several D; here every single-epoch run with a schedule matched to its length enters: both IsoFLOP grids, the "
       "ladder, the long runs and each size's best LR-sweep run (up to 3 budgets per size)."),
    code('lad = an.final_table(ladder)\nsweep_best = rule.sweeps.dropna(subset=["final_val_loss"]).sort_values("final_val_loss").drop_duplicates(["n_layer", "d_model"])\n'
         'matched = pd.concat([iso, isof, lad, an.final_table(long_runs), sweep_best], ignore_index=True).drop_duplicates("run_id")\n'
         'print(f"{len(matched)} runs over {matched.N.nunique()} sizes, {matched.groupby(\'N\').tokens.nunique().median():.0f} budgets per size (median)")\n'
         'a3fit = F.chinchilla_approach3(matched["N"], matched["tokens"], matched["final_val_loss"], n_boot=n_boot, seed=seed)\n'
         'display(a3fit.summary_frame())\n'
         'if a2fit is not None:\n'
         '    res.add_fit(a2fit, "a", "a (Approach 2, IsoFLOP, C=6ND)", paper.CHINCHILLA["a_approach2"].value, "", "N_opt ∝ C^a, schedules matched")\n'
         'if a2full is not None:\n'
         '    res.add_fit(a2full, "a", "a (Approach 2, IsoFLOP, C_full)", paper.CHINCHILLA["a_approach2"].value, "", "all parameters, budgets in full FLOPs")\n'
         'a3_ok, a3_why = an.approach3_reliable(a3fit)  # whether its numbers may be used for claims\n'
         'a3_units = {"E": "nats/token", "A": "nats/token x parameters^alpha", "B": "nats/token x tokens^beta"}\n'
         'for name in ["alpha", "beta", "E", "A", "B", "a"]:  # A and B too: `scalinglaws predict --laws cpu` reads them\n'
         '    res.add_fit(a3fit, name, f"{name} (Approach 3)", paper.CHINCHILLA[name if name != "a" else "a_approach3"].value, a3_units.get(name, ""),\n'
         '                f"L = E + A/N^alpha + B/D^beta on {len(matched)} runs with matched schedules" + ("" if a3_ok else f" [not reliable here: {a3_why}]"))'),
    md("## 5. Why Kaplan and Chinchilla disagree, one change at a time\nThe same question (how fast should N grow "
       "with compute?) answered five ways, from Kaplan's setting to Chinchilla's. Each row changes one thing."),
    code('kap_fr = al.frontier(kap_runs, "kaplan", h1, n_boot, seed)  # no runs at this profile: nothing fitted\n'
         'steps = pd.DataFrame([\n'
         '    al.exponent_row("1. Kaplan-style training, frontier, Kaplan counting", kap_fr["fit_Nopt"], "a", "warmup 25% of steps, cosine set for 4x the run, untuned LR rule"),\n'
         '    al.exponent_row("2. tuned training, frontier, Kaplan counting", fit_Nopt, "a", "LR tuned per size, cosine set for the run itself, warmup <= 5%"),\n'
         '    al.exponent_row("3. tuned training, frontier, full counting", fr["full"]["fit_Nopt"], "a", "all parameters, C_full"),\n'
         '    al.exponent_row("4. IsoFLOP with matched schedules, Kaplan counting", a2fit, "a", "Chinchilla Approach 2, C = 6ND"),\n'
         '    al.exponent_row("5. IsoFLOP with matched schedules, full counting", a2full, "a", "Chinchilla Approach 2, C_full"),\n'
         '])\ndisplay(steps)\nprint(al.interpret_ablation(steps))\n'
         'fig, ax = P.new_figure(figsize=(7.5, 4))\nok = steps[np.isfinite(steps.a)]\n'
         'ax.errorbar(ok.index + 1, ok["a"], yerr=[(ok["a"] - ok["a_low"]).fillna(0), (ok["a_high"] - ok["a"]).fillna(0)], fmt="o", color="k")\n'
         'ax.axhline(K["N_opt_exponent"].value, color="C0", ls="--", lw=1, label="Kaplan 0.73"); ax.axhline(paper.CHINCHILLA["a_approach2"].value, color="C3", ls="--", lw=1, label=f"Chinchilla {paper.CHINCHILLA[\'a_approach2\'].value}")\n'
         'ax.set_xticks(range(1, len(steps) + 1)); ax.set_xlabel("analysis (see the table above)"); ax.set_ylabel("a in N_opt ∝ C^a"); ax.legend(fontsize="small")\n'
         'an.save(study, fig, steps, "06_contrast")\n'
         'for r in steps.itertuples():\n'
         '    if np.isfinite(r.a):\n'
         '        res.add(f"a: {r.analysis}", r.a, (r.a_low, r.a_high), None, "", r.how)\nfig'),
    md("## 6. The practical promise: predict the final loss, and allocate a budget"),
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
         'ax.set_xlabel("C = 6ND (FLOPs)"); ax.set_ylabel("compute-optimal N (non-embedding parameters)")\n'
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
         'print(bs.interpret_loss_or_size(los))\n'
         'print("How the allocation exponent moves from Kaplan\'s setting to Chinchilla\'s:")\nprint(al.interpret_ablation(steps))'),
    md("## What to try\n- `-p seed 1` retrains every run with another seed: which rows of the contrast table move?\n"
       "- Add budgets to `iso_full_budgets` (cpu profile) for a longer IsoFLOP lever arm.\n"
       "- In `Profile`, set `kaplan_warmup_frac` to 0.05 and re-run: how much of step 1 → 2 is the warmup?"),
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
