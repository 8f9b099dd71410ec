"""What a study trains: the profiles (grids and budgets), the Study plan with its LR sweeps (plan, tuning), and
its cost on this machine before anything is trained (estimate)."""
