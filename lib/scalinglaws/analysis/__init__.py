"""Each notebook's analysis, one module per finding (model_size, data_limits, shape, overfitting,
sample_efficiency, allocation, critical_batch, convergence, generalization, context_and_lstm,
prediction_exercise), the helpers they share (common), plots, and the published-vs-re-run comparison (compare)."""
