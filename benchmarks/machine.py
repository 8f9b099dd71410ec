"""What machine a benchmark ran on, for its results file (CPU kinds differ ~2.5x in speed here)."""

from scalinglaws.study.estimate import cpu_model  # noqa: F401  (one definition: the library's cost estimate uses it too)
