"""thesis_ml: small PyTorch models, trained and compared through a Snakemake pipeline.

Notebook entry points: :func:`thesis_ml.config.compose` to build a config and
:func:`thesis_ml.train.train_test.train` to run it.
"""

__version__ = "0.1.0"
