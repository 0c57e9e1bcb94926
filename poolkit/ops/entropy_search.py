r"""The greedy search of SEP's coding tree: merge and combine operations on the table of
modules that lower the structural entropy most, in chunks of graphs of similar size, and
a refinement that moves single nodes between modules.
"""
from __future__ import annotations

import math

import numpy as np
import torch

__all__ = ['refine_entropy']


def _module_cost(big_v, g, log_vol):
    r"""The part of ``vol · H`` that depends on the partition, module by module:
    :math:`(V - g)\log_2 V + g\log_2 vol`, since
    :math:`vol\cdot H = -\sum_i d_i\log_2 d_i + \sum_j [(V_j - g_j)\log_2 V_j + g_j\log_2 vol]`
    (numpy arrays; ``log_vol`` is :math:`\log_2 vol`, a number or an array that broadcasts;
    ``0 log 0 = 0``)."""
    logv = np.log2(big_v, out=np.zeros_like(big_v), where=big_v > 0)
    return (big_v - g) * logv + g * log_vol


class _EntropySearch:
    """The state of :func:`_entropy_search` and its steps: the tables are built once and
    updated where a step changed them; :meth:`run` takes merges (:meth:`merge_step`) and
    moves (:meth:`move_step`) until every search is done."""

    def __init__(self, label, w, d, sizes=None, max_rounds: int = 50):
        label = np.array(label, dtype=np.int64)
        s_all, n = label.shape
        self.label, self.w, self.d, self.n, self.max_rounds = label, w, d, n, max_rounds
        self.sizes = np.full(s_all, n) if sizes is None else np.asarray(sizes)
        vol = d.sum(1)
        self.log_vol = np.array([math.log2(v) if v > 0 else 0.0 for v in vol.tolist()])
        self.tol = 1e-9 * vol
        self.ar = np.arange(n)
        inf = np.inf
        es, ei, ej = np.nonzero(w)  # the edges of every search, in order
        ew = w[es, ei, ej]
        summed = self._summed
        self.t = summed((es * n + ei) * n + label[es, ej], ew, (s_all, n, n))
        self.big_v = summed((np.arange(s_all)[:, None] * n + label).ravel(), d.ravel(), (s_all, n))
        self.between = summed((es * n + label[es, ei]) * n + label[es, ej], ew, (s_all, n, n))
        self.g = self.big_v - np.diagonal(self.between, axis1=1, axis2=2)
        self.cost = _module_cost(self.big_v, self.g, self.log_vol[:, None])  # [search, module]
        self.upper = np.triu(np.ones((n, n), dtype=bool), 1)
        self.merge = np.full((s_all, n, n), inf)  # entropy change of merging modules a < b
        self.join = np.full((s_all, n, n), inf)  # ... of node i joining module c (without leaving its own)
        self.leave = np.zeros((s_all, n))  # ... of node i leaving its module
        # the minimum of every row of merge and join (and a column where it is): the best step is
        # found from these, O(n) per search, and only the chosen row is scanned for its column
        self.merge_min, self.merge_at = np.full((s_all, n), inf), np.zeros((s_all, n), dtype=np.int64)
        self.join_min, self.join_at = np.full((s_all, n), inf), np.zeros((s_all, n), dtype=np.int64)
        self.phase = np.zeros(s_all, dtype=np.int8)  # 0 merging, 1 moving, 2 done
        self.changed = np.zeros(s_all, dtype=bool)
        self.rounds = np.zeros(s_all, dtype=np.int64)
        self.moves = np.zeros(s_all, dtype=np.int64)

    @staticmethod
    def _summed(index, weights, shape):  # (bincount of nothing is an integer array)
        return np.bincount(index, weights=weights, minlength=math.prod(shape)).astype(np.float64, copy=False).reshape(shape)

    def row_minima(self, table, low, at, e, se, r, c, vals):
        """Write ``vals`` at ``(e[se], r, c)`` of an all-``inf`` table, and the minimum of every
        row with a column where it is, from the entries alone (they come in row order)."""
        n, inf = self.n, np.inf
        table[e] = inf
        table[e[se], r, c] = vals
        low[e], at[e] = inf, 0
        if not vals.size:
            return
        key = se * n + r
        start = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
        low_seg = np.minimum.reduceat(vals, start)
        seg = np.repeat(np.arange(start.size), np.diff(np.r_[start, key.size]))
        first = np.flatnonzero(vals == low_seg[seg])
        first = first[np.r_[True, seg[first][1:] != seg[first][:-1]]]  # the lowest column per row
        low[e[se[start]], r[start]] = low_seg
        at[e[se[first]], r[first]] = c[first]

    def merge_table(self, e):
        big_v, g, between, cost, log_vol = self.big_v, self.g, self.between, self.cost, self.log_vol
        # only adjacent pairs (B > 0) can merge: the entries are computed there only
        se, r, c = np.nonzero(self.upper & (between[e] > 0))
        q = e[se]
        pair = _module_cost(big_v[q, r] + big_v[q, c], g[q, r] + g[q, c] - 2 * between[q, r, c], log_vol[q])
        self.row_minima(self.merge, self.merge_min, self.merge_at, e, se, r, c, pair - cost[q, r] - cost[q, c])

    def leave_costs(self, e, nodes=None):
        """The cost of leaving, for every node of the searches ``e`` or, with ``nodes``
        (``[|e|, n]`` mask), for those only."""
        big_v, g, t, d, log_vol = self.big_v, self.g, self.t, self.d, self.log_vol
        se, i = np.nonzero(np.ones((e.size, self.n), dtype=bool) if nodes is None else nodes)
        q = e[se]
        a = self.label[q, i]
        va, ga, dm = big_v[q, a], g[q, a], d[q, i]
        # leave module a: V - d_i, g - d_i + 2 k_ia
        self.leave[q, i] = _module_cost(va - dm, ga - dm + 2 * t[q, i, a], log_vol[q]) - _module_cost(va, ga, log_vol[q])

    def join_table(self, e):
        big_v, g, t, d, log_vol = self.big_v, self.g, self.t, self.d, self.log_vol
        # join module c: V + d_i, g + d_i - 2 k_ic, for the modules a node has an edge to
        se, i, c = np.nonzero((t[e] > 0) & (self.ar != self.label[e][:, :, None]))
        q = e[se]
        new = _module_cost(big_v[q, c] + d[q, i], g[q, c] + d[q, i] - 2 * t[q, i, c], log_vol[q])
        self.row_minima(self.join, self.join_min, self.join_at, e, se, i, c, new - self.cost[q, c])

    def rescan(self, table, low, at, s, cols):
        """Row minima after the columns ``cols`` (one list per search) of ``table`` changed. A row
        whose minimum was in such a column and went up there is scanned again; the others only
        compare with the new entries (the rest of the row did not change)."""
        low_s, at_s = low[s], at[s]
        hit = np.zeros((s.size, self.n), dtype=bool)
        for col in cols:
            new = table[s, :, col]
            was = at_s == col[:, None]
            hit |= was & (new > low_s)
            take = (new < low_s) | (was & (new <= low_s))
            low_s = np.where(take, new, low_s)
            at_s = np.where(take, col[:, None], at_s)
        low[s], at[s] = low_s, at_s
        rs, rj = np.nonzero(hit)
        if rs.size:
            rows = table[s[rs], rj]
            low[s[rs], rj], at[s[rs], rj] = rows.min(-1), rows.argmin(-1)

    def join_column(self, s, c):
        big_v, g, t, d, log_vol = self.big_v, self.g, self.t, self.d, self.log_vol
        tc, ds = t[s, :, c], d[s]  # [k, n]
        new = _module_cost(big_v[s, c][:, None] + ds, g[s, c][:, None] + ds - 2 * tc, log_vol[s, None])
        self.join[s, :, c] = np.where((tc > 0) & (self.label[s] != c[:, None]), new - self.cost[s, c][:, None], np.inf)

    def merge_step(self, m):
        """(1) In every search of ``m`` (merging), merge the two adjacent modules whose merge
        lowers the entropy most; a search where no merge does starts moving nodes."""
        label, t, between, big_v, g, cost = self.label, self.t, self.between, self.big_v, self.g, self.cost
        merge, merge_min, merge_at, log_vol, ar, inf = self.merge, self.merge_min, self.merge_at, self.log_vol, self.ar, np.inf
        row = merge_min[m].argmin(1)  # the lowest row holding the lowest entry, as a flat argmin
        ok = merge_min[m, row] < -self.tol[m]
        s, a = m[ok], row[ok]
        if s.size:
            b = merge[s, a].argmin(-1)
            lab = label[s]
            label[s] = np.where(lab == b[:, None], a[:, None], lab)
            t[s, :, a] += t[s, :, b]
            t[s, :, b] = 0
            between[s, a, :] += between[s, b, :]
            between[s, :, a] += between[s, :, b]
            between[s, b, :] = 0
            between[s, :, b] = 0
            big_v[s, a] += big_v[s, b]
            big_v[s, b] = 0
            g[s, a] = big_v[s, a] - between[s, a, a]
            g[s, b] = 0
            cost[s] = _module_cost(big_v[s], g[s], log_vol[s, None])
            # the pairs with a, in the order of terms of merge_table; none with b any more
            ca, cx, bx = cost[s, a][:, None], cost[s], between[s, a]
            pair = _module_cost(big_v[s, a][:, None] + big_v[s], g[s, a][:, None] + g[s] - 2 * bx, log_vol[s, None])
            merge[s, a, :] = np.where((bx > 0) & (ar > a[:, None]), pair - ca - cx, inf)
            merge[s, :, a] = np.where((bx > 0) & (ar < a[:, None]), pair - cx - ca, inf)
            merge[s, b, :] = inf
            merge[s, :, b] = inf
            merge_min[s, b] = inf
            merge_min[s, a], merge_at[s, a] = merge[s, a].min(-1), merge[s, a].argmin(-1)
            self.rescan(merge, merge_min, merge_at, s, [a, b])
            self.changed[s] = True
        stop = m[~ok]
        if stop.size:
            self.phase[stop] = 1
            self.moves[stop] = 0
            self.leave_costs(stop)
            self.join_table(stop)

    def move_step(self, m):
        """(2) In every search of ``m`` (moving), move the one node whose move to a
        neighbouring module lowers the entropy most; a search where no move does (or that
        made ``n²`` moves) ends its round, and starts another if the round changed something."""
        label, t, between, big_v, g, cost, d = self.label, self.t, self.between, self.big_v, self.g, self.cost, self.d
        leave, join, join_min = self.leave, self.join, self.join_min
        # min over c of fl(leave_i + join_ic) is fl(leave_i + min_c join_ic): rounding is monotone
        total = leave[m] + join_min[m]
        row = total.argmin(1)
        ok = total[np.arange(m.size), row] < -self.tol[m]
        s, i = m[ok], row[ok]
        if s.size:
            c = (leave[s, i][:, None] + join[s, i]).argmin(-1)
            a = label[s, i]
            di, own_i, to_c = d[s, i], t[s, i, a], t[s, i, c]
            g[s, a] += 2 * own_i - di
            g[s, c] += di - 2 * to_c
            big_v[s, a] -= di
            big_v[s, c] += di
            cost[s] = _module_cost(big_v[s], g[s], self.log_vol[s, None])
            wi, ti = self.w[s, :, i], t[s, i, :]  # node i's edges, and its weight to every module before
            t[s, :, a] -= wi
            t[s, :, c] += wi
            between[s, :, c] += ti  # B + Oᵀ W Δ + Δᵀ W O with Δ = e_i (e_c - e_a)ᵀ (no self-loops)
            between[s, :, a] -= ti
            between[s, c, :] += ti
            between[s, a, :] -= ti
            label[s, i] = c
            self.changed[s] = True
            self.moves[s] += 1
            self.leave_costs(s, (label[s] == a[:, None]) | (label[s] == c[:, None]))  # the others did not change
            self.join_column(s, a)
            self.join_column(s, c)
            self.rescan(join, join_min, self.join_at, s, [a, c])
        end = np.concatenate([m[~ok], s[self.moves[s] >= self.sizes[s] ** 2]])
        if end.size:  # end of a round: another one if it changed something
            again = end[self.changed[end] & (self.rounds[end] + 1 < self.max_rounds)]
            self.rounds[end] += 1
            self.phase[end] = 2
            self.phase[again] = 0
            self.changed[again] = False
            if again.size:
                self.merge_table(again)

    def run(self):
        self.merge_table(np.arange(self.label.shape[0]))
        while True:
            m = np.flatnonzero(self.phase == 0)
            if m.size:
                self.merge_step(m)
            m = np.flatnonzero(self.phase == 1)
            if not m.size:
                if not (self.phase == 0).any():
                    break
                continue
            self.move_step(m)
        return self.label, self.cost.sum(1)


def _entropy_search(label, w, d, sizes=None, max_rounds: int = 50):
    """:func:`refine_entropy` for ``S`` searches at once: ``label`` ``[S, n]``, ``w``
    ``[S, n, n]`` (symmetric, zero diagonal), ``d`` ``[S, n]`` (numpy, float64); ``sizes``
    the real number of nodes of each search (padding nodes have degree 0 and never move).
    Every search takes the same steps as it would alone; the searches only share the numpy
    calls. Nothing is recomputed from scratch after a step: the weight ``T`` from every node
    to every module, the weight ``B`` between modules, the volumes ``V``, the cuts ``g``, and
    the tables of what every merge and every move would change are updated where the step
    changed them (a merge of ``b`` into ``a``: the pairs with ``a`` or ``b``; a move from ``a``
    to ``c``: the moves into ``a`` or ``c`` and the cost of leaving for the members of ``a``
    and ``c``), with the same arithmetic as a full recomputation. Only where a search changes
    phase is a table built anew: the move tables when its merges end, the merge table when a
    new round starts. Returns the labels ``[S, n]`` and, for every search,
    ``vol · H`` up to the partition-independent term (the sum of :func:`_module_cost`)."""
    return _EntropySearch(label, w, d, sizes, max_rounds).run()


def refine_entropy(label, w, d, max_rounds: int = 50):
    """Lower the structural entropy of one graph's partition ``label`` by (1) merging, while
    some merge lowers it, the two adjacent modules whose merge lowers it most, and (2)
    moving, while some move lowers it, the one node whose move to a neighbouring module
    lowers it most; (1) and (2) repeat until neither changes anything (ties: lowest index).
    ``w`` is the symmetric weight matrix and ``d`` the degrees (numpy or torch, float64);
    returns the labels as a tensor. :func:`_entropy_search` runs many of these at once."""
    w = np.asarray(w, dtype=np.float64)[None]
    d = np.asarray(d, dtype=np.float64)[None]
    return torch.from_numpy(_entropy_search(np.asarray(label)[None], w, d, max_rounds=max_rounds)[0][0])
