"""The run store: train what a study lacks (ensure), on this machine (executors) or a Slurm cluster (slurm), and
read finished runs as tables (tables)."""
