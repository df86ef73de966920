"""Tokenizers: what an autoencoder's decoder sees of the encoder's latent (``phase1.tokenizer``).

``base`` holds the interface, ``registry`` the kinds, ``codes`` their level counts (no torch:
the pipeline reads them while it builds the DAG), and one module per tokenizer.
"""
