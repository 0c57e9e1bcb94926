"""Random batches of graphs, and the partition of a batch computed graph by graph, for the
tests that a partition does not depend on the batch a graph comes in."""
import torch


def random_batch(sizes, avg_degree, seed):
    """Random undirected graphs with the given numbers of nodes, as one batch:
    ``(edge_index, num_nodes, batch)``. Small sizes give many symmetric nodes (leaves on the
    same hub, twins), whose ties are where padding used to change a result."""
    g = torch.Generator().manual_seed(seed)
    eis, off = [], 0
    for n in sizes:
        m = max(1, n * avg_degree // 2)
        src, dst = torch.randint(0, n, (m,), generator=g), torch.randint(0, n, (m,), generator=g)
        keep = src != dst
        e = torch.stack([src[keep], dst[keep]])
        eis.append(torch.cat([e, e.flip(0)], 1) + off)
        off += n
    batch = torch.cat([torch.full((n,), i, dtype=torch.long) for i, n in enumerate(sizes)])
    return torch.cat(eis, 1), off, batch


def partition_graph_by_graph(partition, edge_index, num_nodes, batch, **kwargs):
    """``partition(edge_index, n, batch=None, **kwargs)`` run on each graph alone, the groups
    numbered on in the batch's order: what the batched call must return."""
    parts, offset = [], 0
    for gi in range(int(batch.max()) + 1):
        nodes = (batch == gi).nonzero().view(-1)
        first = int(nodes[0])
        inside = (edge_index[0] >= first) & (edge_index[0] <= int(nodes[-1]))
        cluster, k = partition(edge_index[:, inside] - first, nodes.numel(), **kwargs)
        parts.append(cluster + offset)
        offset += k
    return torch.cat(parts), offset
