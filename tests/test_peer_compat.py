"""The torch_scatter stand-in that lets tgp run without its compiled extension."""
import sys

import pytest
import torch
from torch_geometric.utils import scatter as pyg_scatter

from poolkit import peer_compat


@pytest.mark.parametrize("reduce", ["sum", "mean", "min", "max", "mul"])
@pytest.mark.parametrize("dim", [0, -2])
def test_stand_in_scatter_equals_pyg(reduce, dim):
    g = torch.Generator().manual_seed(0)
    src, index = torch.randn(7, 3, generator=g), torch.tensor([0, 2, 2, 0, 4, 2, 0])
    got = peer_compat._scatter(src, index, dim=dim, dim_size=6, reduce=reduce)
    assert torch.allclose(got, pyg_scatter(src, index, dim=0, dim_size=6, reduce=reduce))
    empty = torch.ones(3, 3) if reduce == "mul" else torch.zeros(3, 3)   # as torch_scatter fills them
    assert got.shape == (6, 3) and torch.equal(got[[1, 3, 5]], empty)


def test_stand_in_accumulates_into_out_and_rejects_unknown_reductions():
    src, index = torch.ones(4, 2), torch.tensor([0, 1, 1, 1])
    out = torch.full((2, 2), 10.0)
    assert torch.equal(peer_compat._scatter(src, index, 0, out=out, reduce="sum"), torch.tensor([[11.0, 11.0], [13.0, 13.0]]))
    with pytest.raises(ValueError, match="reduce must be"):
        peer_compat._scatter(src, index, 0, reduce="median")


def test_install_registers_the_module_only_when_torch_scatter_is_missing(monkeypatch):
    try:
        import torch_scatter  # noqa: F401
        real = not getattr(torch_scatter, "__version__", "") == "stand-in"
    except ImportError:
        real = False
    if real:
        assert peer_compat.install_torch_scatter_stand_in() is False
        return
    monkeypatch.delitem(sys.modules, "torch_scatter", raising=False)
    assert peer_compat.install_torch_scatter_stand_in() is True
    import torch_scatter

    values, arg = torch_scatter.scatter_max(torch.tensor([1.0, 5.0, 2.0]), torch.tensor([0, 0, 1]))
    assert torch.equal(values, torch.tensor([5.0, 2.0])) and arg is None
    assert peer_compat.install_torch_scatter_stand_in() is False          # already importable now


def test_old_module_name_is_an_alias():
    import poolkit.testing as old

    assert old.install_torch_scatter_stand_in is peer_compat.install_torch_scatter_stand_in
    assert old.MetAsSparseTensor is peer_compat.MetAsSparseTensor
