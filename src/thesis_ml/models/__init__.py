"""Model builders: the supervised models (``model.kind``, :mod:`.registry`), the autoencoder and
its parts (``phase1.encoder.kind``, ``phase1.decoder.kind``, :mod:`.autoencoder`).

Importing this package costs nothing: ``activations`` is read by the config schemas, which must
not import torch.
"""
