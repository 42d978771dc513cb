/* Compiled kernels for the LTC fused semi-implicit solver (see ltc_native.py, ltc_fused.py).
 *
 * Synapses are given as lists: synapse k goes from neuron src[k] to neuron dst[k] with
 *   x_k = sig_k * v_src + negsm_k,  s_k = sigmoid(x_k),
 *   num_dst += we_k * s_k  (we = w * E),  den_dst += w_k * s_k.
 * One unfold: v_i' = (bias_num_i + num_i + cmt_i * v_i) / (bias_den_i + den_i),
 * where bias_den already contains cm_t + gleak + sensory + epsilon.
 *
 * Sequence kernels use a batch-innermost layout ([.., N, B]) so that the loops over the batch
 * vectorise; the single-step kernel is row-major [B, N].
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SIGMOID_CLAMP_F 80.0f
#define SIGMOID_CLAMP_D 700.0
/* Reductions over the batch keep LANES partial sums, added in a fixed order at the end: the loops
 * vectorise without -ffast-math and the result does not depend on the machine's vector width. */
#define LANES 16

/* exp(x) for |x| <= 87 from plain arithmetic, so that gcc vectorises the loops calling it while keeping
 * IEEE semantics (libm's expf is only vectorised under -ffast-math). x = n ln2 + r with n = round(x/ln2)
 * and |r| <= ln2/2 (ln2 split in two so that n * LN2_HI is exact); exp(r) is the Taylor series to r^7
 * (truncation < 1e-8 relative, below float rounding); 2^n is assembled in the exponent bits. About 1 ulp;
 * NaN propagates. */
static inline float exp_f32(float x) {
    const float round_magic = 12582912.0f; /* 1.5 * 2^23: adding it rounds to the nearest integer */
    const float LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f, LOG2E = 1.44269504f;
    float t = x * LOG2E + round_magic;
    float n = t - round_magic;
    float r = (x - n * LN2_HI) - n * LN2_LO;
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    int32_t bits;
    memcpy(&bits, &t, sizeof bits);
    bits = (bits - 0x4B400000 + 127) * (1 << 23); /* the low bits of t hold n */
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

#define DEFINE_KERNELS(T, SUF, EXP, CLAMP)                                                          \
static inline T sigm_##SUF(T x) {                                                                   \
    x = x > CLAMP ? CLAMP : (x < -CLAMP ? -CLAMP : x);                                               \
    return (T)1 / ((T)1 + EXP(-x));                                                                 \
}                                                                                                   \
                                                                                                    \
/* Forward over a sequence. Shapes: v0 [N,B]; bias [TT,2N,B]; cmt [TT,N,B]; keep [TT,B] or NULL;     \
 * outputs s_all [TT*U,K,B], q_all [TT*U,N,B], v_all [TT*U,N,B]. */                                   \
int ltc_forward_##SUF(int64_t TT, int64_t B, int64_t N, int64_t K, int64_t U, const T *v0,          \
                      const int64_t *src, const int64_t *dst, const T *sig, const T *negsm,          \
                      const T *we, const T *w, const T *bias, const T *cmt, const T *keep,           \
                      T *s_all, T *q_all, T *v_all) {                                                \
    T *cur = (T *)malloc(sizeof(T) * N * B * 2);                                                    \
    if (!cur) return 1;                                                                             \
    T *num = cur + N * B;                                                                           \
    memcpy(cur, v0, sizeof(T) * N * B);                                                             \
    for (int64_t t = 0; t < TT; ++t) {                                                              \
        const T *bt = bias + t * 2 * N * B, *ct = cmt + t * N * B;                                  \
        if (keep) {                                                                                 \
            const T *kt = keep + t * B;                                                             \
            for (int64_t i = 0; i < N; ++i)                                                         \
                for (int64_t b = 0; b < B; ++b) cur[i * B + b] *= kt[b];                            \
        }                                                                                           \
        for (int64_t u = 0; u < U; ++u) {                                                           \
            int64_t k = t * U + u;                                                                  \
            T *S = s_all + k * K * B, *Q = q_all + k * N * B, *V = v_all + k * N * B;               \
            memcpy(num, bt, sizeof(T) * N * B);                                                     \
            memcpy(Q, bt + N * B, sizeof(T) * N * B);                                               \
            for (int64_t j = 0; j < K; ++j) {                                                       \
                const T *restrict vs = cur + src[j] * B;                                            \
                T *restrict nd = num + dst[j] * B, *restrict qd = Q + dst[j] * B;                   \
                T *restrict sj = S + j * B;                                                         \
                const T a = sig[j], c = negsm[j], e = we[j], g = w[j];                              \
                for (int64_t b = 0; b < B; ++b) {                                                   \
                    T s = sigm_##SUF(a * vs[b] + c);                                                \
                    sj[b] = s;                                                                      \
                    nd[b] += e * s;                                                                 \
                    qd[b] += g * s;                                                                 \
                }                                                                                   \
            }                                                                                       \
            for (int64_t i = 0; i < N * B; ++i) V[i] = (num[i] + ct[i] * cur[i]) / Q[i];            \
            memcpy(cur, V, sizeof(T) * N * B);                                                      \
        }                                                                                           \
    }                                                                                               \
    free(cur);                                                                                      \
    return 0;                                                                                       \
}                                                                                                   \
                                                                                                    \
/* Backward. grad_out [TT,N,B]; outputs (zero-initialised by the caller): gv0 [N,B], gsig, gnegsm,  \
 * gwe, gw [K]; gbias [TT,2N,B]; gcmt [TT,N,B]. */                                                   \
int ltc_backward_##SUF(int64_t TT, int64_t B, int64_t N, int64_t K, int64_t U, const T *v0,         \
                       const int64_t *src, const int64_t *dst, const T *sig, const T *we,            \
                       const T *w, const T *cmt, const T *keep, const T *s_all, const T *q_all,      \
                       const T *v_all, const T *grad_out, T *gv0, T *gsig, T *gnegsm, T *gwe,        \
                       T *gw, T *gbias, T *gcmt) {                                                   \
    T *gv = (T *)malloc(sizeof(T) * N * B * 5);                                                     \
    T *lanes = (T *)calloc((size_t)(4 * K * LANES), sizeof(T)); /* per synapse: e, w, a, c partial sums */\
    if (!gv || !lanes) { free(gv); free(lanes); return 1; }                                        \
    T *gvin = gv + N * B, *gp = gv + 2 * N * B, *gq = gv + 3 * N * B, *vin = gv + 4 * N * B;         \
    memset(gv, 0, sizeof(T) * N * B);                                                               \
    for (int64_t t = TT - 1; t >= 0; --t) {                                                         \
        const T *go = grad_out + t * N * B, *ct = cmt + t * N * B;                                  \
        T *gbt = gbias + t * 2 * N * B, *gct = gcmt + t * N * B;                                    \
        for (int64_t i = 0; i < N * B; ++i) gv[i] += go[i];                                         \
        for (int64_t u = U - 1; u >= 0; --u) {                                                      \
            int64_t k = t * U + u;                                                                  \
            const T *S = s_all + k * K * B, *Q = q_all + k * N * B, *V = v_all + k * N * B;         \
            const T *prev = k > 0 ? v_all + (k - 1) * N * B : v0;                                   \
            if (u == 0 && keep) {                                                                   \
                const T *kt = keep + t * B;                                                         \
                for (int64_t i = 0; i < N; ++i)                                                     \
                    for (int64_t b = 0; b < B; ++b) vin[i * B + b] = prev[i * B + b] * kt[b];       \
            } else {                                                                                \
                memcpy(vin, prev, sizeof(T) * N * B);                                               \
            }                                                                                       \
            for (int64_t i = 0; i < N * B; ++i) {                                                   \
                T p = gv[i] / Q[i];                                                                 \
                gp[i] = p;                                                                          \
                gq[i] = -p * V[i];                                                                  \
                gbt[i] += p;                                                                        \
                gbt[N * B + i] += gq[i];                                                            \
                gct[i] += p * vin[i];                                                               \
                gvin[i] = p * ct[i];                                                                \
            }                                                                                       \
            for (int64_t j = 0; j < K; ++j) {                                                       \
                const T *restrict sj = S + j * B, *restrict gpd = gp + dst[j] * B;                  \
                const T *restrict gqd = gq + dst[j] * B, *restrict vs = vin + src[j] * B;           \
                T *restrict gvs = gvin + src[j] * B;                                                \
                const T a = sig[j], e = we[j], g = w[j];                                            \
                T *restrict acc_e = lanes + 4 * j * LANES, *restrict acc_w = acc_e + LANES;          \
                T *restrict acc_a = acc_w + LANES, *restrict acc_c = acc_a + LANES;                  \
                for (int64_t b0 = 0; b0 < B; b0 += LANES) {                                         \
                    const int64_t nl = B - b0 < LANES ? B - b0 : LANES;                             \
                    for (int64_t l = 0; l < nl; ++l) {                                              \
                        const int64_t b = b0 + l;                                                   \
                        T s = sj[b];                                                                \
                        acc_e[l] += gpd[b] * s;                                                     \
                        acc_w[l] += gqd[b] * s;                                                     \
                        T gx = (gpd[b] * e + gqd[b] * g) * s * ((T)1 - s);                          \
                        acc_a[l] += gx * vs[b];                                                     \
                        acc_c[l] += gx;                                                             \
                        gvs[b] += gx * a;                                                           \
                    }                                                                               \
                }                                                                                   \
            }                                                                                       \
            memcpy(gv, gvin, sizeof(T) * N * B);                                                    \
        }                                                                                           \
        if (keep) {                                                                                 \
            const T *kt = keep + t * B;                                                             \
            for (int64_t i = 0; i < N; ++i)                                                         \
                for (int64_t b = 0; b < B; ++b) gv[i * B + b] *= kt[b];                             \
        }                                                                                           \
    }                                                                                               \
    memcpy(gv0, gv, sizeof(T) * N * B);                                                             \
    for (int64_t j = 0; j < K; ++j) {                                                               \
        const T *acc = lanes + 4 * j * LANES;                                                       \
        for (int l = 0; l < LANES; ++l) {                                                           \
            gwe[j] += acc[l]; gw[j] += acc[LANES + l]; gsig[j] += acc[2 * LANES + l];               \
            gnegsm[j] += acc[3 * LANES + l];                                                        \
        }                                                                                           \
    }                                                                                               \
    free(gv);                                                                                       \
    free(lanes);                                                                                    \
    return 0;                                                                                       \
}                                                                                                   \
                                                                                                    \
/* One full step, row-major, no autograd: input mapping, sensory synapses, U unfolds, output mapping.\
 * P holds pointers to the constant arrays (see ltc_native.py for the order); x [B,I], h [B,N],      \
 * dt [B] (seconds); writes h_out [B,N] and y [B,O]. */                                              \
int ltc_step_##SUF(int64_t B, int64_t I, int64_t N, int64_t O, int64_t KS, int64_t K, int64_t U,    \
                   const void *const *P, const T *x, const T *h, const T *dt, T *h_out, T *y) {      \
    const T *in_w = P[0], *in_b = P[1], *out_w = P[2], *out_b = P[3], *leak = P[4], *cm = P[5];      \
    const int64_t *ssrc = P[6], *sdst = P[7], *src = P[8], *dst = P[9];                             \
    const T *ssig = P[10], *snegsm = P[11], *swe = P[12], *sw = P[13];                              \
    const T *sig = P[14], *negsm = P[15], *we = P[16], *w = P[17];                                  \
    T *buf = (T *)malloc(sizeof(T) * (I + 4 * N));                                                  \
    if (!buf) return 1;                                                                             \
    T *xm = buf, *bn = buf + I, *bd = bn + N, *num = bd + N, *den = num + N;                         \
    for (int64_t r = 0; r < B; ++r) {                                                               \
        const T *xr = x + r * I;                                                                    \
        T *v = h_out + r * N;                                                                       \
        for (int64_t i = 0; i < I; ++i)                                                             \
            xm[i] = xr[i] * (in_w ? in_w[i] : (T)1) + (in_b ? in_b[i] : (T)0);                      \
        const T cmf = (T)U / dt[r];                                                                 \
        for (int64_t i = 0; i < N; ++i) {                                                           \
            bn[i] = leak[i];                                                                        \
            bd[i] = leak[N + i] + cm[i] * cmf;                                                      \
            v[i] = h[r * N + i];                                                                    \
        }                                                                                           \
        for (int64_t j = 0; j < KS; ++j) {                                                          \
            T s = sigm_##SUF(ssig[j] * xm[ssrc[j]] + snegsm[j]);                                    \
            bn[sdst[j]] += swe[j] * s;                                                              \
            bd[sdst[j]] += sw[j] * s;                                                               \
        }                                                                                           \
        for (int64_t u = 0; u < U; ++u) {                                                           \
            memcpy(num, bn, sizeof(T) * N);                                                         \
            memcpy(den, bd, sizeof(T) * N);                                                         \
            for (int64_t j = 0; j < K; ++j) {                                                       \
                T s = sigm_##SUF(sig[j] * v[src[j]] + negsm[j]);                                    \
                num[dst[j]] += we[j] * s;                                                           \
                den[dst[j]] += w[j] * s;                                                            \
            }                                                                                       \
            for (int64_t i = 0; i < N; ++i) v[i] = (num[i] + cm[i] * cmf * v[i]) / den[i];          \
        }                                                                                           \
        for (int64_t o = 0; o < O; ++o)                                                             \
            y[r * O + o] = v[N - O + o] * (out_w ? out_w[o] : (T)1) + (out_b ? out_b[o] : (T)0);    \
    }                                                                                               \
    free(buf);                                                                                      \
    return 0;                                                                                       \
}

DEFINE_KERNELS(float, f32, exp_f32, SIGMOID_CLAMP_F)
DEFINE_KERNELS(double, f64, exp, SIGMOID_CLAMP_D)
