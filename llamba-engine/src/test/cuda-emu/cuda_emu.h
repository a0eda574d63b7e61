// A CPU stand-in for the few CUDA built-ins the Llamba kernels use, so that llamba.cu compiles
// with g++ and runs in the tests on machines without a GPU. Every thread of a block is a fiber
// (ucontext) on one OS thread; __syncthreads and the warp shuffles switch fibers, blocks run one
// after another. __shared__ variables become statics: shared by the block that runs, as on the
// device. It checks the kernels' indexing, synchronisation and arithmetic, not their speed.
#pragma once

#include <math.h>
#include <stdint.h>
#include <string.h>

#include <functional>
#include <type_traits>
#include <utility>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static
#define __launch_bounds__(...)
#define __align__(n) alignas(n)

struct uint3 {
    unsigned x, y, z;
};
struct dim3 {
    unsigned x, y, z;
};
struct alignas(16) uint4 {
    unsigned x, y, z, w;
};
struct alignas(16) float4 {
    float x, y, z, w;
};
struct alignas(8) uint2 {
    unsigned x, y;
};
inline float4 make_float4(float x, float y, float z, float w) { return float4{x, y, z, w}; }

namespace emu {
extern uint3 threadIdx_;
extern uint3 blockIdx_;
extern dim3 blockDim_;
extern dim3 gridDim_;
void syncthreads();
void syncwarp();
void* dynamicSharedMemory();
// The calling thread's exchange slot, and a lane's slot of the calling thread's warp.
unsigned long long* mySlot();
unsigned long long laneSlot(int lane);

void registerKernel(const char* name, std::function<void(void**)> thunk);

template <typename... A, size_t... I>
void invokeWith(void (*f)(A...), void** args, std::index_sequence<I...>) {
    f(*static_cast<std::remove_cv_t<std::remove_reference_t<A>>*>(args[I])...);
}

template <typename... A>
struct Registrar {
    Registrar(const char* name, void (*f)(A...)) {
        registerKernel(name, [f](void** args) { invokeWith(f, args, std::index_sequence_for<A...>{}); });
    }
};

template <typename T>
T shuffle(T v, int srcLane) {
    static_assert(sizeof(T) <= 8, "shuffle of at most 8 bytes");
    unsigned long long slot = 0;
    memcpy(&slot, &v, sizeof(T));
    *mySlot() = slot;
    syncwarp();
    unsigned long long got = laneSlot(srcLane);
    syncwarp();
    T r;
    memcpy(&r, &got, sizeof(T));
    return r;
}
}  // namespace emu

#define threadIdx (emu::threadIdx_)
#define blockIdx (emu::blockIdx_)
#define blockDim (emu::blockDim_)
#define gridDim (emu::gridDim_)

#define EMU_KERNEL(name) static emu::Registrar emu_registrar_##name(#name, &name);
#define DYN_SMEM(T, name) T* name = reinterpret_cast<T*>(emu::dynamicSharedMemory())

inline void __syncthreads() { emu::syncthreads(); }
inline void __syncwarp() { emu::syncwarp(); }

template <typename T>
inline T __shfl_xor_sync(unsigned, T v, int laneMask) {
    return emu::shuffle(v, (int)(threadIdx.x & 31) ^ laneMask);
}
template <typename T>
inline T __shfl_up_sync(unsigned, T v, unsigned delta) {
    int lane = (int)(threadIdx.x & 31);
    T other = emu::shuffle(v, lane >= (int)delta ? lane - (int)delta : lane);
    return lane >= (int)delta ? other : v;
}
template <typename T>
inline T __shfl_sync(unsigned, T v, int srcLane) {
    return emu::shuffle(v, srcLane & 31);
}

// Fibers switch only at barriers, so read-modify-write is atomic here.
inline unsigned atomicAdd(unsigned* p, unsigned v) {
    unsigned o = *p;
    *p = o + v;
    return o;
}
inline unsigned long long atomicAdd(unsigned long long* p, unsigned long long v) {
    unsigned long long o = *p;
    *p = o + v;
    return o;
}
inline int atomicAdd(int* p, int v) {
    int o = *p;
    *p = o + v;
    return o;
}
inline float atomicAdd(float* p, float v) {
    float o = *p;
    *p = o + v;
    return o;
}

inline float __uint_as_float(unsigned u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}
inline unsigned __float_as_uint(float f) {
    unsigned u;
    memcpy(&u, &f, 4);
    return u;
}
inline int min(int a, int b) { return a < b ? a : b; }
inline int max(int a, int b) { return a > b ? a : b; }
inline long long min(long long a, long long b) { return a < b ? a : b; }
