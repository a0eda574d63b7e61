// The Llama-3.x Transformer's own kernels (io.llamba.engine.cuda.LlamaCudaModel): RoPE with the
// KV cache write, and attention over the cache. Embedding, RMSNorm, the projections (GEMV and
// cuBLAS), SwiGLU and sampling are Llamba's kernels in llamba.cu, which includes this file so that
// both land in one fatbin (and in the tests' CPU emulator).
//
// The KV cache of a sequence is one device region (its state slot), position-major:
//   slot + p·perPos elements:  [layer][k | v][kv head][head_dim]     (KT = float or bf16)
// so a position's keys and values of every layer sit together, a prefix of positions is one
// contiguous range (snapshots copy [0, position)), and the layout does not depend on the slot's
// context limit. Every token of a pass has its key and value written before attention runs, so
// attention reads only the cache: a row at position p attends to cache positions [0, p].
//
// Attention works in f32 whatever the cache holds; its output is rounded to the weight format
// (the input of o_proj), as Llamba's mixer output is.
#include "common.cuh"

// ================================================================== RoPE and the cache write

// cos/sin of every row's angles, in double as the CPU backend computes them: a = pos·inv_freq[i].
extern "C" __global__ void rope_angles(const int* __restrict__ rowPos, const double* __restrict__ invFreq, int T, int half,
                                       float* __restrict__ cosT, float* __restrict__ sinT) {
    pdlWait();
    for (long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x; e < (long long)T * half; e += (long long)gridDim.x * blockDim.x) {
        const int r = (int)(e / half), i = (int)(e % half);
        const double a = (double)rowPos[r] * invFreq[i];
        cosT[e] = (float)cos(a);
        sinT[e] = (float)sin(a);
    }
}
EMU_KERNEL(rope_angles)

// One block per row: rotates the row's query heads in place (pairs i, i + d/2: Hugging Face's
// "rotate half"), rotates its key heads and writes keys and values to the row's cache position.
template <typename KT>
__device__ void ropeStore(float* __restrict__ qkv, int ldq, const float* __restrict__ cosT, const float* __restrict__ sinT,
                          const int* __restrict__ rowSeg, const int* __restrict__ rowPos, const u64* __restrict__ segState,
                          long long layerOff, long long perPos, int H, int KVH, int hd) {
    pdlWait();
    const int r = blockIdx.x, half = hd / 2;
    float* q = qkv + (size_t)r * ldq;
    const float* k = q + H * hd;
    const float* v = k + KVH * hd;
    const float* cs = cosT + (size_t)r * half;
    const float* sn = sinT + (size_t)r * half;
    KT* dst = reinterpret_cast<KT*>(segState[rowSeg[r]]) + (size_t)rowPos[r] * perPos + layerOff;
    const int nq = H * half, nk = KVH * half, nv = KVH * hd;
    for (int e = threadIdx.x; e < nq + nk + nv; e += blockDim.x) {
        if (e < nq) {
            const int h = e / half, i = e % half;
            float* x = q + h * hd;
            const float x0 = x[i], x1 = x[i + half], c = cs[i], s = sn[i];
            x[i] = x0 * c - x1 * s;
            x[i + half] = x1 * c + x0 * s;
        } else if (e < nq + nk) {
            const int g = (e - nq) / half, i = (e - nq) % half;
            const float* x = k + g * hd;
            const float x0 = x[i], x1 = x[i + half], c = cs[i], s = sn[i];
            dst[g * hd + i] = cvt<KT>(x0 * c - x1 * s);
            dst[g * hd + i + half] = cvt<KT>(x1 * c + x0 * s);
        } else {
            const int j = e - nq - nk;
            dst[nv + j] = cvt<KT>(v[j]);
        }
    }
}

// ================================================================== attention of single rows (decode)

// One block per (kv head, batch of up to ATT_MAXG of its query heads, split of the keys) and row:
// the row's keys [0, pos] are cut into rowSplits[r] ranges ("flash decoding"), so that a long
// context still spreads over the device; each range is read once for the heads of the group
// (grouped-query attention). Keys are taken ATT_CH at a time: scores into shared memory, an online
// softmax update, then the weighted sum of the values. One split writes the row's output; several
// write (max, sum, unnormalised output) records that attn_combine merges.
// Each key is handled by TPK lanes: with d/TPK values a lane in one 16-byte piece when the head
// dimension allows (64 or 128: 8 or 16 lanes for bf16), otherwise with up to QD dimensions a lane,
// strided by TPK (the least power of two that covers the head; any head_dim ≤ 128).
#define ATT_THREADS 128
#define ATT_CH 128
#define ATT_MAXG 4
#define ATT_UNROLL 4  // keys per lane loaded before use: memory-level parallelism for long contexts

template <typename KT>
__device__ __forceinline__ bool attPieces(int hd) {
    constexpr int VS = Piece<KT>::n;
    if (hd % VS != 0 || hd / VS > 32) return false;
    const int t = hd / VS;
    return (t & (t - 1)) == 0;
}

template <typename KT, typename OT>
__device__ void attnDecode(const float* __restrict__ qkv, int ldq, const int* __restrict__ rows, const int* __restrict__ rowSeg,
                           const int* __restrict__ rowPos, const int* __restrict__ rowSplits, const int* __restrict__ rowPart,
                           const u64* __restrict__ segState, long long layerOff, long long perPos, int H, int KVH, int hd, float scale,
                           int S, float* __restrict__ part, OT* __restrict__ out, int ldo) {
    DYN_SMEM(float, sm);
    __shared__ float mS[ATT_MAXG], lS[ATT_MAXG], aS[ATT_MAXG];
    pdlWait();
    const int G = H / KVH, HB = (G + ATT_MAXG - 1) / ATT_MAXG;
    const int split = blockIdx.x % S, hb = (blockIdx.x / S) % HB, g = blockIdx.x / (S * HB);
    const int r = rows[blockIdx.y];
    const int ns = rowSplits[r];
    if (split >= ns) return;
    const int n = rowPos[r] + 1;
    const int per = (n + ns - 1) / ns;
    const int k0 = min(n, split * per), k1 = min(n, k0 + per);
    const int hfirst = hb * ATT_MAXG, nh = min(ATT_MAXG, G - hfirst), h0 = g * G + hfirst;
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;

    constexpr int VS = Piece<KT>::n;
    constexpr int QD = VS > 4 ? VS : 4;     // registers per head: a piece, or up to 4 (f32) / 8 (bf16) strided dims
    const bool pieces = attPieces<KT>(hd);
    int TPK = pieces ? hd / VS : 1;
    while (!pieces && TPK * QD < hd) TPK *= 2;
    const int KG = ATT_THREADS / TPK;
    const int kg = tid / TPK, sub = tid % TPK;
    float* sc = sm;                         // [ATT_MAXG][ATT_CH] scores, then weights
    float* red = sc + ATT_MAXG * ATT_CH;    // [KG][nh][hd] partial outputs, summed at the end

    const KT* cache = reinterpret_cast<const KT*>(segState[rowSeg[r]]) + layerOff;
    const KT* K = cache + g * hd;
    const KT* V = cache + (KVH + g) * hd;
    const float* qrow = qkv + (size_t)r * ldq;

    // This lane's query values (pieces: VS contiguous dimensions; otherwise dims sub, sub+TPK, ...), scaled.
    float qv[ATT_MAXG][QD], acc[ATT_MAXG][QD];
#pragma unroll
    for (int h = 0; h < ATT_MAXG; h++)
#pragma unroll
        for (int e = 0; e < QD; e++) {
            const int d = pieces ? sub * VS + e : sub + TPK * e;
            const bool ok = h < nh && (pieces ? e < VS : d < hd);
            qv[h][e] = ok ? qrow[(h0 + h) * hd + d] * scale : 0.0f;
            acc[h][e] = 0.0f;
        }
    if (tid < ATT_MAXG) {
        mS[tid] = -INFINITY;
        lS[tid] = 0.0f;
    }
    __syncthreads();

    for (int c0 = k0; c0 < k1; c0 += ATT_CH) {
        const int cn = min(ATT_CH, k1 - c0);
        for (int base = 0; base < cn; base += KG * ATT_UNROLL) {  // the same trips in every lane of a warp (shuffles below)
            float kv[ATT_UNROLL][QD];  // ATT_UNROLL keys' loads in flight per lane before any is used
#pragma unroll
            for (int u = 0; u < ATT_UNROLL; u++) {
                const int i = base + u * KG + kg;
                const bool ok = i < cn;
                if (pieces) {
                    if (ok) {
                        loadPiece(K + (size_t)(c0 + i) * perPos + sub * VS, kv[u]);
                    } else {
#pragma unroll
                        for (int e = 0; e < QD; e++) kv[u][e] = 0.0f;
                    }
                } else {
#pragma unroll
                    for (int e = 0; e < QD; e++) {
                        const int d = sub + TPK * e;
                        kv[u][e] = ok && d < hd ? ld(K + (size_t)(c0 + i) * perPos + d) : 0.0f;
                    }
                }
            }
#pragma unroll
            for (int u = 0; u < ATT_UNROLL; u++) {
                const int i = base + u * KG + kg;
#pragma unroll
                for (int h = 0; h < ATT_MAXG; h++) {
                    if (h < nh) {  // the same in every thread of the block
                        float s = 0.0f;
#pragma unroll
                        for (int e = 0; e < QD; e++) s += qv[h][e] * kv[u][e];
                        for (int o = TPK >> 1; o > 0; o >>= 1) s += __shfl_xor_sync(FULL_MASK, s, o);
                        if (i < cn && sub == 0) sc[h * ATT_CH + i] = s;
                    }
                }
            }
        }
        __syncthreads();
        if (warp < nh) {  // online softmax over this chunk, one warp per head
            const int h = warp;
            float cm = -INFINITY;
            for (int i = lane; i < cn; i += 32) cm = fmaxf(cm, sc[h * ATT_CH + i]);
            for (int o = 16; o > 0; o >>= 1) cm = fmaxf(cm, __shfl_xor_sync(FULL_MASK, cm, o));
            const float mOld = mS[h], mNew = fmaxf(mOld, cm);
            float sum = 0.0f;
            for (int i = lane; i < cn; i += 32) {
                const float p = expf(sc[h * ATT_CH + i] - mNew);
                sc[h * ATT_CH + i] = p;
                sum += p;
            }
            sum = warpSum(sum);
            if (lane == 0) {
                const float alpha = mOld == -INFINITY ? 0.0f : expf(mOld - mNew);
                aS[h] = alpha;
                mS[h] = mNew;
                lS[h] = lS[h] * alpha + sum;
            }
        }
        __syncthreads();
#pragma unroll
        for (int h = 0; h < ATT_MAXG; h++) {
            const float a = h < nh ? aS[h] : 0.0f;
#pragma unroll
            for (int e = 0; e < QD; e++) acc[h][e] *= a;
        }
        for (int base = 0; base < cn; base += KG * ATT_UNROLL) {
            float vv[ATT_UNROLL][QD];
#pragma unroll
            for (int u = 0; u < ATT_UNROLL; u++) {
                const int i = base + u * KG + kg;
                if (pieces) {
                    if (i < cn) {
                        loadPiece(V + (size_t)(c0 + i) * perPos + sub * VS, vv[u]);
                    } else {
#pragma unroll
                        for (int e = 0; e < QD; e++) vv[u][e] = 0.0f;
                    }
                } else {
#pragma unroll
                    for (int e = 0; e < QD; e++) {
                        const int d = sub + TPK * e;
                        vv[u][e] = i < cn && d < hd ? ld(V + (size_t)(c0 + i) * perPos + d) : 0.0f;
                    }
                }
            }
#pragma unroll
            for (int u = 0; u < ATT_UNROLL; u++) {
                const int i = base + u * KG + kg;
#pragma unroll
                for (int h = 0; h < ATT_MAXG; h++) {
                    const float p = h < nh && i < cn ? sc[h * ATT_CH + i] : 0.0f;
#pragma unroll
                    for (int e = 0; e < QD; e++) acc[h][e] += p * vv[u][e];
                }
            }
        }
        __syncthreads();  // the scores are rewritten by the next chunk
    }

    // Partial outputs of the key groups meet in shared memory, summed in group order.
#pragma unroll
    for (int h = 0; h < ATT_MAXG; h++)
#pragma unroll
        for (int e = 0; e < QD; e++) {
            const int d = pieces ? sub * VS + e : sub + TPK * e;
            if (h < nh && (pieces ? e < VS : d < hd)) red[((size_t)kg * nh + h) * hd + d] = acc[h][e];
        }
    __syncthreads();
    for (int e = tid; e < nh * hd; e += ATT_THREADS) {
        const int h = e / hd, d = e % hd;
        float s = 0.0f;
        for (int j = 0; j < KG; j++) s += red[((size_t)j * nh + h) * hd + d];
        if (ns == 1) {
            out[(size_t)r * ldo + (h0 + h) * hd + d] = cvt<OT>(s / lS[h]);
        } else {
            float* rec = part + ((size_t)(rowPart[r] + split) * H + h0 + h) * (hd + 2);
            rec[2 + d] = s;
            if (d == 0) {
                rec[0] = mS[h];
                rec[1] = lS[h];
            }
        }
    }
}

// Merges the split records of a row and head: out = Σ acc_s e^{m_s-M} / Σ l_s e^{m_s-M}, in split
// order. Rows computed in one piece were written by the attention kernel itself.
template <typename OT>
__device__ void attnCombine(const int* __restrict__ rowSplits, const int* __restrict__ rowPart, const float* __restrict__ part, int H,
                            int hd, OT* __restrict__ out, int ldo) {
    pdlWait();
    const int h = blockIdx.x, r = blockIdx.y, ns = rowSplits[r];
    if (ns <= 1) return;
    const size_t stride = (size_t)H * (hd + 2);
    const float* rec = part + ((size_t)rowPart[r] * H + h) * (hd + 2);
    float M = -INFINITY;
    for (int s = 0; s < ns; s++)
        if (rec[s * stride + 1] > 0.0f) M = fmaxf(M, rec[s * stride]);
    float L = 0.0f;
    for (int s = 0; s < ns; s++) {
        const float l = rec[s * stride + 1];
        if (l > 0.0f) L += l * expf(rec[s * stride] - M);
    }
    for (int d = threadIdx.x; d < hd; d += blockDim.x) {
        float o = 0.0f;
        for (int s = 0; s < ns; s++) {
            const float l = rec[s * stride + 1];
            if (l > 0.0f) o += rec[s * stride + 2 + d] * expf(rec[s * stride] - M);
        }
        out[(size_t)r * ldo + h * hd + d] = cvt<OT>(o / L);
    }
}

// ================================================================== attention of prompt chunks (prefill)

// A tile of up to PF_QV query vectors (consecutive rows of one segment × the query heads of one kv
// head) against the keys in chunks of PF_KC: Q·Kᵀ as 4×4 register tiles per thread from shared
// memory (transposed, so that four queries or four keys are one 16-byte read), the causal mask
// (a row at position p sees keys ≤ p), an online softmax per query vector, and P·V with each
// thread holding 4 queries × ⌈d/16⌉ dimensions. Long contexts may split the key chunks of a tile
// over several blocks (records merged by attn_combine, as in decode).
#define PF_THREADS 256
#define PF_QV 64
#define PF_KC 64
#define PF_P 68  // row pitch of the transposed tiles: 16-byte aligned, and fewer bank conflicts when filled
#define PF_DT 8  // dimensions per thread in P·V: head_dim ≤ 128
#define PF_LOADS 2  // 16-byte pieces of keys (and of values) per thread per round

template <typename KT, typename OT>
__device__ void attnPrefill(const float* __restrict__ qkv, int ldq, const int* __restrict__ tileRow0, const int* __restrict__ tileRows,
                            const int* __restrict__ rowSeg, const int* __restrict__ rowPos, const int* __restrict__ rowSplits,
                            const int* __restrict__ rowPart, const u64* __restrict__ segState, long long layerOff, long long perPos, int H,
                            int KVH, int hd, float scale, int S, float* __restrict__ part, OT* __restrict__ out, int ldo) {
    DYN_SMEM(float, sm);
    __shared__ float mS[PF_QV], lS[PF_QV], aS[PF_QV];
    pdlWait();
    const int split = blockIdx.x % S, g = blockIdx.x / S, t = blockIdx.y;
    const int row0 = tileRow0[t], nr = tileRows[t], G = H / KVH, nvec = nr * G;
    const int ns = rowSplits[row0];
    if (split >= ns) return;
    const int pos0 = rowPos[row0], n = pos0 + nr;  // keys [0, n): the last row sees all of them
    const int chunks = (n + PF_KC - 1) / PF_KC, per = (chunks + ns - 1) / ns;
    const int cBegin = split * per, cEnd = min(chunks, cBegin + per);
    const int tid = threadIdx.x;
    constexpr int VS = Piece<KT>::n;
    float* Qs = sm;                  // [hd][PF_P]   scaled queries, transposed
    float* Ks = Qs + hd * PF_P;      // [hd][PF_P]   keys of the chunk, transposed
    float* Vs = Ks + hd * PF_P;      // [PF_KC][hd]
    float* Ps = Vs + PF_KC * hd;     // [PF_KC][PF_P] scores, then weights, transposed
    const KT* cache = reinterpret_cast<const KT*>(segState[rowSeg[row0]]) + layerOff;
    const KT* K = cache + g * hd;
    const KT* V = cache + (KVH + g) * hd;

    for (int e = tid; e < PF_QV * hd; e += PF_THREADS) {
        const int v = e / hd, d = e % hd;
        Qs[d * PF_P + v] = v < nvec ? qkv[(size_t)(row0 + v / G) * ldq + (g * G + v % G) * hd + d] * scale : 0.0f;
    }
    if (tid < PF_QV) {
        mS[tid] = -INFINITY;
        lS[tid] = 0.0f;
    }
    const int qg = tid % 16, kg = tid / 16;  // S: queries 4qg.., keys 4kg..; P·V: queries 4qg.., dims kg + 16j
    float acc[4][PF_DT];
#pragma unroll
    for (int i = 0; i < 4; i++)
#pragma unroll
        for (int j = 0; j < PF_DT; j++) acc[i][j] = 0.0f;

    for (int c = cBegin; c < cEnd; c++) {
        const int kb = c * PF_KC, kn = min(PF_KC, n - kb);
        __syncthreads();  // the previous chunk's tiles are no longer read
        if (hd % VS == 0) {  // 16-byte pieces, PF_LOADS of keys and of values in flight per thread
            const int ppk = hd / VS, np = PF_KC * ppk;
            for (int p0 = tid; p0 < np; p0 += PF_THREADS * PF_LOADS) {
                float kf[PF_LOADS][VS], vf[PF_LOADS][VS];
#pragma unroll
                for (int u = 0; u < PF_LOADS; u++) {
                    const int p = p0 + u * PF_THREADS, k = p / ppk, d0 = (p % ppk) * VS;
                    if (p < np && k < kn) {
                        loadPiece(K + (size_t)(kb + k) * perPos + d0, kf[u]);
                        loadPiece(V + (size_t)(kb + k) * perPos + d0, vf[u]);
                    } else {
#pragma unroll
                        for (int e = 0; e < VS; e++) kf[u][e] = vf[u][e] = 0.0f;
                    }
                }
#pragma unroll
                for (int u = 0; u < PF_LOADS; u++) {
                    const int p = p0 + u * PF_THREADS, k = p / ppk, d0 = (p % ppk) * VS;
                    if (p < np) {
#pragma unroll
                        for (int e = 0; e < VS; e++) {
                            Ks[(d0 + e) * PF_P + k] = kf[u][e];
                            Vs[k * hd + d0 + e] = vf[u][e];
                        }
                    }
                }
            }
        } else {
            for (int e = tid; e < PF_KC * hd; e += PF_THREADS) {
                const int k = e / hd, d = e % hd;
                const bool ok = k < kn;
                Ks[d * PF_P + k] = ok ? ld(K + (size_t)(kb + k) * perPos + d) : 0.0f;
                Vs[k * hd + d] = ok ? ld(V + (size_t)(kb + k) * perPos + d) : 0.0f;
            }
        }
        __syncthreads();
        float s[4][4];
#pragma unroll
        for (int i = 0; i < 4; i++)
#pragma unroll
            for (int j = 0; j < 4; j++) s[i][j] = 0.0f;
        for (int d = 0; d < hd; d++) {
            const float4 a = *reinterpret_cast<const float4*>(Qs + d * PF_P + 4 * qg);
            const float4 b = *reinterpret_cast<const float4*>(Ks + d * PF_P + 4 * kg);
            const float av[4] = {a.x, a.y, a.z, a.w}, bv[4] = {b.x, b.y, b.z, b.w};
#pragma unroll
            for (int i = 0; i < 4; i++)
#pragma unroll
                for (int j = 0; j < 4; j++) s[i][j] += av[i] * bv[j];
        }
#pragma unroll
        for (int i = 0; i < 4; i++) {
            const int v = 4 * qg + i;
            const int last = pos0 + v / G;  // the query's own position
#pragma unroll
            for (int j = 0; j < 4; j++) {
                const int k = 4 * kg + j;
                Ps[k * PF_P + v] = v < nvec && k < kn && kb + k <= last ? s[i][j] : -INFINITY;
            }
        }
        __syncthreads();
        {  // online softmax: four lanes per query vector, 16 keys each
            const int v = tid >> 2, q4 = tid & 3;
            float cm = -INFINITY;
            for (int k = 16 * q4; k < 16 * q4 + 16; k++) cm = fmaxf(cm, Ps[k * PF_P + v]);
            cm = fmaxf(cm, __shfl_xor_sync(FULL_MASK, cm, 1));
            cm = fmaxf(cm, __shfl_xor_sync(FULL_MASK, cm, 2));
            const float mOld = mS[v], mNew = fmaxf(mOld, cm);
            float sum = 0.0f;
            for (int k = 16 * q4; k < 16 * q4 + 16; k++) {
                const float p = mNew == -INFINITY ? 0.0f : expf(Ps[k * PF_P + v] - mNew);
                Ps[k * PF_P + v] = p;
                sum += p;
            }
            sum += __shfl_xor_sync(FULL_MASK, sum, 1);
            sum += __shfl_xor_sync(FULL_MASK, sum, 2);
            if (q4 == 0) {
                const float alpha = mOld == -INFINITY ? 0.0f : expf(mOld - mNew);
                aS[v] = alpha;
                mS[v] = mNew;
                lS[v] = lS[v] * alpha + sum;
            }
        }
        __syncthreads();
#pragma unroll
        for (int i = 0; i < 4; i++) {
            const float a = aS[4 * qg + i];
#pragma unroll
            for (int j = 0; j < PF_DT; j++) acc[i][j] *= a;
        }
        for (int k = 0; k < kn; k++) {
            const float4 p = *reinterpret_cast<const float4*>(Ps + k * PF_P + 4 * qg);
            const float pv[4] = {p.x, p.y, p.z, p.w};
#pragma unroll
            for (int j = 0; j < PF_DT; j++) {
                const int d = kg + 16 * j;
                const float vv = d < hd ? Vs[k * hd + d] : 0.0f;
#pragma unroll
                for (int i = 0; i < 4; i++) acc[i][j] += pv[i] * vv;
            }
        }
    }
    __syncthreads();
#pragma unroll
    for (int i = 0; i < 4; i++) {
        const int v = 4 * qg + i;
        if (v >= nvec) continue;
        const int r = row0 + v / G, h = g * G + v % G;
#pragma unroll
        for (int j = 0; j < PF_DT; j++) {
            const int d = kg + 16 * j;
            if (d >= hd) continue;
            if (ns == 1) {
                out[(size_t)r * ldo + h * hd + d] = cvt<OT>(acc[i][j] / lS[v]);
            } else {
                float* rec = part + ((size_t)(rowPart[r] + split) * H + h) * (hd + 2);
                rec[2 + d] = acc[i][j];
                if (d == 0) {
                    rec[0] = mS[v];
                    rec[1] = lS[v];
                }
            }
        }
    }
}

#define ROPE_KERNELS(KS, KT)                                                                                           \
    extern "C" __global__ void rope_store_##KS(float* qkv, int ldq, const float* cosT, const float* sinT, const int* rowSeg, \
                                               const int* rowPos, const u64* segState, long long layerOff, long long perPos, \
                                               int H, int KVH, int hd) {                                               \
        ropeStore<KT>(qkv, ldq, cosT, sinT, rowSeg, rowPos, segState, layerOff, perPos, H, KVH, hd);                  \
    }                                                                                                                  \
    EMU_KERNEL(rope_store_##KS)

ROPE_KERNELS(f32, float)
ROPE_KERNELS(bf16, bf16)

#define ATTN_KERNELS(KS, KT, OS, OT)                                                                                   \
    extern "C" __global__ void __launch_bounds__(ATT_THREADS) attn_decode_##KS##_##OS(                                 \
        const float* qkv, int ldq, const int* rows, const int* rowSeg, const int* rowPos, const int* rowSplits,         \
        const int* rowPart, const u64* segState, long long layerOff, long long perPos, int H, int KVH, int hd,         \
        float scale, int S, float* part, OT* out, int ldo) {                                                           \
        attnDecode<KT, OT>(qkv, ldq, rows, rowSeg, rowPos, rowSplits, rowPart, segState, layerOff, perPos, H, KVH, hd,  \
                           scale, S, part, out, ldo);                                                                  \
    }                                                                                                                  \
    EMU_KERNEL(attn_decode_##KS##_##OS)                                                                                \
    extern "C" __global__ void __launch_bounds__(PF_THREADS) attn_prefill_##KS##_##OS(                                 \
        const float* qkv, int ldq, const int* tileRow0, const int* tileRows, const int* rowSeg, const int* rowPos,     \
        const int* rowSplits, const int* rowPart, const u64* segState, long long layerOff, long long perPos, int H,    \
        int KVH, int hd, float scale, int S, float* part, OT* out, int ldo) {                                          \
        attnPrefill<KT, OT>(qkv, ldq, tileRow0, tileRows, rowSeg, rowPos, rowSplits, rowPart, segState, layerOff,      \
                            perPos, H, KVH, hd, scale, S, part, out, ldo);                                             \
    }                                                                                                                  \
    EMU_KERNEL(attn_prefill_##KS##_##OS)

ATTN_KERNELS(f32, float, f32, float)
ATTN_KERNELS(f32, float, bf16, bf16)
ATTN_KERNELS(bf16, bf16, f32, float)
ATTN_KERNELS(bf16, bf16, bf16, bf16)

#define COMBINE_KERNELS(OS, OT)                                                                                        \
    extern "C" __global__ void attn_combine_##OS(const int* rowSplits, const int* rowPart, const float* part, int H,    \
                                                 int hd, OT* out, int ldo) {                                           \
        attnCombine<OT>(rowSplits, rowPart, part, H, hd, out, ldo);                                                    \
    }                                                                                                                  \
    EMU_KERNEL(attn_combine_##OS)

COMBINE_KERNELS(f32, float)
COMBINE_KERNELS(bf16, bf16)
