r"""Random DiffPool and random MinCut (Mesquita, Souza and Kaski, NeurIPS 2020):
``random_diffpool``, ``random_mincut``.

.. math::  S = \mathrm{softmax}(\tilde S),\qquad \tilde S_{ik} \sim \mathcal U(a, b),\
           \mathcal N(\mu, \sigma^2) \text{ or } \mathcal B(\alpha),

drawn once and never trained (``invariant=True``: :math:`S = \mathrm{softmax}(XW)` with a
fixed random ``W``); Reduce and Connect are DiffPool's (and MinCut's normalisation for
``random_mincut``); no auxiliary loss.
"""
from __future__ import annotations

from typing import Dict, Optional

import torch
from torch import Tensor

from poolkit.poolers.soft.diffpool import diffpool_losses
from poolkit.poolers.soft.mincut import mincut_losses
from poolkit.src import DensePooler, SelectOutput, check_positive_int, register

__all__ = ['random_matrix', 'RandomDiffPool', 'RandomMinCutPool', 'RandomMinCut']


DISTRIBUTIONS = ("uniform", "normal", "bernoulli")


def random_matrix(shape, distribution: str = "uniform", generator: Optional[torch.Generator] = None,
                  low: float = 0.0, high: float = 1.0, mean: float = 0.0, std: float = 1.0, p: float = 0.3) -> Tensor:
    r"""A matrix with i.i.d. entries from :math:`\mathcal U(low, high)`, :math:`\mathcal N(mean, std^2)`
    or :math:`\mathcal B(p)` (the three distributions of the paper's Eq. 6)."""
    if distribution not in DISTRIBUTIONS:
        raise ValueError(f"distribution must be one of {DISTRIBUTIONS}, got {distribution!r}")
    if distribution == "uniform":
        if not high > low:
            raise ValueError(f"high must be larger than low, got low={low}, high={high}")
        return low + (high - low) * torch.rand(shape, generator=generator)
    if distribution == "normal":
        if not std > 0:
            raise ValueError(f"std must be > 0, got {std}")
        return mean + std * torch.randn(shape, generator=generator)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must lie in [0, 1], got {p}")
    return torch.bernoulli(torch.full(shape, float(p)), generator=generator)


def _generator(seed: Optional[int]) -> Optional[torch.Generator]:
    return None if seed is None else torch.Generator().manual_seed(int(seed))


# --------------------------------------------------------------------------- random assignments
@register("random_diffpool")
class RandomDiffPool(DensePooler):
    r"""DiffPool with a fixed random assignment, ``S = softmax(S̃)`` (never trained).

    Args:
        k: number of supernodes.
        max_nodes: rows of ``S̃`` (the largest graph it can pool); needed unless ``invariant``.
        in_channels: feature size, needed when ``invariant`` (``S = softmax(X W)``, ``W`` is
            ``[in_channels, k]``).
        distribution: ``"uniform"`` (``U(low, high)``), ``"normal"`` (``N(mean, std²)``) or
            ``"bernoulli"`` (``B(p)``).
        invariant: use ``S = softmax(X W)`` with a fixed random ``W`` (permutation invariant).
        seed: seed of the random matrix (``None``: torch's global generator).
        with_losses: also return the auxiliary losses of the pooler it replaces (DiffPool's
            ``link`` and ``entropy``, MinCut's ``cut`` and ``ortho``) to compare them with a
            learned ``S``; off by default because the paper trains without them.

    Accepts PyG input ``(x, edge_index, batch)`` or a dense batch ``(x [B, N, F], adj, mask)``
    and returns a dense :class:`PoolingOutput` (``x`` ``[B, k, F]``, ``adj`` ``[B, k, k]``).
    """

    is_trainable = False
    has_aux_loss = False
    needs_adj = False  # a random S pools features without any adjacency

    @classmethod
    def example_kwargs(cls, in_channels, k=4, edge_channels=3, max_nodes=64):
        return {"k": k, "max_nodes": max_nodes, "seed": 0}

    def __init__(self, k: int, max_nodes: Optional[int] = None, in_channels: Optional[int] = None,
                 distribution: str = "uniform", invariant: bool = False, low: float = 0.0, high: float = 1.0,
                 mean: float = 0.0, std: float = 1.0, p: float = 0.3, seed: Optional[int] = None,
                 with_losses: bool = False):
        super().__init__()
        self.k = check_positive_int(k, "k")
        self.with_losses = bool(with_losses)
        self.distribution = distribution
        self.invariant = bool(invariant)
        gen = _generator(seed)
        kw = dict(low=low, high=high, mean=mean, std=std, p=p)
        if self.invariant:
            self.in_channels = check_positive_int(in_channels, "in_channels")
            self.max_nodes = None
            self.register_buffer("weight", random_matrix((self.in_channels, self.k), distribution, gen, **kw))
        else:
            self.max_nodes = check_positive_int(max_nodes, "max_nodes")
            self.in_channels = in_channels
            self.register_buffer("s_tilde", random_matrix((self.max_nodes, self.k), distribution, gen, **kw))

    def logits(self, x: Tensor) -> Tensor:
        """``S̃`` (or ``X W``) for a dense batch ``x`` ``[B, N, F]``: ``[B, N, k]``."""
        b, n, f = x.shape
        if self.invariant:
            if f != self.in_channels:
                raise ValueError(f"x has {f} features but in_channels={self.in_channels}")
            return x @ self.weight.to(x.dtype)
        if n > self.max_nodes:
            raise ValueError(f"a graph has {n} nodes but max_nodes={self.max_nodes}; build the pooler with a larger max_nodes")
        return self.s_tilde[:n].to(x.dtype).unsqueeze(0).expand(b, n, self.k)

    def select(self, x: Tensor, adj: Optional[Tensor] = None, mask: Optional[Tensor] = None, **kwargs) -> SelectOutput:
        s = torch.softmax(self.logits(x), dim=-1)
        if mask is not None:
            s = s * mask.unsqueeze(-1).to(s.dtype)
        return SelectOutput.from_dense(s, mask)

    loss_fn = staticmethod(diffpool_losses)  # the losses of the pooler it replaces

    def losses(self, adj: Optional[Tensor], so: SelectOutput, adj_pool: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """The replaced pooler's losses, with ``with_losses`` and an adjacency; none otherwise."""
        if not self.with_losses or adj is None:
            return {}
        return self.loss_fn(adj, so.s, so.mask)

    def extra_repr(self) -> str:
        return f"k={self.k}, distribution={self.distribution!r}, invariant={self.invariant}"


@register("random_mincut")
class RandomMinCutPool(RandomDiffPool):
    r"""MinCutPool with a fixed random assignment: ``S = softmax(S̃)``, ``X' = Sᵀ X`` and
    ``A' = D^{-1/2} (Sᵀ A S − diag) D^{-1/2}`` (MinCutPool's connect). The paper's
    ``N``-MINCUTPOOL uses ``distribution="normal"``, the default here."""

    def __init__(self, k: int, max_nodes: Optional[int] = None, in_channels: Optional[int] = None,
                 distribution: str = "normal", **kwargs):
        super().__init__(k, max_nodes=max_nodes, in_channels=in_channels, distribution=distribution, **kwargs)

    normalize_adj = True  # MinCutPool's connect

    loss_fn = staticmethod(mincut_losses)


RandomMinCut = RandomMinCutPool  # the old name, kept for one release
