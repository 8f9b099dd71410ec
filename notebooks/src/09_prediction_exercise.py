# Source of notebooks/09_prediction_exercise.ipynb (jupytext "percent" format: each "# %%" starts a cell).
# Edit here, then: .venv/bin/python notebooks/make_notebooks.py 09

# %% [markdown]
# # 09 — Predict the compute-optimal model on a budget (an exercise with an answer key)
#
# **The task.** Spend a small compute budget on runs of your choice, fit a scaling law, and predict for a budget
# **ten times larger** the model size N (non-embedding) and the final validation loss it reaches; then check. Stanford's
# CS336 (assignment 3) sets this with a private API; here every run is a real model trained on your machine.
#
# **The rules.**
# * Each run is charged its real compute, C_full (attention context and de-embedding included, as in notebook 06),
#   with Kaplan's 6·N·D beside it: at these sizes 6ND is only 15-75% of it.
# * A request past your budget is refused before anything trains, with what is left.
# * Runs are content addressed: one you paid for is free again; one already in the store that you have not asked for
#   is not retrained but *is* charged once (reuse saves time, not compute).
# * Shapes (n_layer, d_model) come from the list below (or a target N: the nearest shape), lengths in tokens or
#   `flops=`. Each run's cosine is set for its own length, its peak LR from the study's sweeps (notebook 01).
#
# **The answer key.** An IsoFLOP slice at the target budget (sizes at equal C_full, each for its own tokens), trained
# once into runs/cpu, so checking is instant; its seed-to-seed spread shows which differences are real. Levels:
# `quick` (a class; minutes), `cpu` (twice the compute); `smoke` only checks the code (its key trains on the fly, its
# numbers mean nothing). Everything printed is computed from the runs; there is no worked solution.
# [How to read the notebooks](../docs/teaching.md#how-to-read-the-notebooks).

# %% tags=["parameters"]
profile: str = "quick"  # the exercise level: smoke | quick | cpu (scalinglaws.exercise.LEVELS)
runs_dir: str = ""  # your run store; empty means <repo>/runs/exercise-<level> (git-ignored)
figures_dir: str = ""  # folder for figures and NN_results.json; empty means <repo>/figures/<profile>
workers: int = 0  # training worker processes; 0 means automatic layout (scalinglaws.store.executors.auto_layout)
device: str = "cpu"  # cpu | cuda | auto
seed: int = 0  # model initialisation and data order of every run
corpus: str = ""  # empty means the corpus of the profile (gutenberg); or a local path, or hub:<dataset id>
n_boot: int = 0  # bootstrap resamples per fit; 0 means the default of the profile; -1 means none (point estimates only, no intervals)
scale: float = 0.0  # multiply every token budget (gpu users with more time); 0 means no change
executor: str = "local"  # local | slurm (runs as Slurm job arrays; options: $SCALINGLAWS_SLURM_CONFIG, see docs/slurm.md)


# %%
from IPython.display import Image, display
from scalinglaws import fit as F  # noqa: F401 - the fits for your experiments (section 3)
from scalinglaws.exercise import Budget, BudgetError, Prediction, check, get_level, train_key
from scalinglaws.runner import start_notebook

# Checks the parameters above (a mistyped papermill -p name stops here), then binds the study (profile, figures
# folder), the results record of this notebook and the plot style.
study, res, n_boot = start_notebook("09", globals())
level = get_level(study.profile.name)  # the exercise level is the profile's name


# %% [markdown]
# ## 1. How much compute do you have, and what does each shape cost?

# %%
budget = Budget(profile=level.name, runs_dir=runs_dir or None, workers=study.workers)
if study.is_smoke:
    # smoke only: its key is in no committed store, so it is trained here, beside your runs (seconds)
    train_key(level.name, budget.key_dir, workers=study.workers)
print(budget)
shapes = budget.shapes
shapes["tokens for a tenth of the budget"] = (budget.flops / 10 / shapes["C_full_per_token"]).round(-3)
shapes["6N / C_full"] = (shapes["C_6ND_per_token"] / shapes["C_full_per_token"]).round(2)
display(shapes)

# %% [markdown]
# ## 2. What does one run cost, in C_full and in 6·N·D?
#
# The smallest shape for a quarter of the budget, charged C_full from its metrics beside what 6·N·D says; then a
# request for more than is left, refused before training.

# %%
first = shapes.iloc[0]
budget.train(int(first["n_layer"]), int(first["d_model"]), flops=budget.flops / 4)
display(budget.runs)
print(f"spent {budget.spent:.3g} of {budget.flops:.3g} FLOPs; {budget.left:.3g} left")
try:
    budget.train(int(first["n_layer"]), int(first["d_model"]), flops=2 * budget.left)
except BudgetError as e:
    print(e)

# %% [markdown]
# ## 3. Your experiments: how will you spend the rest?
#
# ```python
# budget.train(2, 32, tokens=300_000)               # one run: shape and tokens
# budget.train(n_params=2e4, flops=1e10)            # the shape nearest N = 2e4, for 1e10 FLOPs (C_full)
# budget.train_many([{"n_layer": l, "d_model": d, "flops": 1e10} for l, d in [(1, 16), (2, 24), (3, 40)]])
# budget.runs                                       # your runs: N, D, C_full, C_6ND, requested_flops, loss
# ```
#
# `train_many` trains its runs side by side and refuses the whole request if it does not fit. The library's fits
# take these columns directly (`help(F.chinchilla_approach2)`, `help(F.fit_power_law)`; notebooks 06 and 06b use them):
#
# ```python
# F.chinchilla_approach2(budget.runs, n_col="N", c_col="requested_flops", l_col="loss")   # IsoFLOP minima -> N_opt(C)
# F.fit_power_law(runs["N"], runs["loss"])                                                 # L(N) at one budget
# ```
#
# Decide how many budgets and sizes, how to split the compute, which law to fit, and how to get a *loss* at the
# target, not only a size. Runs of very few optimizer steps mostly measure the warmup.

# %%
# your experiments here


# %% [markdown]
# ## 4. How close is your prediction to the answer key?
#
# Write your prediction for C_full = 10 × your budget as `Prediction(n_params=..., loss=...)` (or
# `shape=(n_layer, d_model)`). Until you do, the cell below checks a *placeholder*, a baseline to beat: your
# lowest-loss run as if trained again at the target budget with the loss it reached at yours.

# %%
prediction = None  # Prediction(n_params=..., loss=...)

# %%
if prediction is None:
    best = budget.runs.loc[budget.runs["loss"].idxmin()]
    checked = Prediction(n_params=float(best["N"]), loss=float(best["loss"]))
    print(f"placeholder (not a prediction): N = {checked.n_params:,.0f}, loss {checked.loss:.4f}")
else:
    checked = prediction
result = check(checked, level.name, key_dir=budget.key_dir, figures_dir=study.figures_dir)
print(result)
display(result.key.slice)
display(Image(filename=str(result.figure["png"])))

# %% [markdown]
# **What to look for:** the slice's points (loss against N at equal compute, log axes) bottom out at the key's
# compute-optimal size, and the grey key curve gives the regret; the dashed line is your N, the square the loss it
# reaches at the target, the star your predicted loss. A regret or loss error inside the shaded band (best loss ±
# two seed sd) is not resolved by the key.

# %%
s = result.score
res.add("answer key: compute-optimal N (minimum of the key curve)", s["best_N"], units="non-embedding params",
        note=f"IsoFLOP slice at C_full = {result.key.flops:.3g}")
res.add("answer key: best loss", s["best_loss"], units="nats/token")
res.add("answer key: seed-to-seed sd of the best size", result.key.noise_sd, units="nats/token",
        note=f"{len(result.key.seeds)} seeds")
res.add("answer key: sizes on the slice", len(result.key.slice))
what = "placeholder" if prediction is None else "your prediction"
res.add(f"{what}: N", s["N"], units="non-embedding params")
res.add(f"{what}: regret", s["regret"] if s["inside"] else None, units="nats/token",
        note="" if s["inside"] else "N outside the key's sizes: not scored")
res.add(f"{what}: loss error (predicted minus reached)", s["loss_error"] if s["inside"] else None, units="nats/token")
res.add("experiment budget spent", budget.spent, units="FLOPs (C_full)", note=f"of {budget.flops:.3g}")
res.save()
display(res.frame())

# %% [markdown]
# ## Questions
#
# 1. How much of your regret is within the key's noise? Would a second seed of your runs have changed your choice?
# 2. Your experiments ran 10-100× below the target. Which of your fitted exponents would you trust over that
#    extrapolation, and why?
# 3. Count your compute in 6·N·D instead of C_full and redo the fit. Does the predicted N move, and which way?
# 4. Was it better to spend the budget on many small runs (IsoFLOP slices) or a few larger ones? Argue from your numbers.
