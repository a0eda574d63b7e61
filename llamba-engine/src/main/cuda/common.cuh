// Helpers shared by the Llamba kernels: number formats, reductions, random numbers.
// Written against plain CUDA C so that the same source also compiles for the CPU kernel
// emulator of the tests (src/test/cuda-emu), which defines LLAMBA_EMU.
#pragma once

#ifdef LLAMBA_EMU
#include "cuda_emu.h"
#else
// Registers a kernel with the emulator; nothing to do on the device.
#define EMU_KERNEL(name)
// Dynamic shared memory, 16-byte aligned, viewed as T.
#define DYN_SMEM(T, name)                                                    \
    extern __shared__ __align__(16) unsigned char llamba_dyn_smem[];         \
    T* name = reinterpret_cast<T*>(llamba_dyn_smem)
#endif

typedef unsigned short bf16;          // bfloat16, as raw bits: the high half of a float
typedef unsigned long long u64;

#define FULL_MASK 0xffffffffu

// ------------------------------------------------------------------ number formats

__device__ __forceinline__ float bf2f(bf16 v) { return __uint_as_float(((unsigned)v) << 16); }

// Round to nearest even, as PyTorch and the CPU backend's checkpoint writer do; NaN stays NaN.
__device__ __forceinline__ bf16 f2bf(float f) {
    unsigned u = __float_as_uint(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (bf16)0x7fc0;
    u += 0x7fffu + ((u >> 16) & 1u);
    return (bf16)(u >> 16);
}

// IEEE half to float, subnormals included (F16 checkpoints are widened on upload).
__device__ __forceinline__ float h2f(unsigned short h) {
    unsigned s = (unsigned)(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
    float v;
    if (e == 0) v = (float)m * 5.9604644775390625e-8f;          // m · 2^-24
    else if (e == 31) v = __uint_as_float(0x7f800000u | (m << 13));
    else v = __uint_as_float(((e + 112u) << 23) | (m << 13));
    return __uint_as_float(__float_as_uint(v) | s);
}

__device__ __forceinline__ float ld(const float* p) { return *p; }
__device__ __forceinline__ float ld(const bf16* p) { return bf2f(*p); }

template <typename T> __device__ __forceinline__ T cvt(float f);
template <> __device__ __forceinline__ float cvt<float>(float f) { return f; }
template <> __device__ __forceinline__ bf16 cvt<bf16>(float f) { return f2bf(f); }

// f rounded to T's precision, as a float: what a GEMM on T-typed activations would see.
template <typename T> __device__ __forceinline__ float roundTo(float f);
template <> __device__ __forceinline__ float roundTo<float>(float f) { return f; }
template <> __device__ __forceinline__ float roundTo<bf16>(float f) { return bf2f(f2bf(f)); }

// ------------------------------------------------------------------ programmatic dependent launch

// Kernels are launched with programmatic stream serialization on sm_90: the next kernel may start
// once every block of this one has passed pdlWait(), so its launch and its reads of constant data
// (weights, states no earlier kernel of the pass touches) overlap this kernel's tail. Anything the
// previous kernel writes is read only after pdlWait(). Elsewhere both are no-ops.
__device__ __forceinline__ void pdlWait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.wait;" ::: "memory");
    asm volatile("griddepcontrol.launch_dependents;" :::);
#endif
}

// ------------------------------------------------------------------ asynchronous copies to shared memory

// cp.async (sm_80 on): a copy from global to shared memory that holds no registers while in flight,
// so a block can have the next item's data on the way while it computes the current one. The
// emulator (and any device without it) copies at once, which is the same once waited for.
__device__ __forceinline__ void cpAsync16(void* smem, const void* gmem) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    const unsigned s = (unsigned)__cvta_generic_to_shared(smem);
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16;" ::"r"(s), "l"(gmem) : "memory");
#else
    *reinterpret_cast<uint4*>(smem) = *reinterpret_cast<const uint4*>(gmem);
#endif
}
__device__ __forceinline__ void cpAsync4(void* smem, const void* gmem) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    const unsigned s = (unsigned)__cvta_generic_to_shared(smem);
    asm volatile("cp.async.ca.shared.global [%0], [%1], 4;" ::"r"(s), "l"(gmem) : "memory");
#else
    *reinterpret_cast<unsigned*>(smem) = *reinterpret_cast<const unsigned*>(gmem);
#endif
}
// Closes the group of copies this thread issued since the last commit.
__device__ __forceinline__ void cpAsyncCommit() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    asm volatile("cp.async.commit_group;" ::: "memory");
#endif
}
// Waits until at most the newest group of this thread's copies is still in flight.
__device__ __forceinline__ void cpAsyncWaitAllButNewest() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    asm volatile("cp.async.wait_group 1;" ::: "memory");
#endif
}

// ------------------------------------------------------------------ vectors of four

__device__ __forceinline__ float4 load4(const float* p) { return *reinterpret_cast<const float4*>(p); }
__device__ __forceinline__ float4 load4(const bf16* p) {
    const uint2 u = *reinterpret_cast<const uint2*>(p);
    return make_float4(__uint_as_float(u.x << 16), __uint_as_float(u.x & 0xffff0000u), __uint_as_float(u.y << 16),
                       __uint_as_float(u.y & 0xffff0000u));
}
__device__ __forceinline__ void store4(float* p, float4 v) { *reinterpret_cast<float4*>(p) = v; }
__device__ __forceinline__ void store4(bf16* p, float4 v) {
    uint2 u;
    u.x = (unsigned)f2bf(v.x) | ((unsigned)f2bf(v.y) << 16);
    u.y = (unsigned)f2bf(v.z) | ((unsigned)f2bf(v.w) << 16);
    *reinterpret_cast<uint2*>(p) = u;
}

// 16 bytes of state: four f32 or eight bf16 values, widened to floats.
template <typename ST> struct Piece;
template <> struct Piece<float> { static constexpr int n = 4; };
template <> struct Piece<bf16> { static constexpr int n = 8; };

__device__ __forceinline__ void loadPiece(const float* p, float* v) {
    const float4 a = load4(p);
    v[0] = a.x; v[1] = a.y; v[2] = a.z; v[3] = a.w;
}
__device__ __forceinline__ void loadPiece(const bf16* p, float* v) {
    const uint4 q = *reinterpret_cast<const uint4*>(p);
    const unsigned w[4] = {q.x, q.y, q.z, q.w};
#pragma unroll
    for (int i = 0; i < 4; i++) {
        v[2 * i] = __uint_as_float(w[i] << 16);
        v[2 * i + 1] = __uint_as_float(w[i] & 0xffff0000u);
    }
}
__device__ __forceinline__ void storePiece(float* p, const float* v) { store4(p, make_float4(v[0], v[1], v[2], v[3])); }
__device__ __forceinline__ void storePiece(bf16* p, const float* v) {
    uint4 q;
    q.x = (unsigned)f2bf(v[0]) | ((unsigned)f2bf(v[1]) << 16);
    q.y = (unsigned)f2bf(v[2]) | ((unsigned)f2bf(v[3]) << 16);
    q.z = (unsigned)f2bf(v[4]) | ((unsigned)f2bf(v[5]) << 16);
    q.w = (unsigned)f2bf(v[6]) | ((unsigned)f2bf(v[7]) << 16);
    *reinterpret_cast<uint4*>(p) = q;
}

// ------------------------------------------------------------------ activations

__device__ __forceinline__ float silu(float v) { return v / (1.0f + expf(-v)); }

__device__ __forceinline__ float softplus(float v) { return v > 20.0f ? v : log1pf(expf(v)); }

// ------------------------------------------------------------------ reductions

__device__ __forceinline__ float warpSum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(FULL_MASK, v, o);
    return v;
}

// Sum over the block; every thread gets the result. scratch: 32 floats of shared memory.
__device__ __forceinline__ float blockSum(float v, float* scratch) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
    v = warpSum(v);
    __syncthreads();  // scratch may still be read by a previous call
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    float r = lane < nwarps ? scratch[lane] : 0.0f;
    return warpSum(r);
}

// ------------------------------------------------------------------ random numbers

// splitmix64 of (seed, counter): a counter-based generator, so a draw depends only on the
// sequence's seed and its step, never on the batch or the launch.
__device__ __forceinline__ u64 mix64(u64 z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

// Uniform in [0, 1) with 53 random bits.
__device__ __forceinline__ double uniform01(u64 seed, u64 counter) {
    u64 z = mix64(seed + 0x9E3779B97F4A7C15ull * (counter + 1));
    return (double)(z >> 11) * (1.0 / 9007199254740992.0);
}
