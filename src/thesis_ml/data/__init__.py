"""Synthetic data with a known ground truth, and DataLoader-like iteration over tensors."""

from thesis_ml.data.loaders import TensorLoader
from thesis_ml.data.synthetic import Dataset, generate_dataset, load_dataset, make_dataloaders

__all__ = ["Dataset", "TensorLoader", "generate_dataset", "load_dataset", "make_dataloaders"]
