"""scalinglaws: a small, reproducible companion to Kaplan et al. 2020.

The flow, one direction:
corpus (datasets) -> tokenizer (tokenizers) -> token cache (memmap) -> RunSpec -> train_run
(transformers GPT-2, torch) -> run folder -> store DataFrame -> fits (SciPy) -> figures -> notebook.
"""

__version__ = "0.1.0"


class ScalingLawsError(Exception):
    """An error a user can fix; the CLI prints its message as one line, without a traceback."""


_LAZY = {
    "RunSpec": ("training.spec", "RunSpec"),
    "train_run": ("training.loop", "train_run"),
    "ensure_runs": ("store.ensure", "ensure_runs"),
    "load_runs": ("store.tables", "load_runs"),
    "prepare_tokens": ("data.tokens", "prepare_tokens"),
}


def __getattr__(name):
    # Lazy, so `import scalinglaws` stays cheap (torch is imported only when training).
    if name in _LAZY:
        import importlib

        mod, attr = _LAZY[name]
        return getattr(importlib.import_module(f"{__name__}.{mod}"), attr)
    raise AttributeError(f"module 'scalinglaws' has no attribute {name!r}")
