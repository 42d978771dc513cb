"""Fast path of the LTC semi-implicit solver: sparse synapses, fused unfolds, analytic backward.

Notation (one LTC step of length ``dt`` split into ``U`` unfolds; Hasani et al., "Liquid time-constant
networks", AAAI 2021, eq. 3 fused solver)::

    x_k   = v @ G + negsm                      # [B, K]   sigma_k * (v_src(k) - mu_k), one column per synapse
    s_k   = sigmoid(x_k)                        # [B, K]
    nd    = s @ A + bias_t                      # [B, 2N]  A = [w*E scattered to dst | w scattered to dst]
    P     = nd[:, :N] + cm_t * v                # numerator
    Q     = nd[:, N:]                           # denominator (bias holds cm_t + gleak + sensory + eps)
    v'    = P / Q

Only existing synapses are evaluated (``K`` columns instead of ``N*N``), and the sensory synapses, which
do not depend on the state, are evaluated for the whole sequence beforehand by the caller (``bias``).

The backward pass walks the unfolds in reverse with six small kernels per unfold and defers every
parameter gradient to a few large matrix products over all unfolds at the end.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable


class SemiImplicitLTCFunction(torch.autograd.Function):
    """Autograd function for ``T`` LTC steps of ``U`` fused semi-implicit unfolds each."""

    @staticmethod
    def forward(ctx, v0: Tensor, g: Tensor, negsm: Tensor, a: Tensor, bias: Tensor, cmt: Tensor,
                keep: Tensor, unfolds: int) -> Tensor:
        """Run the recurrence.

        Args:
            v0: initial state [B, N].
            g: [N, K] gather-and-scale matrix (sigma of synapse k in row src(k)).
            negsm: [K], ``-sigma_k * mu_k``.
            a: [K, 2N] scatter matrix to (numerator, denominator).
            bias: [T, B, 2N] per-step additive terms (leak, sensory synapses, cm_t, epsilon).
            cmt: [T, B, N] ``cm / (dt / U)``.
            keep: [T, B, 1] 0/1 reset mask (0 = episode start), or an empty tensor for none.
            unfolds: U.

        Returns:
            States after each step, [T, B, N].
        """
        t_len, b, n2 = bias.shape
        n, k_syn, u_n = n2 // 2, g.shape[1], unfolds
        has_keep = keep.numel() > 0
        s_all = v0.new_empty(t_len * u_n, b, k_syn)
        nd_all = v0.new_empty(t_len * u_n, b, n2)
        v_all = v0.new_empty(t_len * u_n, b, n)
        v = v0
        for t in range(t_len):
            if has_keep:
                v = v * keep[t]
            c, bt = cmt[t], bias[t]
            for u in range(u_n):
                k = t * u_n + u
                s = torch.addmm(negsm, v, g, out=s_all[k])
                s.sigmoid_()
                nd = torch.addmm(bt, s, a, out=nd_all[k])
                num = nd[:, :n]
                num.addcmul_(c, v)
                v = torch.div(num, nd[:, n:], out=v_all[k])
        ctx.unfolds = u_n
        ctx.has_keep = has_keep
        ctx.save_for_backward(v0, g, a, cmt, keep, s_all, nd_all, v_all)
        return v_all[u_n - 1::u_n].clone()

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out: Tensor):  # type: ignore[override]
        v0, g, a, cmt, keep, s_all, nd_all, v_all = ctx.saved_tensors
        u_n, has_keep = ctx.unfolds, ctx.has_keep
        tu, b, n = v_all.shape
        t_len, k_syn = tu // u_n, g.shape[1]
        # With gQ' = -gQ stored, gs = [gP, gQ'] @ [A1, -A2]^T.
        a_bwd_t = torch.cat([a[:, :n], -a[:, n:]], 1).t().contiguous()
        g_t = g.t().contiguous()
        ds_all = s_all - s_all * s_all
        gnd = v_all.new_empty(tu, b, 2 * n)
        gx_all = v_all.new_empty(tu, b, k_syn)
        gv = torch.zeros_like(v0)
        for t in range(t_len - 1, -1, -1):
            gv = gv + grad_out[t]
            c = cmt[t]
            for u in range(u_n - 1, -1, -1):
                k = t * u_n + u
                gp = torch.div(gv, nd_all[k, :, n:], out=gnd[k, :, :n])
                torch.mul(gp, v_all[k], out=gnd[k, :, n:])
                gs = torch.mm(gnd[k], a_bwd_t)
                gx = torch.mul(gs, ds_all[k], out=gx_all[k])
                gv = torch.addmm(gp * c, gx, g_t)
            if has_keep:
                gv = gv * keep[t]
        # States entering each unfold (masked at step starts).
        v_in = torch.cat([v0.unsqueeze(0), v_all[:-1]], 0)
        if has_keep:
            v_in = v_in.view(t_len, u_n, b, n).clone()
            v_in[:, 0] = v_in[:, 0] * keep
            v_in = v_in.view(tu, b, n)
        gx_flat = gx_all.view(-1, k_syn)
        gnd_flat = gnd.view(-1, 2 * n)
        grad_g = v_in.reshape(-1, n).t() @ gx_flat
        grad_negsm = gx_flat.sum(0)
        grad_a = s_all.view(-1, k_syn).t() @ gnd_flat
        grad_a[:, n:] *= -1
        grad_bias = gnd.view(t_len, u_n, b, 2 * n).sum(1)
        grad_bias[..., n:] *= -1
        grad_cmt = (gnd[..., :n] * v_in).view(t_len, u_n, b, n).sum(1)
        return gv, grad_g, grad_negsm, grad_a, grad_bias, grad_cmt, None, None


@torch.no_grad()
def semi_implicit_step_inference(v: Tensor, x_syn_bias: Tensor, cmt: Tensor, g: Tensor, negsm: Tensor,
                                 a: Tensor, unfolds: int) -> Tensor:
    """One LTC step without autograd (closed-loop inference).

    Args:
        v: state [B, N].
        x_syn_bias: [B, 2N] step bias (leak, sensory synapses, epsilon) *without* ``cm_t``.
        cmt: ``cm / (dt / U)``, [N] or [B, N].
        g, negsm, a: as in :class:`SemiImplicitLTCFunction`.
        unfolds: U.

    Returns:
        Next state [B, N] (a new tensor).
    """
    n = v.shape[1]
    x_syn_bias[:, n:] += cmt
    for _ in range(unfolds):
        s = torch.addmm(negsm, v, g).sigmoid_()
        nd = torch.addmm(x_syn_bias, s, a)
        v = nd[:, :n].addcmul_(cmt, v).div_(nd[:, n:])
    return v.contiguous()
