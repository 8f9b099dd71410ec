"""Fits run with one BLAS thread: OpenBLAS's multithreaded kernels sum in a thread-dependent order, so
the same fit could differ in its last digits between machines with different core counts."""

from __future__ import annotations

import ctypes
import functools
from contextlib import contextmanager
from typing import Any, Callable

from scipy.optimize import least_squares  # noqa: F401 - loads scipy's own OpenBLAS, for /proc/self/maps below


@functools.lru_cache(maxsize=1)
def _openblas_thread_controls() -> tuple[tuple[Any, Any], ...]:
    """(get, set) thread-count functions of every OpenBLAS loaded in this process (Linux only).

    The optimisers here work on 2-7 parameters. OpenBLAS nevertheless wakes its thread pool for
    the tiny factorisations inside L-BFGS-B and least_squares, which made each iteration about
    6x slower (150 us vs 27 us on a 2-core machine). numpy and scipy wheels each bundle their
    own OpenBLAS (symbols prefixed ``scipy_``), so we find them in /proc/self/maps.
    """
    try:
        with open("/proc/self/maps") as fh:
            paths = sorted({ln.split()[-1] for ln in fh if "openblas" in ln and ln.split()[-1].startswith("/")})
    except OSError:
        return ()
    controls = []
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix in ("scipy_openblas", "openblas"):
            for suffix in ("", "64_"):
                get = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
                set_ = getattr(lib, f"{prefix}_set_num_threads{suffix}", None)
                if get is not None and set_ is not None:
                    controls.append((get, set_))
    return tuple(controls)


@contextmanager
def _single_thread_blas():
    controls = _openblas_thread_controls()
    before = [get() for get, _ in controls]
    for _, set_ in controls:
        set_(1)
    try:
        yield
    finally:
        for (_, set_), n in zip(controls, before):
            set_(n)


def blas_serial(fn: Callable) -> Callable:
    """Run a fit with OpenBLAS limited to one thread (restored afterwards)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with _single_thread_blas():
            return fn(*args, **kwargs)

    return wrapper
