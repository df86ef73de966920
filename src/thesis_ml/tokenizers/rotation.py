"""The rotation trick (Fifty et al. 2024, arXiv 2410.06424): a VQ gradient estimator.

Straight-through hands the decoder's gradient at the code q to the encoder output e unchanged.
The rotation trick instead treats q as ``s R e``, with R the rotation taking the direction of e
to that of q and s = ||q|| / ||e||, both held constant: the gradient reaching e is ``s R^T``
times the one at q, so the outputs of one code's cell get different gradients, by their angle
to the code, where straight-through gives them all the same one.
R is the pair of reflections of the paper's section 4.2, applied without forming a matrix:
``R x = x - 2 (x.w) w + 2 (x.u) q_hat`` with u, q_hat the unit e, q and w = unit(u + q_hat).
Its gradient equals vector-quantize-pytorch's ``rotate_to``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

# Smallest norm divided by (vector-quantize-pytorch's): a zero vector gets a zero direction.
NORM_EPS = 1e-6


def rotation_trick(vectors: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
    """``codes`` in the forward pass; backward, the gradient reaches ``vectors`` (rows, each
    quantized to the row of ``codes`` beside it) through the constant rotation and rescaling
    that map each one to its code. ``codes`` gets no gradient from it, as from straight-through.
    """
    detached, codes = vectors.detach(), codes.detach()
    vector_norms = detached.norm(dim=1, keepdim=True).clamp(min=NORM_EPS)
    code_norms = codes.norm(dim=1, keepdim=True)
    directions = detached / vector_norms
    code_directions = codes / code_norms.clamp(min=NORM_EPS)
    mirror = F.normalize(directions + code_directions, dim=1, eps=NORM_EPS)
    rotated = (
        vectors
        - 2 * (vectors * mirror).sum(dim=1, keepdim=True) * mirror
        + 2 * (vectors * directions).sum(dim=1, keepdim=True) * code_directions
    )
    rescaled = rotated * (code_norms / vector_norms)
    # rescaled equals codes up to rounding; adding its zero difference makes the forward exact
    return codes + (rescaled - rescaled.detach())
