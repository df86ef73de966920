"""Datasets: the generators ``data.kind`` selects (:mod:`.registry`), the bounds on what can be
learnt from them (:mod:`.bounds`, NumPy only), and batches over in-memory tensors."""
