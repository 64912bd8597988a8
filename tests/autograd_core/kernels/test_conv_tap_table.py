"""The tap-table im2col / col2im (``_im2col_table``, ``_col2im_table``) and their rule.

The tables replace the row-loop kernels for strided convs and small planes; they must
give bit-identical results (same copies, same sums in the same order), match the
reference loops and PyTorch in float64 to 1e-10, and be chosen by the shapes alone.
"""

import numpy as np
import pytest

from autograd_core.kernels import conv as K
from tests.reference.conv import conv2d_backward_ref, conv2d_ref

# (N, C, H, W, OC, k, stride, padding, dilation, groups): ResNet-like strided 3x3 and
# 1x1 shortcuts, small planes, odd sides, asymmetric strides, dilation, groups
CASES = [
    (3, 4, 12, 12, 5, 3, 2, 1, 1, 1),
    (2, 3, 9, 7, 4, 3, 2, 0, 1, 1),
    (2, 4, 11, 10, 6, 3, (2, 3), (1, 2), 1, 1),
    (2, 3, 4, 4, 5, 3, 1, 1, 1, 1),  # 4x4 plane, stride 1
    (2, 4, 5, 6, 3, 3, 1, 1, 1, 1),  # 5x6 plane, stride 1
    (2, 4, 10, 10, 4, 3, 1, 2, 2, 1),  # dilated
    (3, 6, 8, 8, 4, 1, 2, 0, 1, 1),  # 1x1 stride-2 shortcut
    (2, 6, 9, 9, 4, 3, 2, 1, 1, 2),  # grouped
    (9, 2, 8, 8, 3, 3, 2, 1, 1, 1),  # more samples than lanes
    (1, 3, 15, 13, 4, 3, 2, 1, 1, 1),  # batch 1: lanes inside the sample
]


def _arrays(rng, case, dtype):
    N, C, H, W, OC, k, s, p, d, g = case
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    w = rng.standard_normal((OC, C // g, k, k)).astype(dtype)
    b = rng.standard_normal(OC).astype(dtype)
    return x, w, b


def _all(x, w, b, s, p, d, g, chunk_bytes=None):
    out = K.conv2d_forward(x, w, b, s, p, d, g, chunk_bytes=chunk_bytes)
    go = np.random.default_rng(7).standard_normal(out.shape).astype(x.dtype)
    return [out, *K.conv2d_backward(go, x, w, s, p, d, g, chunk_bytes=chunk_bytes)], go


@pytest.mark.parametrize("case", CASES)
def test_rule_takes_the_table(case):
    N, C, H, W, OC, k, s, p, d, g = case
    geo = K.conv_geometry((N, C, H, W), (OC, C // g, k, k), s, p, d, g)
    assert K._use_tap_table(geo)


@pytest.mark.parametrize("chunk_bytes", [None, 2048])
@pytest.mark.parametrize("case", CASES)
def test_bit_identical_to_row_loops(monkeypatch, case, chunk_bytes):
    # small chunks cut samples into partial rows: the tables' [a, b) ranges are used
    rng = np.random.default_rng(3)
    x, w, b = _arrays(rng, case, np.float32)
    s, p, d, g = case[6:]
    got, _ = _all(x, w, b, s, p, d, g, chunk_bytes)
    monkeypatch.setattr(K, "TAP_TABLE_MAX_ENTRIES", -1)  # the row loops
    want, _ = _all(x, w, b, s, p, d, g, chunk_bytes)
    for a, c in zip(got, want):
        assert a.dtype == c.dtype and np.array_equal(a, c)


@pytest.mark.parametrize("case", CASES)
def test_matches_reference_loops(case):
    rng = np.random.default_rng(4)
    x, w, b = _arrays(rng, case, np.float64)
    s, p, d, g = case[6:]
    (out, gx, gw, gb), go = _all(x, w, b, s, p, d, g)
    pair = lambda v: v if isinstance(v, tuple) else (v, v)  # noqa: E731
    ref = conv2d_ref(x, w, b, pair(s), p, pair(d), g)
    np.testing.assert_allclose(out, ref, rtol=1e-10, atol=1e-10)
    rgx, rgw, rgb = conv2d_backward_ref(go, x, w, pair(s), p, pair(d), g)
    for a, c in ((gx, rgx), (gw, rgw), (gb, rgb)):
        np.testing.assert_allclose(a, c, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("case", CASES)
def test_matches_torch(torch_or_skip, case):
    torch = torch_or_skip
    rng = np.random.default_rng(5)
    x, w, b = _arrays(rng, case, np.float64)
    s, p, d, g = case[6:]
    (out, gx, gw, gb), go = _all(x, w, b, s, p, d, g)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    tout = torch.nn.functional.conv2d(tx, tw, tb, s, p, d, g)
    tout.backward(torch.tensor(go))
    for a, t in ((out, tout), (gx, tx.grad), (gw, tw.grad), (gb, tb.grad)):
        np.testing.assert_allclose(a, t.detach().numpy(), rtol=1e-10, atol=1e-10)


def test_rule_depends_on_shapes_alone():
    def geo(H, k=3, s=1, p=1, C=64):
        return K.conv_geometry((32, C, H, H), (C, C, k, k), s, p)

    # stride-1 'same' planes of 8x8 and more keep the single-span kernel
    assert not K._use_tap_table(geo(8)) and not K._use_tap_table(geo(32))
    assert K._use_tap_table(geo(4)) and K._use_tap_table(geo(7))
    assert K._use_tap_table(geo(32, s=2)) and K._use_tap_table(geo(8, k=1, s=2, p=0))
    # col2im only up to 8x8 output planes
    assert not K._use_tap_table_col2im(geo(32, s=2))  # 16x16 out
    assert K._use_tap_table_col2im(geo(16, s=2)) and K._use_tap_table_col2im(geo(4))
    # the table's size is bounded: huge strided planes keep the row loops
    assert not K._use_tap_table(geo(1024, s=2, C=1))


def test_tap_table_entries():
    geo = K.conv_geometry((1, 1, 5, 4), (1, 1, 3, 3), 2, 1)
    table = K._tap_table(geo)
    assert table.shape == (9, geo.OH * geo.OW) and not table.flags.writeable
    for i in range(3):
        for j in range(3):
            for oh in range(geo.OH):
                for ow in range(geo.OW):
                    h, w = oh * 2 + i - 1, ow * 2 + j - 1
                    want = h * 4 + w if 0 <= h < 5 and 0 <= w < 4 else -1
                    assert table[i * 3 + j, oh * geo.OW + ow] == want
    assert K._tap_table(geo) is table  # cached per geometry
