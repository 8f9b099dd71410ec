"""One run, trained: RunSpec (spec, lr, schedule), the model (model, lstm, loss), the loop (trainer, loop,
batched, grouping, branches), evaluation, and the run-folder format every reader checks (run_folder)."""
