// The Llamba forward pass on a CUDA device (see ../../../../shared/docs/llamba-architecture.md
// for the model and io.llamba.engine.cuda.LlambaCudaModel for the order of the launches).
//
// Layouts (row-major, "row" = one token of the pass):
//   h      f32 [T][D]         the residual stream
//   proj   f32 [T][Rin]       in_proj output: xBC (C values), z (Di), a (H)
//   xbc    f32 [T][C]         conv output (prefill path)
//   y      WT  [T][Di]        gated SSM output, input of out_proj
//   act    WT  [T][I]         silu(gate) * up, input of down_proj
//   weights WT [rows][K]      PyTorch layout (y = x W^T); gate and up interleaved row by row
// WT is float or bf16 (the resident weight format); activations that feed a matrix product are
// rounded to WT, so the GEMV path and the cuBLAS path see the same inputs.
//
// A sequence's state is addressed by its own base pointer (segState), so states of any pool can
// share a pass; per layer: conv window f32 [(K-1)][C] (oldest first), then the SSM state ST
// [H][P][N]. A segment whose "fresh" flag is set starts from the zero state (the pool never
// clears memory: a reset sequence reads zeros instead).
#include "common.cuh"

// ================================================================== embedding, norms, bias

template <typename WT>
__device__ void embedRows(const WT* __restrict__ emb, const int* __restrict__ tok, int D, float* __restrict__ h) {
    pdlWait();
    const int r = blockIdx.x;
    const WT* src = emb + (size_t)tok[r] * D;
    float* dst = h + (size_t)r * D;
    if ((D & 3) == 0) {
        for (int k = 4 * threadIdx.x; k < D; k += 4 * blockDim.x) store4(dst + k, load4(src + k));
    } else {
        for (int k = threadIdx.x; k < D; k += blockDim.x) dst[k] = ld(src + k);
    }
}

// out[i] = w ⊙ h[src(i)] / rms(h[src(i)]), src(i) = rows ? rows[i] : i; one block per row. Rows
// of up to 8 float4 per thread stay in registers between the sum of squares and the scaling.
#define NORM_VECS 8
template <typename WT>
__device__ void rmsnormRows(const float* __restrict__ h, int D, const int* __restrict__ rows, const float* __restrict__ w,
                            float eps, WT* __restrict__ out) {
    __shared__ float scratch[32];
    pdlWait();
    const int i = blockIdx.x;
    const float* x = h + (size_t)(rows ? rows[i] : i) * D;
    WT* o = out + (size_t)i * D;
    if ((D & 3) == 0 && D <= 4 * NORM_VECS * (int)blockDim.x) {
        float4 v[NORM_VECS];
        float ss = 0.0f;
#pragma unroll
        for (int j = 0; j < NORM_VECS; j++) {
            const int k = 4 * (threadIdx.x + j * blockDim.x);
            if (k < D) {
                v[j] = load4(x + k);
                ss += v[j].x * v[j].x + v[j].y * v[j].y + v[j].z * v[j].z + v[j].w * v[j].w;
            }
        }
        ss = blockSum(ss, scratch);
        const float scale = 1.0f / sqrtf(ss / D + eps);
#pragma unroll
        for (int j = 0; j < NORM_VECS; j++) {
            const int k = 4 * (threadIdx.x + j * blockDim.x);
            if (k < D) {
                const float4 w4 = load4(w + k);
                store4(o + k, make_float4(w4.x * (v[j].x * scale), w4.y * (v[j].y * scale), w4.z * (v[j].z * scale), w4.w * (v[j].w * scale)));
            }
        }
        return;
    }
    float ss = 0.0f;
    for (int k = threadIdx.x; k < D; k += blockDim.x) ss += x[k] * x[k];
    ss = blockSum(ss, scratch);
    const float scale = 1.0f / sqrtf(ss / D + eps);
    for (int k = threadIdx.x; k < D; k += blockDim.x) o[k] = cvt<WT>(w[k] * (x[k] * scale));
}

// act[e] = silu(gu[2e]) * gu[2e+1] over the n outputs of the pass: gate and up rows are
// interleaved in the weight, so gate/up pairs sit side by side and rows need no indexing. gu is
// in the weight format (cuBLAS writes BF16 products for BF16 weights: half the traffic).
template <typename WT>
__device__ void swigluRows(const WT* __restrict__ gu, long long n, WT* __restrict__ act) {
    pdlWait();
    const long long stride = (long long)gridDim.x * blockDim.x;
    long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if ((n & 3) == 0) {
        for (; 4 * e < n; e += stride) {
            const float4 a = load4(gu + 8 * e), b = load4(gu + 8 * e + 4);
            store4(act + 4 * e, make_float4(silu(a.x) * a.y, silu(a.z) * a.w, silu(b.x) * b.y, silu(b.z) * b.w));
        }
    } else {
        for (; e < n; e += stride) act[e] = cvt<WT>(silu(ld(gu + 2 * e)) * ld(gu + 2 * e + 1));
    }
}

#define ROWS_KERNELS(S, WT)                                                                                          \
    extern "C" __global__ void embed_##S(const WT* emb, const int* tok, int D, float* h) { embedRows<WT>(emb, tok, D, h); } \
    EMU_KERNEL(embed_##S)                                                                                            \
    extern "C" __global__ void rmsnorm_rows_##S(const float* h, int D, const int* rows, const float* w, float eps, WT* out) { \
        rmsnormRows<WT>(h, D, rows, w, eps, out);                                                                    \
    }                                                                                                                \
    EMU_KERNEL(rmsnorm_rows_##S)                                                                                     \
    extern "C" __global__ void swiglu_rows_##S(const WT* gu, long long n, WT* act) { swigluRows<WT>(gu, n, act); } \
    EMU_KERNEL(swiglu_rows_##S)

ROWS_KERNELS(f32, float)
ROWS_KERNELS(bf16, bf16)

// y[t][j] += b[j] for t < T, j < n (row stride ld).
extern "C" __global__ void add_bias(float* y, const float* b, int T, int n, int ld) {
    pdlWait();
    for (long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x; e < (long long)T * n; e += (long long)gridDim.x * blockDim.x) {
        y[(e / n) * ld + e % n] += b[e % n];
    }
}
EMU_KERNEL(add_bias)

// ================================================================== GEMV: few rows of activations

// Y = X W^T for T ≤ 4 activation rows, reading each weight once: the decode path of small batches,
// where the weights' bytes are the whole cost. A persistent grid; a row pair ("unit") is streamed
// by wpu warps, each over its own slice of K (so short matrices still keep every SM busy), in
// 16-byte loads, four per row in flight per lane. The T input rows sit in shared memory as floats
// (already rounded to WT). Prologue and epilogue fuse the neighbouring element-wise steps, so a
// layer is five launches at batch 1. Each warp's first weights are prefetched into L2 before the
// wait for the previous kernel.
enum { PRO_PLAIN = 0, PRO_NORM = 1 };                  // x: WT rows, or f32 rows of h to RMS-normalise
enum { EPI_STORE = 0, EPI_ADD = 1, EPI_SWIGLU = 2 };   // out f32 =, out f32 +=, out WT = silu(g)·u of row pairs

#define GEMV_UNROLL 4

__device__ __forceinline__ void unpack16(const uint4& q, float* f, const float*) {
    f[0] = __uint_as_float(q.x); f[1] = __uint_as_float(q.y); f[2] = __uint_as_float(q.z); f[3] = __uint_as_float(q.w);
}
__device__ __forceinline__ void unpack16(const uint4& q, float* f, const bf16*) {
    f[0] = __uint_as_float(q.x << 16); f[1] = __uint_as_float(q.x & 0xffff0000u);
    f[2] = __uint_as_float(q.y << 16); f[3] = __uint_as_float(q.y & 0xffff0000u);
    f[4] = __uint_as_float(q.z << 16); f[5] = __uint_as_float(q.z & 0xffff0000u);
    f[6] = __uint_as_float(q.w << 16); f[7] = __uint_as_float(q.w & 0xffff0000u);
}

__device__ __forceinline__ uint4 ldStream(const uint4* p) {
#ifdef __CUDA_ARCH__
    return __ldcs(p);  // weights are read once per pass: do not keep them in L1
#else
    return *p;
#endif
}

// Starts this block's first row pair of W towards L2 (the slice of K its warp will stream), before
// the wait for the previous kernel.
template <typename WT>
__device__ __forceinline__ void gemvPrefetch(const WT* __restrict__ W, int rows, int K, int wpu) {
#ifdef __CUDA_ARCH__
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
    const int upb = nwarps / wpu, uib = warp / wpu, slice = warp % wpu;
    constexpr int VEC = 16 / sizeof(WT);
    const bool vectorised = K % VEC == 0;
    const int nc = vectorised ? K / VEC : K, es = vectorised ? VEC : 1;
    const int c0 = (int)((long long)nc * slice / wpu), c1 = (int)((long long)nc * (slice + 1) / wpu);
    const int u = blockIdx.x * upb + uib;
    if (u < (rows + 1) >> 1) {
        const int bytes = (c1 - c0) * es * (int)sizeof(WT);
        for (int r = 2 * u; r < 2 * u + 2 && r < rows; r++) {
            const char* p = reinterpret_cast<const char*>(W + (size_t)r * K + (size_t)c0 * es);
            for (int off = lane * 128; off < bytes; off += 32 * 128) asm volatile("prefetch.global.L2 [%0];" ::"l"(p + off));
        }
    }
#endif
}

// An activation written earlier in the same launch by another block (the batch-1 layers kernel):
// read through L2, since an SM's L1 is not kept coherent with other SMs' writes.
__device__ __forceinline__ float ldAct(const float* p) {
#ifdef __CUDA_ARCH__
    return __ldcg(p);
#else
    return *p;
#endif
}
__device__ __forceinline__ float ldAct(const bf16* p) {
#ifdef __CUDA_ARCH__
    return bf2f(__ldcg(reinterpret_cast<const unsigned short*>(p)));
#else
    return bf2f(*p);
#endif
}

// A plain load, or with COH (the batch-1 layers kernel) through L2 as ldAct.
template <bool COH> __device__ __forceinline__ float ldMaybeCoherent(const float* p) { return COH ? ldAct(p) : *p; }
template <bool COH> __device__ __forceinline__ float ldMaybeCoherent(const bf16* p) { return COH ? ldAct(p) : ld(p); }

template <typename WT, int T, int PRO, int EPI, bool COH = false>
__device__ void gemv(const WT* __restrict__ W, int rows, int K, const void* __restrict__ xin, int ldx,
                     const float* __restrict__ normW, float eps, void* __restrict__ out, int ldo, int wpu,
                     bool prefetch = true) {
    DYN_SMEM(float, xs);  // [T][K]
    __shared__ float scratch[32];
    __shared__ float part[32][8];  // per warp: the two rows' partial sums for up to 4 inputs
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
    const int upb = nwarps / wpu;  // units per block and round
    const int uib = warp / wpu, slice = warp % wpu;
    const int units = (rows + 1) >> 1;
    constexpr int VEC = 16 / sizeof(WT);
    const bool vectorised = K % VEC == 0;  // rows start on 16-byte boundaries
    const int nc = vectorised ? K / VEC : K;
    const int c0 = (int)((long long)nc * slice / wpu), c1 = (int)((long long)nc * (slice + 1) / wpu);

    if (prefetch) gemvPrefetch<WT>(W, rows, K, wpu);
    pdlWait();

    if (PRO == PRO_NORM) {
        const float* h = static_cast<const float*>(xin);
        for (int t = 0; t < T; t++) {
            const float* x = h + (size_t)t * ldx;
            float ss = 0.0f;
            for (int k = threadIdx.x; k < K; k += blockDim.x) {
                const float v = ldMaybeCoherent<COH>(x + k);
                ss += v * v;
            }
            ss = blockSum(ss, scratch);
            const float scale = 1.0f / sqrtf(ss / K + eps);
            for (int k = threadIdx.x; k < K; k += blockDim.x) xs[t * K + k] = roundTo<WT>(normW[k] * (ldMaybeCoherent<COH>(x + k) * scale));
        }
    } else {
        const WT* x = static_cast<const WT*>(xin);
        for (int t = 0; t < T; t++)
            for (int k = threadIdx.x; k < K; k += blockDim.x) xs[t * K + k] = ldMaybeCoherent<COH>(x + (size_t)t * ldx + k);
    }
    __syncthreads();

    for (int base = blockIdx.x * upb; base < units; base += gridDim.x * upb) {  // the same rounds in every warp
        const int u = base + uib;
        const int r0 = 2 * u;
        const bool live = u < units, two = live && r0 + 1 < rows;
        const int r1 = two ? r0 + 1 : r0;
        float a0[T], a1[T];
#pragma unroll
        for (int t = 0; t < T; t++) a0[t] = a1[t] = 0.0f;
        if (live && vectorised) {
            const uint4* w0 = reinterpret_cast<const uint4*>(W + (size_t)r0 * K);
            const uint4* w1 = reinterpret_cast<const uint4*>(W + (size_t)r1 * K);
            for (int c = c0 + lane; c < c1; c += 32 * GEMV_UNROLL) {
                uint4 q0[GEMV_UNROLL], q1[GEMV_UNROLL];
#pragma unroll
                for (int j = 0; j < GEMV_UNROLL; j++) {
                    const int cc = c + 32 * j;
                    if (cc < c1) {
                        q0[j] = ldStream(w0 + cc);
                        q1[j] = ldStream(w1 + cc);
                    }
                }
#pragma unroll
                for (int j = 0; j < GEMV_UNROLL; j++) {
                    const int cc = c + 32 * j;
                    if (cc < c1) {
                        float f0[VEC], f1[VEC];
                        unpack16(q0[j], f0, (const WT*)nullptr);
                        unpack16(q1[j], f1, (const WT*)nullptr);
#pragma unroll
                        for (int t = 0; t < T; t++) {
                            const float4* xv = reinterpret_cast<const float4*>(xs + t * K + cc * VEC);
#pragma unroll
                            for (int e = 0; e < VEC; e += 4) {
                                const float4 x4 = xv[e / 4];
                                a0[t] += f0[e] * x4.x + f0[e + 1] * x4.y + f0[e + 2] * x4.z + f0[e + 3] * x4.w;
                                a1[t] += f1[e] * x4.x + f1[e + 1] * x4.y + f1[e + 2] * x4.z + f1[e + 3] * x4.w;
                            }
                        }
                    }
                }
            }
        } else if (live) {
            for (int k = c0 + lane; k < c1; k += 32) {
                const float w0 = ld(W + (size_t)r0 * K + k), w1 = ld(W + (size_t)r1 * K + k);
#pragma unroll
                for (int t = 0; t < T; t++) {
                    a0[t] += w0 * xs[t * K + k];
                    a1[t] += w1 * xs[t * K + k];
                }
            }
        }
#pragma unroll
        for (int t = 0; t < T; t++) {
            a0[t] = warpSum(a0[t]);
            a1[t] = warpSum(a1[t]);
        }
        if (wpu > 1) {  // the slices of a unit meet in shared memory, summed in slice order
            if (lane == 0) {
#pragma unroll
                for (int t = 0; t < T; t++) {
                    part[warp][t] = a0[t];
                    part[warp][4 + t] = a1[t];
                }
            }
            __syncthreads();
            if (slice == 0 && lane == 0) {
#pragma unroll
                for (int t = 0; t < T; t++) {
                    float s0 = 0.0f, s1 = 0.0f;
                    for (int sl = 0; sl < wpu; sl++) {
                        s0 += part[warp + sl][t];
                        s1 += part[warp + sl][4 + t];
                    }
                    a0[t] = s0;
                    a1[t] = s1;
                }
            }
            __syncthreads();
        }
        if (live && slice == 0 && lane == 0) {
#pragma unroll
            for (int t = 0; t < T; t++) {
                if (EPI == EPI_SWIGLU) {
                    static_cast<WT*>(out)[(size_t)t * ldo + u] = cvt<WT>(silu(a0[t]) * a1[t]);
                } else {
                    float* o = static_cast<float*>(out) + (size_t)t * ldo;
                    if (EPI == EPI_ADD) {
                        o[r0] = ldMaybeCoherent<COH>(o + r0) + a0[t];
                        if (two) o[r1] = ldMaybeCoherent<COH>(o + r1) + a1[t];
                    } else {
                        o[r0] = a0[t];
                        if (two) o[r1] = a1[t];
                    }
                }
            }
        }
    }
}

#define GEMV_KERNEL(S, WT, T, TAG, PRO, EPI)                                                                         \
    extern "C" __global__ void __launch_bounds__(512) gemv_##S##_##TAG##_t##T(                                       \
        const WT* W, int rows, int K, const void* x, int ldx, const float* normW, float eps, void* out, int ldo,      \
        int wpu) {                                                                                                   \
        gemv<WT, T, PRO, EPI>(W, rows, K, x, ldx, normW, eps, out, ldo, wpu);                                         \
    }                                                                                                                \
    EMU_KERNEL(gemv_##S##_##TAG##_t##T)

#define GEMV_MODES(S, WT, T)                          \
    GEMV_KERNEL(S, WT, T, ns, PRO_NORM, EPI_STORE)    \
    GEMV_KERNEL(S, WT, T, ps, PRO_PLAIN, EPI_STORE)   \
    GEMV_KERNEL(S, WT, T, pa, PRO_PLAIN, EPI_ADD)     \
    GEMV_KERNEL(S, WT, T, nw, PRO_NORM, EPI_SWIGLU)

GEMV_MODES(f32, float, 1)
GEMV_MODES(f32, float, 2)
GEMV_MODES(f32, float, 4)
GEMV_MODES(bf16, bf16, 1)
GEMV_MODES(bf16, bf16, 2)
GEMV_MODES(bf16, bf16, 4)

// ================================================================== mixer: one token per sequence

// Decode step of the Discrete Mamba-2 mixer for one token of each sequence: causal conv (window
// shifted in place), S ← decay·S + x⊗B, y = S·C + D·x, gated by silu(z + z_bias). One block per
// (qk group, sequence): the group's B and C channels belong to it alone, so no two blocks touch
// the same window channels. The state is the traffic (it is read and written whole every step):
// it is loaded in 16-byte pieces (4 f32 or 8 bf16 values) before the wait for in_proj (no kernel
// of the pass writes it before this one), N/piece lanes to a row, several rows per warp. (Starting
// out_proj's and gate/up's weights towards L2 from here was measured: it slowed batch 1 down.)
#define STEP_BATCH 4
#define MAX_CONV 16

// Rows of N values in pieces: whether a row splits into a power-of-two number of pieces ≤ 32.
template <typename ST>
__device__ __forceinline__ bool piecewise(int N) {
    constexpr int VS = Piece<ST>::n;
    if (N % VS != 0 || N / VS > 32) return false;
    const int t = N / VS;
    return (t & (t - 1)) == 0;
}

template <typename WT, typename ST, bool COH = false>
__device__ void ssmStep(const float* __restrict__ proj, int Rin, const int* __restrict__ segFresh, const u64* __restrict__ segState,
                        long long layerOff, long long ssmOff, const float* __restrict__ convW, const float* __restrict__ convB, int Kc,
                        int convSilu, const float* __restrict__ Dskip, const float* __restrict__ zBias, int H, int G, int P, int N, int C,
                        WT* __restrict__ y, int g, int b) {
    DYN_SMEM(float, sm);
    constexpr int VS = Piece<ST>::n, SB = STEP_BATCH * 4 / VS;  // pieces preloaded: 16 floats either way
    const int hpg = H / G, h0 = g * hpg, Di = H * P;
    const int nx = hpg * P;
    float* cx = sm;            // [hpg·P] conv output, x channels of the group's heads
    float* cB = sm + nx;       // [N]
    float* cC = cB + N;        // [N]
    float* dec = cC + N;       // [hpg] per-head decay
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
    const int fresh = segFresh[b];
    char* base = reinterpret_cast<char*>(segState[b]) + layerOff;
    float* win = reinterpret_cast<float*>(base);
    ST* S = reinterpret_cast<ST*>(base + ssmOff) + (size_t)h0 * P * N;  // the group's rows
    const float* row = proj + (size_t)b * Rin;

    const bool vec = piecewise<ST>(N);
    const int tpr = vec ? N / VS : 1, rpw = 32 / tpr, rowsPerPass = nwarps * rpw;
    const int sub = lane % tpr, n0 = VS * sub;
    const int passes = vec ? (nx + rowsPerPass - 1) / rowsPerPass : 0;
    float s[SB][VS];
#pragma unroll
    for (int i = 0; i < SB; i++) {
        const int hp = i * rowsPerPass + warp * rpw + lane / tpr;
        if (i < passes && hp < nx && !fresh) {
            loadPiece(S + (size_t)hp * N + n0, s[i]);
        } else {
#pragma unroll
            for (int e = 0; e < VS; e++) s[i][e] = 0.0f;
        }
    }
    pdlWait();

    for (int e = threadIdx.x; e < nx + 2 * N; e += blockDim.x) {
        int j;
        float* dst;
        if (e < nx) {
            j = h0 * P + e;
            dst = cx + e;
        } else if (e < nx + N) {
            j = Di + g * N + (e - nx);
            dst = cB + (e - nx);
        } else {
            j = Di + G * N + g * N + (e - nx - N);
            dst = cC + (e - nx - N);
        }
        const float in = ldMaybeCoherent<COH>(row + j);
        float acc = convB[j];
        for (int k = 0; k < Kc - 1; k++) acc += convW[j * Kc + k] * (fresh ? 0.0f : win[k * C + j]);
        acc += convW[j * Kc + Kc - 1] * in;
        for (int k = 0; k + 1 < Kc - 1; k++) win[k * C + j] = fresh ? 0.0f : win[(k + 1) * C + j];
        if (Kc > 1) win[(Kc - 2) * C + j] = in;
        *dst = convSilu ? silu(acc) : acc;
    }
    for (int hh = threadIdx.x; hh < hpg; hh += blockDim.x) dec[hh] = expf(-softplus(ldMaybeCoherent<COH>(row + C + Di + h0 + hh)));
    __syncthreads();

    if (vec) {
        for (int i = 0; i < passes; i++) {
            const int hp = i * rowsPerPass + warp * rpw + lane / tpr;
            const bool ok = hp < nx;
            float sv[VS];
#pragma unroll
            for (int e = 0; e < VS; e++) sv[e] = 0.0f;
#pragma unroll
            for (int k = 0; k < SB; k++)
                if (k == i) {
#pragma unroll
                    for (int e = 0; e < VS; e++) sv[e] = s[k][e];
                }
            if (i >= SB && ok && !fresh) loadPiece(S + (size_t)hp * N + n0, sv);
            float acc = 0.0f;
            if (ok) {
                const float xv = cx[hp], decay = dec[hp / P];
#pragma unroll
                for (int e = 0; e < VS; e++) {
                    sv[e] = sv[e] * decay + cB[n0 + e] * xv;
                    acc += sv[e] * cC[n0 + e];
                }
                storePiece(S + (size_t)hp * N + n0, sv);
            }
            for (int o = tpr >> 1; o > 0; o >>= 1) acc += __shfl_xor_sync(FULL_MASK, acc, o);
            if (ok && sub == 0) {
                const int h = h0 + hp / P, p = hp % P;
                const float z = ldMaybeCoherent<COH>(row + C + h * P + p) + (zBias ? zBias[h * P + p] : 0.0f);
                y[(size_t)b * Di + h * P + p] = cvt<WT>((acc + Dskip[h] * cx[hp]) * silu(z));
            }
        }
        return;
    }
    // Any other d_state: a warp per row, lanes over N.
    for (int hp = warp; hp < nx; hp += nwarps) {
        const int hh = hp / P, h = h0 + hh, p = hp % P;
        const float xv = cx[hp], decay = dec[hh];
        float acc = 0.0f;
        for (int n = lane; n < N; n += 32) {
            const float v = (fresh ? 0.0f : ld(S + (size_t)hp * N + n)) * decay + cB[n] * xv;
            S[(size_t)hp * N + n] = cvt<ST>(v);
            acc += v * cC[n];
        }
        acc = warpSum(acc);
        if (lane == 0) {
            const float z = ldMaybeCoherent<COH>(row + C + h * P + p) + (zBias ? zBias[h * P + p] : 0.0f);
            y[(size_t)b * Di + h * P + p] = cvt<WT>((acc + Dskip[h] * xv) * silu(z));
        }
    }
}

// Large decode batches split the step in two, so that no block waits on a chain of loads: a flat
// conv over (sequence, channel), then one block per (head, sequence) whose state rows and inputs
// (x, B, C, z) are all requested at once.

// conv_step: xbc[b][j] from the token's in_proj values and the window, which shifts in place.
// Four channels a thread in 16-byte loads when d_conv is 4 (Llamba's) and the rows allow it.
extern "C" __global__ void conv_step(const float* __restrict__ proj, int Rin, int T, const int* __restrict__ segFresh,
                                     const u64* __restrict__ segState, long long layerOff, const float* __restrict__ convW,
                                     const float* __restrict__ convB, int Kc, int C, int convSilu, float* __restrict__ xbc) {
    pdlWait();
    const long long stride = (long long)gridDim.x * blockDim.x;
    if (Kc == 4 && (C & 3) == 0 && (Rin & 3) == 0) {
        const int c4 = C >> 2;
        for (long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x; e < (long long)T * c4; e += stride) {
            const int b = (int)(e / c4), j = 4 * (int)(e % c4);
            const int fresh = segFresh[b];
            float* win = reinterpret_cast<float*>(reinterpret_cast<char*>(segState[b]) + layerOff);
            const float4 z4 = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
            const float4 w0 = fresh ? z4 : load4(win + j), w1 = fresh ? z4 : load4(win + C + j), w2 = fresh ? z4 : load4(win + 2 * C + j);
            const float4 in = load4(proj + (size_t)b * Rin + j);
            const float4 k0 = load4(convW + 4 * j), k1 = load4(convW + 4 * j + 4), k2 = load4(convW + 4 * j + 8), k3 = load4(convW + 4 * j + 12);
            const float4 bias = load4(convB + j);
            float4 o = make_float4(bias.x + k0.x * w0.x + k0.y * w1.x + k0.z * w2.x + k0.w * in.x,
                                   bias.y + k1.x * w0.y + k1.y * w1.y + k1.z * w2.y + k1.w * in.y,
                                   bias.z + k2.x * w0.z + k2.y * w1.z + k2.z * w2.z + k2.w * in.z,
                                   bias.w + k3.x * w0.w + k3.y * w1.w + k3.z * w2.w + k3.w * in.w);
            if (convSilu) o = make_float4(silu(o.x), silu(o.y), silu(o.z), silu(o.w));
            store4(win + j, w1);
            store4(win + C + j, w2);
            store4(win + 2 * C + j, in);
            store4(xbc + (size_t)b * C + j, o);
        }
        return;
    }
    for (long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x; e < (long long)T * C; e += stride) {
        const int b = (int)(e / C), j = (int)(e % C);
        const int fresh = segFresh[b];
        float* win = reinterpret_cast<float*>(reinterpret_cast<char*>(segState[b]) + layerOff);
        float w[MAX_CONV];
#pragma unroll
        for (int k = 0; k < MAX_CONV; k++) w[k] = k < Kc - 1 && !fresh ? win[k * C + j] : 0.0f;
        const float in = proj[(size_t)b * Rin + j];
        float acc = convB[j];
#pragma unroll
        for (int k = 0; k < MAX_CONV; k++)
            if (k < Kc - 1) acc += convW[j * Kc + k] * w[k];
        acc += convW[j * Kc + Kc - 1] * in;
#pragma unroll
        for (int k = 0; k < MAX_CONV; k++) {
            if (k + 1 < Kc - 1) win[k * C + j] = w[k + 1];
            else if (k + 1 == Kc - 1) win[k * C + j] = in;
        }
        xbc[(size_t)b * C + j] = convSilu ? silu(acc) : acc;
    }
}
EMU_KERNEL(conv_step)

// ssm_heads: S ← decay·S + x⊗B, y = S·C + D·x, gated, for one head of one sequence, the state in
// 16-byte pieces (d_state a multiple of the piece, N/piece a power of two ≤ 32).
//
// CONV: the conv step fused in (conv_heads): when every head has its own qk group (H == G, as in
// every released Llamba), the head's x, B and C channels belong to its block alone, so the block
// shifts those channels' windows and convolves them itself; xbc is not used. Saves the conv
// kernel, its launch and the round trip of its output through memory.
template <typename WT, typename ST, bool CONV>
__device__ void ssmHeads(const float* __restrict__ xbc, const float* __restrict__ proj, int Rin, const int* __restrict__ segFresh,
                         const u64* __restrict__ segState, long long layerOff, long long ssmOff, const float* __restrict__ Dskip,
                         const float* __restrict__ zBias, int H, int G, int P, int N, int C, WT* __restrict__ y,
                         const float* __restrict__ convW, const float* __restrict__ convB, int Kc, int convSilu) {
    DYN_SMEM(float, sm);
    constexpr int VS = Piece<ST>::n, SB = STEP_BATCH * 4 / VS;
    const int h = blockIdx.x, b = blockIdx.y, g = h / (H / G), Di = H * P;
    float* cx = sm;        // [P]
    float* cz = cx + P;    // [P] silu(z + z_bias)
    float* cB = cz + P;    // [N]
    float* cC = cB + N;    // [N]
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
    const int fresh = segFresh[b];
    ST* S = reinterpret_cast<ST*>(reinterpret_cast<char*>(segState[b]) + layerOff + ssmOff) + (size_t)h * P * N;
    const int tpr = N / VS, rpw = 32 / tpr, rowsPerPass = nwarps * rpw;
    const int sub = lane % tpr, n0 = VS * sub;
    const int passes = (P + rowsPerPass - 1) / rowsPerPass;
    float s[SB][VS];
#pragma unroll
    for (int i = 0; i < SB; i++) {
        const int p = i * rowsPerPass + warp * rpw + lane / tpr;
        if (i < passes && p < P && !fresh) {
            loadPiece(S + (size_t)p * N + n0, s[i]);
        } else {
#pragma unroll
            for (int e = 0; e < VS; e++) s[i][e] = 0.0f;
        }
    }
    // The fused conv with d_conv 4 and a channel per thread: the window is read before the wait
    // too (no kernel of the pass writes them before this one), so that after
    // it only the token's in_proj values are waited for, as in ssm_heads.
    const bool pre = CONV && Kc == 4 && P + 2 * N <= (int)blockDim.x;
    int cj = -1;
    float* cdst = nullptr;
    float pw0 = 0.0f, pw1 = 0.0f, pw2 = 0.0f;
    float* pwin = CONV ? reinterpret_cast<float*>(reinterpret_cast<char*>(segState[b]) + layerOff) : nullptr;
    if (pre && (int)threadIdx.x < P + 2 * N) {
        const int e = threadIdx.x;
        if (e < P) {
            cj = h * P + e;
            cdst = cx + e;
        } else if (e < P + N) {
            cj = Di + g * N + (e - P);
            cdst = cB + (e - P);
        } else {
            cj = Di + G * N + g * N + (e - P - N);
            cdst = cC + (e - P - N);
        }
        if (!fresh) {
            pw0 = pwin[cj];
            pw1 = pwin[C + cj];
            pw2 = pwin[2 * C + cj];
        }
    }
    pdlWait();
    const float* xr = CONV ? nullptr : xbc + (size_t)b * C;
    const float* pr = proj + (size_t)b * Rin;
    if (pre) {
        if (cj >= 0) {
            const float in = pr[cj];  // issued with the conv weights' loads: one round trip
            const float4 kw = load4(convW + 4 * cj);
            float acc = convB[cj];
            const float k0 = kw.x, k1 = kw.y, k2 = kw.z, k3 = kw.w;
            acc += k0 * pw0;
            acc += k1 * pw1;
            acc += k2 * pw2;
            acc += k3 * in;
            pwin[cj] = pw1;
            pwin[C + cj] = pw2;
            pwin[2 * C + cj] = in;
            *cdst = convSilu ? silu(acc) : acc;
        }
        for (int p = threadIdx.x; p < P; p += blockDim.x) cz[p] = silu(pr[C + h * P + p] + (zBias ? zBias[h * P + p] : 0.0f));
    } else if (CONV) {
        float* win = reinterpret_cast<float*>(reinterpret_cast<char*>(segState[b]) + layerOff);
        for (int e = threadIdx.x; e < P + 2 * N; e += blockDim.x) {
            int j;
            float* dst;
            if (e < P) {
                j = h * P + e;
                dst = cx + e;
            } else if (e < P + N) {
                j = Di + g * N + (e - P);
                dst = cB + (e - P);
            } else {
                j = Di + G * N + g * N + (e - P - N);
                dst = cC + (e - P - N);
            }
            float w[MAX_CONV];
#pragma unroll
            for (int k = 0; k < MAX_CONV; k++) w[k] = k < Kc - 1 && !fresh ? win[k * C + j] : 0.0f;
            const float in = pr[j];
            float acc = convB[j];
#pragma unroll
            for (int k = 0; k < MAX_CONV; k++)
                if (k < Kc - 1) acc += convW[j * Kc + k] * w[k];
            acc += convW[j * Kc + Kc - 1] * in;
#pragma unroll
            for (int k = 0; k < MAX_CONV; k++) {
                if (k + 1 < Kc - 1) win[k * C + j] = w[k + 1];
                else if (k + 1 == Kc - 1) win[k * C + j] = in;
            }
            *dst = convSilu ? silu(acc) : acc;
        }
        for (int p = threadIdx.x; p < P; p += blockDim.x) cz[p] = silu(pr[C + h * P + p] + (zBias ? zBias[h * P + p] : 0.0f));
    } else {
        for (int e = threadIdx.x; e < 2 * P + 2 * N; e += blockDim.x) {
            if (e < P) cx[e] = xr[h * P + e];
            else if (e < 2 * P) cz[e - P] = silu(pr[C + h * P + (e - P)] + (zBias ? zBias[h * P + (e - P)] : 0.0f));
            else if (e < 2 * P + N) cB[e - 2 * P] = xr[Di + g * N + (e - 2 * P)];
            else cC[e - 2 * P - N] = xr[Di + G * N + g * N + (e - 2 * P - N)];
        }
    }
    const float decay = expf(-softplus(pr[C + Di + h])), Dh = Dskip[h];
    __syncthreads();
    for (int i = 0; i < passes; i++) {
        const int p = i * rowsPerPass + warp * rpw + lane / tpr;
        const bool ok = p < P;
        float sv[VS];
#pragma unroll
        for (int e = 0; e < VS; e++) sv[e] = 0.0f;
#pragma unroll
        for (int k = 0; k < SB; k++)
            if (k == i) {
#pragma unroll
                for (int e = 0; e < VS; e++) sv[e] = s[k][e];
            }
        if (i >= SB && ok && !fresh) loadPiece(S + (size_t)p * N + n0, sv);
        float acc = 0.0f;
        if (ok) {
            const float xv = cx[p];
#pragma unroll
            for (int e = 0; e < VS; e++) {
                sv[e] = sv[e] * decay + cB[n0 + e] * xv;
                acc += sv[e] * cC[n0 + e];
            }
            storePiece(S + (size_t)p * N + n0, sv);
        }
        for (int o = tpr >> 1; o > 0; o >>= 1) acc += __shfl_xor_sync(FULL_MASK, acc, o);
        if (ok && sub == 0) y[(size_t)b * Di + h * P + p] = cvt<WT>((acc + Dh * cx[p]) * cz[p]);
    }
}

#define HEADS_KERNELS(S, WT, SS, ST)                                                                                   \
    extern "C" __global__ void __launch_bounds__(256, 4) ssm_heads_##S##_##SS(                                         \
        const float* xbc, const float* proj, int Rin, const int* segFresh, const u64* segState, long long layerOff,    \
        long long ssmOff, const float* Dskip, const float* zBias, int H, int G, int P, int N, int C, WT* y) {           \
        ssmHeads<WT, ST, false>(xbc, proj, Rin, segFresh, segState, layerOff, ssmOff, Dskip, zBias, H, G, P, N, C, y,   \
                                nullptr, nullptr, 0, 0);                                                               \
    }                                                                                                                  \
    EMU_KERNEL(ssm_heads_##S##_##SS)                                                                                   \
    extern "C" __global__ void __launch_bounds__(256, 4) conv_heads_##S##_##SS(                                        \
        const float* proj, int Rin, const int* segFresh, const u64* segState, long long layerOff, long long ssmOff,    \
        const float* convW, const float* convB, int Kc, int convSilu, const float* Dskip, const float* zBias, int H,    \
        int G, int P, int N, int C, WT* y) {                                                                           \
        ssmHeads<WT, ST, true>(nullptr, proj, Rin, segFresh, segState, layerOff, ssmOff, Dskip, zBias, H, G, P, N, C, y, \
                               convW, convB, Kc, convSilu);                                                            \
    }                                                                                                                  \
    EMU_KERNEL(conv_heads_##S##_##SS)

HEADS_KERNELS(f32, float, f32, float)
HEADS_KERNELS(f32, float, bf16, bf16)
HEADS_KERNELS(bf16, bf16, f32, float)
HEADS_KERNELS(bf16, bf16, bf16, bf16)

// conv_heads_pipe: conv_heads with a run of consecutive (sequence, head) items per block (a
// sequence's heads are adjacent in its state), through a two-stage pipeline in shared memory.
// While the block computes item i, the state, conv window and in_proj values of item i + 1 are
// already on their way (cp.async, no registers held). A run of a few items rather than a grid
// sized to be resident: blocks that start late, on SMs still busy with the previous kernel, then
// hold no more work than the others. conv_heads loads one item per block in a burst, then
// computes and stores, so an SM's memory traffic stops between a block's phases and each new block
// starts cold. The arithmetic is conv_heads', item by item, in the same order: the same bits.
// Measured on an H100 (docs/benchmarks/gpu.md): 3-5 % off a decode step at batch 256 to 1024 with
// BF16 state, up to 2 % slower with F32 state, whose two stages allow only 4 blocks per SM; so the
// host takes it for BF16 state only.
//
// Needs d_conv 4, every head its own qk group (H == G), P + 2N ≤ blockDim, and 16-byte runs (P, N,
// C and Rin multiples of 4): the host checks them and takes conv_heads otherwise.
// The head's conv weights and biases, z_bias and D come through the stages too: read from global
// memory in the compute step, their round trip (L2, ~1 µs) was on every item's critical path.
// Shared memory: two stages of [state P×N ST | window 3×E | in_proj E | z P | dt, padded to 4 |
// conv weights 4×E | conv bias E | z_bias P | D, padded to 4] floats (E = P + 2N), then cx[P],
// cB[N], cC[N], cz[P].
template <typename ST>
__device__ __forceinline__ int pipeStageFloats(int P, int N) {
    const int E = P + 2 * N;
    return P * N * (int)sizeof(ST) / 4 + 9 * E + 2 * P + 8;
}

// The conv channel of the e-th of a head's P + 2N conv inputs: its x, then its B, then its C.
__device__ __forceinline__ int pipeChannel(int e, int h, int H, int P, int N) {
    const int Di = H * P;
    return e < P ? h * P + e : e < P + N ? Di + h * N + (e - P) : Di + H * N + h * N + (e - P - N);
}

// Issues the copies of one item into a stage: the state and the window (what no kernel of the pass
// writes, so they may go before the PDL wait) or the in_proj values (after it).
template <typename ST>
__device__ __forceinline__ void pipeIssue(float* stage, int item, bool stateAndWindow, const float* __restrict__ proj, int Rin,
                                          const int* __restrict__ segFresh, const u64* __restrict__ segState, long long layerOff,
                                          long long ssmOff, int H, int P, int N, int C, const float* __restrict__ convW,
                                          const float* __restrict__ convB, const float* __restrict__ zBias, const float* __restrict__ Dskip) {
    const int b = item / H, h = item - b * H, E = P + 2 * N, Di = H * P;
    float* st = stage;
    float* win = st + P * N * (int)sizeof(ST) / 4;
    float* in = win + 3 * E;
    float* z = in + E;
    float* dt = z + P;
    float* cw = dt + 4;
    float* cb = cw + 4 * E;
    float* zb = cb + E;
    float* dsk = zb + P;
    if (stateAndWindow) {
        const int qb = E / 4, qz = zBias ? P / 4 : 0;
        for (int c = threadIdx.x; c <= E + qb + qz; c += blockDim.x) {
            if (c < E) cpAsync16(cw + 4 * c, convW + 4 * pipeChannel(c, h, H, P, N));
            else if (c < E + qb) cpAsync16(cb + 4 * (c - E), convB + pipeChannel(4 * (c - E), h, H, P, N));
            else if (c < E + qb + qz) cpAsync16(zb + 4 * (c - E - qb), zBias + h * P + 4 * (c - E - qb));
            else cpAsync4(dsk, Dskip + h);
        }
        if (segFresh[b]) return;  // zeros, which the compute step puts in itself
        const char* base = reinterpret_cast<const char*>(segState[b]) + layerOff;
        const char* src = base + ssmOff + (size_t)h * P * N * sizeof(ST);
        const int chunks = P * N * (int)sizeof(ST) / 16;
        for (int c = threadIdx.x; c < chunks; c += blockDim.x) cpAsync16(reinterpret_cast<char*>(st) + 16 * c, src + 16 * c);
        const float* pwin = reinterpret_cast<const float*>(base);
        const int q = E / 4;
        for (int c = threadIdx.x; c < 3 * q; c += blockDim.x) {
            const int k = c / q, e = 4 * (c - k * q);
            cpAsync16(win + k * E + e, pwin + (size_t)k * C + pipeChannel(e, h, H, P, N));
        }
    } else {
        const float* pr = proj + (size_t)b * Rin;
        const int q = E / 4, qz = P / 4;
        for (int c = threadIdx.x; c <= q + qz; c += blockDim.x) {
            if (c < q) cpAsync16(in + 4 * c, pr + pipeChannel(4 * c, h, H, P, N));
            else if (c < q + qz) cpAsync16(z + 4 * (c - q), pr + C + h * P + 4 * (c - q));
            else cpAsync4(dt, pr + C + Di + h);
        }
    }
}

template <typename WT, typename ST>
__device__ void convHeadsPipe(const float* __restrict__ proj, int Rin, const int* __restrict__ segFresh, const u64* __restrict__ segState,
                              long long layerOff, long long ssmOff, const float* __restrict__ convW, const float* __restrict__ convB,
                              int convSilu, const float* __restrict__ Dskip, const float* __restrict__ zBias, int H, int P, int N, int C,
                              WT* __restrict__ y, int rows, int perBlock) {
    DYN_SMEM(float, sm);
    constexpr int VS = Piece<ST>::n;
    const int E = P + 2 * N, Di = H * P, stageFloats = pipeStageFloats<ST>(P, N);
    float* cx = sm + 2 * stageFloats;  // [P], then cB [N] and cC [N]: the conv's outputs in input order
    float* cB = cx + P;
    float* cC = cB + N;
    float* cz = cC + N;  // [P] silu(z + z_bias)
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
    const int tpr = N / VS, rpw = 32 / tpr, rowsPerPass = nwarps * rpw;
    const int sub = lane % tpr, n0 = VS * sub;
    const int passes = (P + rowsPerPass - 1) / rowsPerPass;
    const int items = min(rows * H, (blockIdx.x + 1) * perBlock);
    int item = blockIdx.x * perBlock;
    if (item < items) pipeIssue<ST>(sm, item, true, proj, Rin, segFresh, segState, layerOff, ssmOff, H, P, N, C, convW, convB, zBias, Dskip);
    pdlWait();
    if (item >= items) return;
    pipeIssue<ST>(sm, item, false, proj, Rin, segFresh, segState, layerOff, ssmOff, H, P, N, C, convW, convB, zBias, Dskip);
    cpAsyncCommit();
    for (int s = 0; item < items; item++, s ^= 1) {
        const int next = item + 1;
        float* nst = sm + (s ^ 1) * stageFloats;
        if (next < items) {
            pipeIssue<ST>(nst, next, true, proj, Rin, segFresh, segState, layerOff, ssmOff, H, P, N, C, convW, convB, zBias, Dskip);
            pipeIssue<ST>(nst, next, false, proj, Rin, segFresh, segState, layerOff, ssmOff, H, P, N, C, convW, convB, zBias, Dskip);
        }
        cpAsyncCommit();
        cpAsyncWaitAllButNewest();
        __syncthreads();  // every thread's copies of this item have landed

        const float* st = sm + s * stageFloats;
        const ST* S0 = reinterpret_cast<const ST*>(st);
        const float* win = st + P * N * (int)sizeof(ST) / 4;
        const float* in = win + 3 * E;
        const float* zv = in + E;
        const float* dtv = zv + P;
        const float* cw = dtv + 4;
        const float* cb = cw + 4 * E;
        const float* zb = cb + E;
        const float* dsk = zb + P;
        const int b = item / H, h = item - b * H;
        const int fresh = segFresh[b];
        char* base = reinterpret_cast<char*>(segState[b]) + layerOff;
        if ((int)threadIdx.x < E) {
            const int e = threadIdx.x, cj = pipeChannel(e, h, H, P, N);
            const float pw0 = fresh ? 0.0f : win[e], pw1 = fresh ? 0.0f : win[E + e], pw2 = fresh ? 0.0f : win[2 * E + e];
            const float x = in[e];
            const float4 kw = load4(cw + 4 * e);
            float acc = cb[e];
            const float k0 = kw.x, k1 = kw.y, k2 = kw.z, k3 = kw.w;
            acc += k0 * pw0;
            acc += k1 * pw1;
            acc += k2 * pw2;
            acc += k3 * x;
            float* pwin = reinterpret_cast<float*>(base);
            pwin[cj] = pw1;
            pwin[C + cj] = pw2;
            pwin[2 * C + cj] = x;
            cx[e] = convSilu ? silu(acc) : acc;  // cx, cB and cC are contiguous: the e-th conv input
        }
        for (int p = threadIdx.x; p < P; p += blockDim.x) cz[p] = silu(zv[p] + (zBias ? zb[p] : 0.0f));
        const float decay = expf(-softplus(dtv[0])), Dh = dsk[0];
        __syncthreads();
        ST* S = reinterpret_cast<ST*>(base + ssmOff) + (size_t)h * P * N;
        for (int i = 0; i < passes; i++) {
            const int p = i * rowsPerPass + warp * rpw + lane / tpr;
            const bool ok = p < P;
            float sv[VS];
            if (ok && !fresh) {
                loadPiece(S0 + (size_t)p * N + n0, sv);
            } else {
#pragma unroll
                for (int e = 0; e < VS; e++) sv[e] = 0.0f;
            }
            float acc = 0.0f;
            if (ok) {
                const float xv = cx[p];
#pragma unroll
                for (int e = 0; e < VS; e++) {
                    sv[e] = sv[e] * decay + cB[n0 + e] * xv;
                    acc += sv[e] * cC[n0 + e];
                }
                storePiece(S + (size_t)p * N + n0, sv);
            }
            for (int o = tpr >> 1; o > 0; o >>= 1) acc += __shfl_xor_sync(FULL_MASK, acc, o);
            if (ok && sub == 0) y[(size_t)b * Di + h * P + p] = cvt<WT>((acc + Dh * cx[p]) * cz[p]);
        }
        __syncthreads();  // this stage and cx..cC are free for the next item
    }
}

#define PIPE_KERNELS(S, WT, SS, ST, MINB)                                                                              \
    extern "C" __global__ void __launch_bounds__(256, MINB) conv_heads_pipe_##S##_##SS(                                \
        const float* proj, int Rin, const int* segFresh, const u64* segState, long long layerOff, long long ssmOff,    \
        const float* convW, const float* convB, int convSilu, const float* Dskip, const float* zBias, int H, int P,     \
        int N, int C, WT* y, int rows, int perBlock) {                                                                 \
        convHeadsPipe<WT, ST>(proj, Rin, segFresh, segState, layerOff, ssmOff, convW, convB, convSilu, Dskip, zBias, H, \
                              P, N, C, y, rows, perBlock);                                                             \
    }                                                                                                                  \
    EMU_KERNEL(conv_heads_pipe_##S##_##SS)

// Minimum blocks per SM: what the shared memory of Llamba's head (64×64) allows, two stages.
PIPE_KERNELS(f32, float, f32, float, 4)
PIPE_KERNELS(f32, float, bf16, bf16, 6)
PIPE_KERNELS(bf16, bf16, f32, float, 4)
PIPE_KERNELS(bf16, bf16, bf16, bf16, 6)

// ================================================================== mixer: runs of tokens

// Causal depthwise conv for every token of a pass: xbc[r][j] from this segment's inputs and, before
// its first token, the sequence's window (zeros when fresh). The window is updated afterwards by
// conv_window_update, so every token here reads the old one.
extern "C" __global__ void conv_prefill(const float* __restrict__ proj, int Rin, int T, const int* __restrict__ rowSeg,
                                        const int* __restrict__ segStart, const int* __restrict__ segFresh,
                                        const u64* __restrict__ segState, long long layerOff, const float* __restrict__ convW,
                                        const float* __restrict__ convB, int Kc, int C, int convSilu, float* __restrict__ xbc) {
    pdlWait();
    for (long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x; e < (long long)T * C; e += (long long)gridDim.x * blockDim.x) {
        const int r = (int)(e / C), j = (int)(e % C);
        const int s = rowSeg[r], start = segStart[s], fresh = segFresh[s];
        const float* win = reinterpret_cast<const float*>(reinterpret_cast<const char*>(segState[s]) + layerOff);
        float acc = convB[j];
        for (int k = 0; k < Kc; k++) {
            const int src = r - (Kc - 1) + k;
            const float v = src >= start ? proj[(size_t)src * Rin + j] : (fresh ? 0.0f : win[(Kc - 1 - (start - src)) * C + j]);
            acc += convW[j * Kc + k] * v;
        }
        xbc[(size_t)r * C + j] = convSilu ? silu(acc) : acc;
    }
}
EMU_KERNEL(conv_prefill)

// The window after a segment: the last K-1 inputs of (old window ++ the segment's tokens).
extern "C" __global__ void conv_window_update(const float* __restrict__ proj, int Rin, int S, const int* __restrict__ segStart,
                                              const int* __restrict__ segLen, const int* __restrict__ segFresh,
                                              const u64* __restrict__ segState, long long layerOff, int Kc, int C) {
    pdlWait();
    for (long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x; e < (long long)S * C; e += (long long)gridDim.x * blockDim.x) {
        const int s = (int)(e / C), j = (int)(e % C);
        const int start = segStart[s], len = segLen[s], fresh = segFresh[s];
        float* win = reinterpret_cast<float*>(reinterpret_cast<char*>(segState[s]) + layerOff);
        float nw[MAX_CONV];
#pragma unroll
        for (int q = 0; q < MAX_CONV; q++) {
            if (q < Kc - 1) {
                const int i = len + q;  // index into (old window ++ segment)
                nw[q] = i < Kc - 1 ? (fresh ? 0.0f : win[i * C + j]) : proj[(size_t)(start + i - (Kc - 1)) * Rin + j];
            }
        }
#pragma unroll
        for (int q = 0; q < MAX_CONV; q++)
            if (q < Kc - 1) win[q * C + j] = nw[q];
    }
}
EMU_KERNEL(conv_window_update)

// The mixer's SSM over runs of tokens, in chunks of Q ≤ 64 tokens (the parallel form of the
// recurrence): with cum[t] = -Σ_{r≤t} dt_r inside a chunk,
//   y_t = Σ_{s≤t} e^{cum_t - cum_s} (C_t·B_s) x_s + e^{cum_t} S0·C_t + D·x_t
//   S_q = e^{cum_last} S0 + Σ_s e^{cum_last - cum_s} x_s ⊗ B_s
// Every chunk of every segment is a block (per head), all at once:
//   scan_chunks   chunk k of a segment, from S0 = the sequence's state for k = 0 and zero after;
//                 a one-chunk segment is then done; otherwise it leaves y without the S0 term
//                 (yPart) and its end state E_k and decay in the chunk's scratch slot
//   scan_states   per segment and head, in order: S_start(k) = S, S = decay_k·S + E_k; the last S
//                 is the sequence's new state
//   scan_finish   chunks k ≥ 1: y = yPart + e^{cum_t} C_t·S_start(k), gated
// Shared memory holds the chunk in f32, rows padded by one float so the strided reads of B, C and
// S hit distinct banks.
#define MAX_CHUNK 64

// Loads chunk rows [start, start+q) of one head: x, B, C and cum (inclusive prefix of -dt).
__device__ void loadChunk(const float* __restrict__ xbc, const float* __restrict__ proj, int Rin, int start, int q, int h, int g,
                          int G, int P, int N, int C, int Di, float* xs, float* Bs, float* Cs, float* cum) {
    const int tid = threadIdx.x, nt = blockDim.x, lane = tid & 31, warp = tid >> 5;
    const int NP = N + 1, PP = P + 1;
    if (xs) {
        for (int e = tid; e < q * P; e += nt) {
            const int t = e / P, p = e % P;
            xs[t * PP + p] = xbc[(size_t)(start + t) * C + h * P + p];
        }
    }
    for (int e = tid; e < q * N; e += nt) {
        const int t = e / N, n = e % N;
        const float* r = xbc + (size_t)(start + t) * C + Di;
        if (Bs) Bs[t * NP + n] = r[g * N + n];
        Cs[t * NP + n] = r[G * N + g * N + n];
    }
    for (int t = tid; t < q; t += nt) cum[t] = -softplus(proj[(size_t)(start + t) * Rin + C + Di + h]);
    __syncthreads();
    if (warp == 0) {  // inclusive prefix sum of cum[0..q), two values per lane
        const int t0 = 2 * lane, t1 = t0 + 1;
        const float v0 = t0 < q ? cum[t0] : 0.0f, v1 = t1 < q ? cum[t1] : 0.0f;
        float inc = v0 + v1;
        for (int o = 1; o < 32; o <<= 1) {
            const float v = __shfl_up_sync(FULL_MASK, inc, o);
            if (lane >= o) inc += v;
        }
        const float ex = inc - (v0 + v1);
        if (t0 < q) cum[t0] = ex + v0;
        if (t1 < q) cum[t1] = ex + v0 + v1;
    }
    __syncthreads();
}

template <typename WT, typename ST>
__device__ void scanChunks(const float* __restrict__ xbc, const float* __restrict__ proj, int Rin, const int* __restrict__ chunkSeg,
                           const int* __restrict__ chunkK, const int* __restrict__ chunkSlot, const int* __restrict__ segStart,
                           const int* __restrict__ segLen, const int* __restrict__ segFresh, const u64* __restrict__ segState,
                           long long layerOff, long long ssmOff, const float* __restrict__ Dskip, const float* __restrict__ zBias, int H,
                           int G, int P, int N, int C, int Q, float* __restrict__ yPart, float* __restrict__ scratch,
                           float* __restrict__ decays, WT* __restrict__ y) {
    DYN_SMEM(float, sm);
    pdlWait();
    const int h = blockIdx.x, j = blockIdx.y, g = h / (H / G), Di = H * P;
    const int NP = N + 1, PP = P + 1, QP = Q + 1;
    float* Sst = sm;               // [P][N+1]  S0 (first chunk of a segment), then the end state
    float* xs = Sst + P * NP;      // [Q][P+1]
    float* Bs = xs + Q * PP;       // [Q][N+1]
    float* Cs = Bs + Q * NP;       // [Q][N+1]
    float* M = Cs + Q * NP;        // [Q][Q+1]
    float* cum = M + Q * QP;       // [Q]
    float* wd = cum + Q;           // [Q] e^{cum_last - cum_s}
    float* ec = wd + Q;            // [Q] e^{cum_t}
    const int s = chunkSeg[j], k = chunkK[j], slot = chunkSlot[j];
    const int len = segLen[s], start = segStart[s] + k * Q, q = min(Q, len - k * Q);
    const bool single = len <= Q, withS0 = k == 0 && !segFresh[s];
    ST* S = reinterpret_cast<ST*>(reinterpret_cast<char*>(segState[s]) + layerOff + ssmOff) + (size_t)h * P * N;
    const float Dh = Dskip[h];
    const int tid = threadIdx.x, nt = blockDim.x;

    for (int e = tid; e < P * N; e += nt) Sst[(e / N) * NP + e % N] = withS0 ? ld(S + e) : 0.0f;
    loadChunk(xbc, proj, Rin, start, q, h, g, G, P, N, C, Di, xs, Bs, Cs, cum);
    for (int t = tid; t < q; t += nt) {
        wd[t] = expf(cum[q - 1] - cum[t]);
        ec[t] = expf(cum[t]);
    }
    for (int e = tid; e < q * q; e += nt) {
        const int t = e / q, u = e % q;
        float v = 0.0f;
        if (u <= t) {
            for (int n = 0; n < N; n++) v += Cs[t * NP + n] * Bs[u * NP + n];
            v *= expf(cum[t] - cum[u]);
        }
        M[t * QP + u] = v;
    }
    __syncthreads();
    for (int e = tid; e < q * P; e += nt) {
        const int t = e / P, p = e % P;
        float acc = 0.0f;
        for (int u = 0; u <= t; u++) acc += M[t * QP + u] * xs[u * PP + p];
        if (withS0) {
            float st = 0.0f;
            for (int n = 0; n < N; n++) st += Cs[t * NP + n] * Sst[p * NP + n];
            acc += ec[t] * st;
        }
        const float xv = xs[t * PP + p];
        const size_t r = (size_t)(start + t);
        if (k == 0) {
            const float z = proj[r * Rin + C + h * P + p] + (zBias ? zBias[h * P + p] : 0.0f);
            y[r * Di + h * P + p] = cvt<WT>((acc + Dh * xv) * silu(z));
        } else {
            yPart[r * Di + h * P + p] = acc + Dh * xv;
        }
    }
    __syncthreads();  // Sst is read above and rewritten below
    const float last = ec[q - 1];
    float* E = single ? nullptr : scratch + ((size_t)slot * H + h) * P * N;
    for (int e = tid; e < P * N; e += nt) {
        const int p = e / N, n = e % N;
        float v = last * Sst[p * NP + n];
        for (int u = 0; u < q; u++) v += wd[u] * xs[u * PP + p] * Bs[u * NP + n];
        if (single) S[e] = cvt<ST>(v);
        else E[e] = v;
    }
    if (!single && tid == 0) decays[(size_t)slot * H + h] = last;
}

template <typename ST>
__device__ void scanStates(const int* __restrict__ chunkSlot, const int* __restrict__ segFirstChunk, const int* __restrict__ segLen,
                           const u64* __restrict__ segState, long long layerOff, long long ssmOff, int H, int P, int N, int Q,
                           float* __restrict__ scratch, const float* __restrict__ decays) {
    pdlWait();
    const int h = blockIdx.x, s = blockIdx.y;
    const int nc = (segLen[s] + Q - 1) / Q;
    if (nc <= 1) return;
    const int first = segFirstChunk[s];
    ST* S = reinterpret_cast<ST*>(reinterpret_cast<char*>(segState[s]) + layerOff + ssmOff) + (size_t)h * P * N;
    const size_t pn = (size_t)P * N;
    for (int e = threadIdx.x; e < P * N; e += blockDim.x) {
        float v = scratch[((size_t)chunkSlot[first] * H + h) * pn + e];
        for (int k = 1; k < nc; k++) {
            const int slot = chunkSlot[first + k];
            float* E = scratch + ((size_t)slot * H + h) * pn + e;
            const float ek = *E;
            *E = v;  // the state at the start of chunk k
            v = decays[(size_t)slot * H + h] * v + ek;
        }
        S[e] = cvt<ST>(v);
    }
}

template <typename WT>
__device__ void scanFinish(const float* __restrict__ xbc, const float* __restrict__ proj, int Rin, const int* __restrict__ chunkSeg,
                           const int* __restrict__ chunkK, const int* __restrict__ chunkSlot, const int* __restrict__ segStart,
                           const int* __restrict__ segLen, const float* __restrict__ zBias, int H, int G, int P, int N, int C, int Q,
                           const float* __restrict__ yPart, const float* __restrict__ scratch, WT* __restrict__ y) {
    DYN_SMEM(float, sm);
    pdlWait();
    const int h = blockIdx.x, j = blockIdx.y, g = h / (H / G), Di = H * P;
    const int k = chunkK[j];
    if (k == 0) return;
    const int NP = N + 1;
    float* Ss = sm;            // [P][N+1] the state at the chunk's start
    float* Cs = Ss + P * NP;   // [Q][N+1]
    float* cum = Cs + Q * NP;  // [Q]
    const int s = chunkSeg[j], slot = chunkSlot[j];
    const int len = segLen[s], start = segStart[s] + k * Q, q = min(Q, len - k * Q);
    const float* E = scratch + ((size_t)slot * H + h) * P * N;
    for (int e = threadIdx.x; e < P * N; e += blockDim.x) Ss[(e / N) * NP + e % N] = E[e];
    loadChunk(xbc, proj, Rin, start, q, h, g, G, P, N, C, Di, nullptr, nullptr, Cs, cum);
    for (int e = threadIdx.x; e < q * P; e += blockDim.x) {
        const int t = e / P, p = e % P;
        float st = 0.0f;
        for (int n = 0; n < N; n++) st += Cs[t * NP + n] * Ss[p * NP + n];
        const size_t r = (size_t)(start + t);
        const float z = proj[r * Rin + C + h * P + p] + (zBias ? zBias[h * P + p] : 0.0f);
        y[r * Di + h * P + p] = cvt<WT>((yPart[r * Di + h * P + p] + expf(cum[t]) * st) * silu(z));
    }
}

#define MIXER_KERNELS(S, WT, SS, ST)                                                                                   \
    extern "C" __global__ void __launch_bounds__(256, 4) ssm_step_##S##_##SS(                                             \
        const float* proj, int Rin, const int* segFresh, const u64* segState, long long layerOff, long long ssmOff,    \
        const float* convW, const float* convB, int Kc, int convSilu, const float* Dskip, const float* zBias, int H,    \
        int G, int P, int N, int C, WT* y) {                                                                           \
        ssmStep<WT, ST>(proj, Rin, segFresh, segState, layerOff, ssmOff, convW, convB, Kc, convSilu, Dskip, zBias, H, G, P, \
                        N, C, y, blockIdx.x, blockIdx.y);                                                              \
    }                                                                                                                  \
    EMU_KERNEL(ssm_step_##S##_##SS)                                                                                    \
    extern "C" __global__ void __launch_bounds__(256) scan_chunks_##S##_##SS(                                          \
        const float* xbc, const float* proj, int Rin, const int* chunkSeg, const int* chunkK, const int* chunkSlot,     \
        const int* segStart, const int* segLen, const int* segFresh, const u64* segState, long long layerOff,          \
        long long ssmOff, const float* Dskip, const float* zBias, int H, int G, int P, int N, int C, int Q,            \
        float* yPart, float* scratch, float* decays, WT* y) {                                                          \
        scanChunks<WT, ST>(xbc, proj, Rin, chunkSeg, chunkK, chunkSlot, segStart, segLen, segFresh, segState, layerOff,  \
                           ssmOff, Dskip, zBias, H, G, P, N, C, Q, yPart, scratch, decays, y);                         \
    }                                                                                                                  \
    EMU_KERNEL(scan_chunks_##S##_##SS)

MIXER_KERNELS(f32, float, f32, float)
MIXER_KERNELS(f32, float, bf16, bf16)
MIXER_KERNELS(bf16, bf16, f32, float)
MIXER_KERNELS(bf16, bf16, bf16, bf16)

// ================================================================== batch 1: every layer in one launch

// Device pointers of one layer, and the K split (warps per row pair) each of its products uses as a
// separate launch would: the same sums in the same order. Written once at load.
struct LayerPtrs {
    const void* inProj;
    const float* inNorm;
    const void* outProj;
    const float* postNorm;
    const void* gateUp;
    const void* down;
    const float* convW;
    const float* convB;
    const float* dSkip;
    const float* zBias;
    int wpuIn, wpuOut, wpuGateUp, wpuDown;
};

// Waits until every block of the grid has arrived; all of them must be resident at once (the launch
// sizes the grid by the occupancy the driver reports). bar[0] counts arrivals and is back at 0
// afterwards; bar[1] is the generation the last arrival advances. Thread 0 fences the block's writes
// (ordered before it by __syncthreads) before arriving, and fences again after the release. (A
// two-level barrier with acquire/release atomics made the layers kernel slower: commit f81b646, docs/benchmarks/gpu-bench-layers-treebarrier.log.)
__device__ __forceinline__ void gridBarrier(unsigned* bar) {
    __syncthreads();
#ifdef __CUDA_ARCH__
    if (threadIdx.x == 0) {
        volatile unsigned* gen = bar + 1;
        const unsigned g = *gen;
        __threadfence();
        if (atomicAdd(bar, 1u) == gridDim.x - 1) {
            atomicExch(bar, 0u);
            __threadfence();
            atomicAdd(bar + 1, 1u);
        } else {
            while (*gen == g) __nanosleep(32);
        }
        __threadfence();
    }
#endif
    __syncthreads();
}

// n grid barriers in a row and nothing else: bench-gpu times them.
extern "C" __global__ void __launch_bounds__(512, 2) barrier_bench(unsigned* bar, int n) {
    for (int i = 0; i < n; i++) gridBarrier(bar);
}
EMU_KERNEL(barrier_bench)

// One decode step of one sequence through every layer: phase 5l+k of layer l is in_proj (RMSNorm
// fused), the mixer step (conv, state update, gate; one qk group per block, the other blocks go
// straight to the barrier), out_proj (+= h), gate/up (RMSNorm and SwiGLU fused), down (+= h). The
// same device functions as the separate launches, in the same order, so the same results; a grid
// barrier between phases instead of a kernel boundary. Nothing is prefetched before a barrier:
// starting the next product's weights towards L2 there (all of a block's first round, 1 KB of each
// row, or the mixer's state and out_proj's weights during the mixer phase) made every shape slower
// (bench-gpu on the H200, docs/benchmarks/gpu.md). Runs phases [from, to): the device all of them in
// one launch; the CPU emulator, whose blocks run one after another, one phase per launch (the launch
// is the barrier).
template <typename WT, typename ST>
__device__ void layersB1(const LayerPtrs* __restrict__ layers, int from, int to, unsigned* bar, float* h, float* proj, WT* y,
                         WT* act, int D, int Rin, int Di, int I2, float eps, const int* segFresh, const u64* segState,
                         long long layerBytes, long long ssmOff, int Kc, int convSilu, int H, int G, int P, int N, int C) {
    for (int ph = from; ph < to; ph++) {
        const int l = ph / 5, step = ph % 5;
        const LayerPtrs& L = layers[l];
        const bool first = ph == from;
        if (!first) gridBarrier(bar);
        switch (step) {
            case 0:
                gemv<WT, 1, PRO_NORM, EPI_STORE, true>(static_cast<const WT*>(L.inProj), Rin, D, h, D, L.inNorm, eps, proj, Rin, L.wpuIn, first);
                break;
            case 1:
                for (int g = blockIdx.x; g < G; g += gridDim.x) {
                    ssmStep<WT, ST, true>(proj, Rin, segFresh, segState, l * layerBytes, ssmOff, L.convW, L.convB, Kc, convSilu, L.dSkip,
                                    L.zBias, H, G, P, N, C, y, g, 0);
                    __syncthreads();  // the next group reuses the shared memory
                }
                break;
            case 2:
                gemv<WT, 1, PRO_PLAIN, EPI_ADD, true>(static_cast<const WT*>(L.outProj), D, Di, y, Di, nullptr, eps, h, D, L.wpuOut, first);
                break;
            case 3:
                gemv<WT, 1, PRO_NORM, EPI_SWIGLU, true>(static_cast<const WT*>(L.gateUp), I2, D, h, D, L.postNorm, eps, act, I2 / 2,
                                                  L.wpuGateUp, first);
                break;
            default:
                gemv<WT, 1, PRO_PLAIN, EPI_ADD, true>(static_cast<const WT*>(L.down), D, I2 / 2, act, I2 / 2, nullptr, eps, h, D, L.wpuDown,
                                                first);
                break;
        }
    }
}

#define LAYERS_B1_KERNEL(S, WT, SS, ST)                                                                                    \
    extern "C" __global__ void __launch_bounds__(512, 2) layers_b1_##S##_##SS(                                              \
        const LayerPtrs* layers, int from, int to, unsigned* bar, float* h, float* proj, WT* y, WT* act, int D, int Rin,   \
        int Di, int I2, float eps, const int* segFresh, const u64* segState, long long layerBytes, long long ssmOff, int Kc, \
        int convSilu, int H, int G, int P, int N, int C) {                                                                  \
        layersB1<WT, ST>(layers, from, to, bar, h, proj, y, act, D, Rin, Di, I2, eps, segFresh, segState, layerBytes,        \
                         ssmOff, Kc, convSilu, H, G, P, N, C);                                                              \
    }                                                                                                                       \
    EMU_KERNEL(layers_b1_##S##_##SS)

LAYERS_B1_KERNEL(f32, float, f32, float)
LAYERS_B1_KERNEL(f32, float, bf16, bf16)
LAYERS_B1_KERNEL(bf16, bf16, f32, float)
LAYERS_B1_KERNEL(bf16, bf16, bf16, bf16)

#define STATE_KERNELS(SS, ST)                                                                                          \
    extern "C" __global__ void __launch_bounds__(256) scan_states_##SS(                                                \
        const int* chunkSlot, const int* segFirstChunk, const int* segLen, const u64* segState, long long layerOff,    \
        long long ssmOff, int H, int P, int N, int Q, float* scratch, const float* decays) {                           \
        scanStates<ST>(chunkSlot, segFirstChunk, segLen, segState, layerOff, ssmOff, H, P, N, Q, scratch, decays);      \
    }                                                                                                                  \
    EMU_KERNEL(scan_states_##SS)

STATE_KERNELS(f32, float)
STATE_KERNELS(bf16, bf16)

#define FINISH_KERNELS(S, WT)                                                                                          \
    extern "C" __global__ void __launch_bounds__(256) scan_finish_##S(                                                 \
        const float* xbc, const float* proj, int Rin, const int* chunkSeg, const int* chunkK, const int* chunkSlot,     \
        const int* segStart, const int* segLen, const float* zBias, int H, int G, int P, int N, int C, int Q,          \
        const float* yPart, const float* scratch, WT* y) {                                                             \
        scanFinish<WT>(xbc, proj, Rin, chunkSeg, chunkK, chunkSlot, segStart, segLen, zBias, H, G, P, N, C, Q, yPart, \
                       scratch, y);                                                                                    \
    }                                                                                                                  \
    EMU_KERNEL(scan_finish_##S)

FINISH_KERNELS(f32, float)
FINISH_KERNELS(bf16, bf16)

// ================================================================== sampling on the device

// One block of SAMPLE_THREADS per logit row. mode 0: nothing; 1: greedy (the first largest logit,
// as the host sampler); 2: temperature with optional top-k, min-p and top-p, then one draw.
// Thresholds are found by radix selection over order-preserving keys of the logits (4 passes of
// 8 bits), counting tokens for top-k and summing probability mass for top-p; masses are
// fixed-point integers (2^-40 units relative to the most likely token), so sums do not depend on
// the order of atomic additions and a seed always gives the same token. Ties at a threshold are
// kept. The draw walks the kept tokens in id order.
#define SAMPLE_THREADS 1024
#define MASS_ONE 1099511627776.0f  // 2^40

__device__ __forceinline__ unsigned orderKey(float f) {
    const unsigned u = __float_as_uint(f);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

__device__ __forceinline__ float clean(float f) { return f != f ? -INFINITY : f; }

// Warp 0: the largest digit d with Σ_{e>d} hist[e] < need ≤ Σ_{e≥d} hist[e]; writes d and the
// mass above it. Bins are walked from the top, eight per lane.
template <typename C>
__device__ void walkDigits(const C* hist, C need, int* digit, C* above) {
    const int lane = threadIdx.x & 31;
    C sum = 0;
    for (int j = 0; j < 8; j++) sum += hist[255 - 8 * lane - j];
    C inc = sum;
    for (int o = 1; o < 32; o <<= 1) {
        const C v = __shfl_up_sync(FULL_MASK, inc, o);
        if (lane >= o) inc += v;
    }
    const C ex = inc - sum;
    if (ex < need && need <= inc) {
        C acc = ex;
        for (int j = 0; j < 8; j++) {
            const int d = 255 - 8 * lane - j;
            if (acc + hist[d] >= need) {
                *digit = d;
                *above = acc;
                break;
            }
            acc += hist[d];
        }
    }
}

struct SampleRow {
    const float* row;
    int V;
    float m, invT, minP;
    unsigned keyMin;  // keep tokens whose key ≥ keyMin (top-k, then top-p)
};

__device__ __forceinline__ u64 massOf(const SampleRow& r, float l) {
    if (orderKey(l) < r.keyMin) return 0;
    const float w = expf((l - r.m) * r.invT);
    if (w < r.minP) return 0;
    return (u64)(w * MASS_ONE);
}

extern "C" __global__ void __launch_bounds__(SAMPLE_THREADS)
sample_rows(const float* __restrict__ logits, long long ldl, int V, const int* __restrict__ mode, const int* __restrict__ topK,
            const float* __restrict__ temperature, const float* __restrict__ topP, const float* __restrict__ minP,
            const u64* __restrict__ seed, const u64* __restrict__ step, int* __restrict__ out) {
    __shared__ float bestV[32];
    __shared__ int bestI[32];
    __shared__ unsigned histC[256];
    __shared__ u64 histM[256];
    __shared__ u64 warpTot[32];
    __shared__ int selDigit;
    __shared__ u64 selAbove;
    __shared__ int picked;
    pdlWait();
    const int i = blockIdx.x, md = mode[i];
    if (md == 0) return;
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, nwarps = blockDim.x >> 5;
    const float* row = logits + (long long)i * ldl;

    // Pass 1: the largest logit and its first index (each thread sees its ids in increasing order).
    float bv = -INFINITY;
    int bi = V;
    if ((V & 3) == 0 && (ldl & 3) == 0) {
#pragma unroll 4
        for (int k = 4 * tid; k < V; k += 4 * blockDim.x) {
            const float4 l4 = load4(row + k);
            const float l[4] = {clean(l4.x), clean(l4.y), clean(l4.z), clean(l4.w)};
#pragma unroll
            for (int e = 0; e < 4; e++) {
                if (l[e] > bv) {
                    bv = l[e];
                    bi = k + e;
                }
            }
        }
    } else {
        for (int k = tid; k < V; k += blockDim.x) {
            const float l = clean(row[k]);
            if (l > bv) {
                bv = l;
                bi = k;
            }
        }
    }
    for (int o = 16; o > 0; o >>= 1) {
        const float ov = __shfl_xor_sync(FULL_MASK, bv, o);
        const int oi = __shfl_xor_sync(FULL_MASK, bi, o);
        if (ov > bv || (ov == bv && oi < bi)) {
            bv = ov;
            bi = oi;
        }
    }
    if (lane == 0) {
        bestV[warp] = bv;
        bestI[warp] = bi;
    }
    __syncthreads();
    if (warp == 0) {
        bv = lane < nwarps ? bestV[lane] : -INFINITY;
        bi = lane < nwarps ? bestI[lane] : V;
        for (int o = 16; o > 0; o >>= 1) {
            const float ov = __shfl_xor_sync(FULL_MASK, bv, o);
            const int oi = __shfl_xor_sync(FULL_MASK, bi, o);
            if (ov > bv || (ov == bv && oi < bi)) {
                bv = ov;
                bi = oi;
            }
        }
        if (lane == 0) {
            bestV[0] = bv;
            bestI[0] = bi < V ? bi : 0;
        }
    }
    __syncthreads();
    const float m = bestV[0];
    const int argmax = bestI[0];
    if (md == 1 || !(m > -INFINITY)) {
        if (tid == 0) out[i] = argmax;
        return;
    }

    SampleRow r{row, V, m, 1.0f / temperature[i], minP[i], 0u};

    // Top-k: the key of the k-th largest logit, by counting.
    const int k = topK[i];
    if (k > 0 && k < V) {
        unsigned prefix = 0, mask = 0;
        unsigned need = (unsigned)k;
        for (int shift = 24; shift >= 0; shift -= 8) {
            for (int b = tid; b < 256; b += blockDim.x) histC[b] = 0;
            __syncthreads();
            for (int e = tid; e < V; e += blockDim.x) {
                const unsigned key = orderKey(clean(row[e]));
                if ((key & mask) == prefix) atomicAdd(&histC[(key >> shift) & 255u], 1u);
            }
            __syncthreads();
            if (warp == 0) {
                int d = -1;
                unsigned above = 0;
                walkDigits<unsigned>(histC, need, &d, &above);
                if (d >= 0) {
                    selDigit = d;
                    selAbove = above;
                }
            }
            __syncthreads();
            prefix |= (unsigned)selDigit << shift;
            mask |= 255u << shift;
            need -= (unsigned)selAbove;
            __syncthreads();
        }
        r.keyMin = prefix;
    }

    // Top-p: the smallest set of most likely tokens whose mass reaches top_p of the kept mass.
    const float p = topP[i];
    if (p < 1.0f) {
        u64 local = 0;
        for (int e = tid; e < V; e += blockDim.x) local += massOf(r, clean(row[e]));
        for (int o = 16; o > 0; o >>= 1) local += __shfl_xor_sync(FULL_MASK, local, o);
        if (lane == 0) warpTot[warp] = local;
        __syncthreads();
        u64 total = 0;
        for (int w = 0; w < nwarps; w++) total += warpTot[w];
        u64 need = (u64)ceil((double)p * (double)total);
        if (need < 1) need = 1;
        unsigned prefix = 0, mask = 0;
        for (int shift = 24; shift >= 0 && total > 0; shift -= 8) {  // no mass at all: the draw falls back to the argmax
            for (int b = tid; b < 256; b += blockDim.x) histM[b] = 0;
            __syncthreads();
            for (int e = tid; e < V; e += blockDim.x) {
                const float l = clean(row[e]);
                const unsigned key = orderKey(l);
                if ((key & mask) == prefix) {
                    const u64 w = massOf(r, l);
                    if (w) atomicAdd(&histM[(key >> shift) & 255u], w);
                }
            }
            __syncthreads();
            if (warp == 0) {
                int d = -1;
                u64 above = 0;
                walkDigits<u64>(histM, need, &d, &above);
                if (d >= 0) {
                    selDigit = d;
                    selAbove = above;
                }
            }
            __syncthreads();
            prefix |= (unsigned)selDigit << shift;
            mask |= 255u << shift;
            need -= selAbove;
            __syncthreads();
        }
        if (prefix > r.keyMin) r.keyMin = prefix;
    }

    // The draw: each thread owns a contiguous range of ids; prefix sums of mass in id order.
    const int per = (V + blockDim.x - 1) / blockDim.x;
    const int lo = min(V, tid * per), hi = min(V, lo + per);
    u64 mine = 0;
    for (int e = lo; e < hi; e++) mine += massOf(r, clean(row[e]));
    u64 inc = mine;
    for (int o = 1; o < 32; o <<= 1) {
        const u64 v = __shfl_up_sync(FULL_MASK, inc, o);
        if (lane >= o) inc += v;
    }
    if (lane == 31) warpTot[warp] = inc;
    if (tid == 0) picked = -1;
    __syncthreads();
    u64 before = 0, total = 0;
    for (int w = 0; w < nwarps; w++) {
        if (w < warp) before += warpTot[w];
        total += warpTot[w];
    }
    const u64 ex = before + inc - mine;
    if (total == 0) {
        if (tid == 0) out[i] = argmax;
        return;
    }
    u64 target = (u64)(uniform01(seed[i], step[i]) * (double)total);
    if (target >= total) target = total - 1;
    if (mine > 0 && ex <= target && target < ex + mine) {
        u64 acc = ex;
        for (int e = lo; e < hi; e++) {
            acc += massOf(r, clean(row[e]));
            if (target < acc) {
                picked = e;
                break;
            }
        }
    }
    __syncthreads();
    if (tid == 0) out[i] = picked >= 0 ? picked : argmax;
}
EMU_KERNEL(sample_rows)

// ================================================================== weights

// dst[(r·stride + off)·cols + c] = src[r·cols + c], converted from F32 (0), BF16 (1) or F16 (2).
// stride 2 interleaves gate and up rows.
template <typename WT>
__device__ void convertRows(const void* __restrict__ src, int srcType, long long rows, int cols, WT* __restrict__ dst, int stride,
                            int off) {
    const long long n = rows * cols;
    for (long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x; e < n; e += (long long)gridDim.x * blockDim.x) {
        float v;
        if (srcType == 0) v = static_cast<const float*>(src)[e];
        else if (srcType == 1) v = bf2f(static_cast<const bf16*>(src)[e]);
        else v = h2f(static_cast<const unsigned short*>(src)[e]);
        const long long r = e / cols, c = e % cols;
        dst[(r * stride + off) * cols + c] = cvt<WT>(v);
    }
}

// Uniform values in [lo, hi) from (seed, index): random weights made on the device.
template <typename WT>
__device__ void initUniform(WT* __restrict__ dst, long long n, u64 seed, float lo, float hi) {
    for (long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x; e < n; e += (long long)gridDim.x * blockDim.x) {
        dst[e] = cvt<WT>(lo + (hi - lo) * (float)uniform01(seed, (u64)e));
    }
}

#define WEIGHT_KERNELS(S, WT)                                                                                         \
    extern "C" __global__ void convert_rows_##S(const void* src, int srcType, long long rows, int cols, WT* dst,      \
                                                int stride, int off) {                                               \
        convertRows<WT>(src, srcType, rows, cols, dst, stride, off);                                                  \
    }                                                                                                                 \
    EMU_KERNEL(convert_rows_##S)                                                                                      \
    extern "C" __global__ void init_uniform_##S(WT* dst, long long n, u64 seed, float lo, float hi) {                \
        initUniform<WT>(dst, n, seed, lo, hi);                                                                        \
    }                                                                                                                 \
    EMU_KERNEL(init_uniform_##S)

WEIGHT_KERNELS(f32, float)
WEIGHT_KERNELS(bf16, bf16)

// The Llama Transformer's kernels (RoPE, KV cache, attention) share this module and its helpers.
#include "llama.cu"
