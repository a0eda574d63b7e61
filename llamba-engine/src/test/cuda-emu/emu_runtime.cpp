// The emulator's runtime: kernel registry, the fiber scheduler behind every launch, and a
// reference of cublasGemmEx (column-major, as cuBLAS) for the tests' emulated device.
#include "cuda_emu.h"

#include <stdint.h>
#include <ucontext.h>

#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace emu {
uint3 threadIdx_;
uint3 blockIdx_;
dim3 blockDim_;
dim3 gridDim_;

namespace {
enum State { RUNNABLE, AT_BLOCK_BARRIER, AT_WARP_BARRIER, DONE };

// Fibers switch by saving the callee-saved registers on their own stack (x86-64 System V): far
// cheaper than swapcontext, which makes a system call per switch. Other CPUs use ucontext.
#if defined(__x86_64__)
extern "C" void emu_switch(void** saveSp, void* loadSp);
asm(R"(
.text
.globl emu_switch
.type emu_switch,@function
emu_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
.size emu_switch, .-emu_switch
.section .note.GNU-stack,"",@progbits
.text
)");
#define EMU_FAST_SWITCH 1
#endif

struct Fiber {
#ifdef EMU_FAST_SWITCH
    void* sp;
#else
    ucontext_t ctx;
#endif
    State state;
};

constexpr size_t STACK_BYTES = 256 * 1024;

std::map<std::string, std::function<void(void**)>>& registry() {
    static std::map<std::string, std::function<void(void**)>> r;
    return r;
}

std::mutex launchLock;
#ifdef EMU_FAST_SWITCH
void* schedulerSp;
#else
ucontext_t scheduler;
#endif
std::vector<Fiber> fibers;
std::vector<char*> stacks;
int current;
unsigned long long slots[1024];
std::vector<unsigned char> dynamicShared;
const std::function<void(void**)>* kernel;
void** kernelArgs;
std::string lastError;

void toScheduler() {
#ifdef EMU_FAST_SWITCH
    emu_switch(&fibers[current].sp, schedulerSp);
#else
    swapcontext(&fibers[current].ctx, &scheduler);
#endif
}

void fiberMain() {
    (*kernel)(kernelArgs);
    fibers[current].state = DONE;
#ifdef EMU_FAST_SWITCH
    toScheduler();  // never resumed
    __builtin_unreachable();
#endif
    // ucontext: returning resumes the scheduler (uc_link)
}

void yieldAt(State s) {
    fibers[current].state = s;
    toScheduler();
}

void startFiber(int i) {
#ifdef EMU_FAST_SWITCH
    // A fresh stack that "returns" into fiberMain: six zero registers, then fiberMain's address,
    // then a fake return address, so fiberMain starts with the stack aligned as after a call.
    uintptr_t top = ((uintptr_t)(stacks[i] + STACK_BYTES)) & ~(uintptr_t)15;
    void** sp = reinterpret_cast<void**>(top);
    *--sp = nullptr;
    *--sp = reinterpret_cast<void*>(&fiberMain);
    for (int r = 0; r < 6; r++) *--sp = nullptr;
    fibers[i].sp = sp;
#else
    getcontext(&fibers[i].ctx);
    fibers[i].ctx.uc_stack.ss_sp = stacks[i];
    fibers[i].ctx.uc_stack.ss_size = STACK_BYTES;
    fibers[i].ctx.uc_link = &scheduler;
    makecontext(&fibers[i].ctx, fiberMain, 0);
#endif
    fibers[i].state = RUNNABLE;
}

void resume(int i) {
#ifdef EMU_FAST_SWITCH
    emu_switch(&schedulerSp, fibers[i].sp);
#else
    swapcontext(&scheduler, &fibers[i].ctx);
#endif
}

// Runs one block to completion; false on a deadlock (threads waiting at different barriers).
bool runBlock(int threads) {
    if ((int)stacks.size() < threads) {
        while ((int)stacks.size() < threads) stacks.push_back(new char[STACK_BYTES]);
    }
    fibers.assign(threads, Fiber{});
    for (int i = 0; i < threads; i++) startFiber(i);
    for (;;) {
        bool ran = false;
        for (int i = 0; i < threads; i++) {
            if (fibers[i].state != RUNNABLE) continue;
            current = i;
            threadIdx_ = uint3{(unsigned)i, 0, 0};
            resume(i);
            ran = true;
        }
        if (ran) continue;
        bool allDone = true, allAtBlock = true;
        for (int i = 0; i < threads; i++) {
            if (fibers[i].state != DONE) allDone = false;
            if (fibers[i].state != DONE && fibers[i].state != AT_BLOCK_BARRIER) allAtBlock = false;
        }
        if (allDone) return true;
        if (allAtBlock) {
            for (auto& f : fibers)
                if (f.state == AT_BLOCK_BARRIER) f.state = RUNNABLE;
            continue;
        }
        bool released = false;
        for (int w = 0; w * 32 < threads; w++) {
            bool any = false, all = true;
            for (int i = w * 32; i < threads && i < w * 32 + 32; i++) {
                if (fibers[i].state == DONE) continue;
                any = true;
                if (fibers[i].state != AT_WARP_BARRIER) all = false;
            }
            if (any && all) {
                for (int i = w * 32; i < threads && i < w * 32 + 32; i++)
                    if (fibers[i].state == AT_WARP_BARRIER) fibers[i].state = RUNNABLE;
                released = true;
            }
        }
        if (!released) return false;
    }
}
}  // namespace

void syncthreads() { yieldAt(AT_BLOCK_BARRIER); }
void syncwarp() { yieldAt(AT_WARP_BARRIER); }
void* dynamicSharedMemory() { return dynamicShared.data(); }
unsigned long long* mySlot() { return &slots[threadIdx_.x]; }
unsigned long long laneSlot(int lane) { return slots[(threadIdx_.x & ~31u) + lane]; }

void registerKernel(const char* name, std::function<void(void**)> thunk) { registry()[name] = std::move(thunk); }
}  // namespace emu

using namespace emu;

extern "C" const char* emu_last_error() { return lastError.c_str(); }

// 0 on success; otherwise emu_last_error() says why.
extern "C" int emu_launch(const char* name, int gx, int gy, int gz, int block, int sharedBytes, void** args) {
    std::lock_guard<std::mutex> guard(launchLock);
    auto it = registry().find(name);
    if (it == registry().end()) {
        lastError = std::string("no kernel named ") + name;
        return 1;
    }
    if (block < 1 || block > 1024 || block % 32 != 0) {
        lastError = "block size must be a multiple of 32 up to 1024, got " + std::to_string(block);
        return 2;
    }
    kernel = &it->second;
    kernelArgs = args;
    dynamicShared.assign((size_t)sharedBytes + 16, 0xA5);  // poisoned, like real shared memory
    gridDim_ = dim3{(unsigned)gx, (unsigned)gy, (unsigned)gz};
    blockDim_ = dim3{(unsigned)block, 1, 1};
    for (int z = 0; z < gz; z++)
        for (int y = 0; y < gy; y++)
            for (int x = 0; x < gx; x++) {
                blockIdx_ = uint3{(unsigned)x, (unsigned)y, (unsigned)z};
                if (!runBlock(block)) {
                    lastError = std::string("deadlock in ") + name + ": threads wait at different barriers";
                    return 3;
                }
            }
    return 0;
}

namespace {
enum { R_32F = 0, R_16F = 2, R_16BF = 14 };

float load(const void* p, int type, long long i) {
    if (type == R_32F) return static_cast<const float*>(p)[i];
    unsigned short h = static_cast<const unsigned short*>(p)[i];
    if (type == R_16BF) return __uint_as_float((unsigned)h << 16);
    throw std::runtime_error("unsupported type");
}

void store(void* p, int type, long long i, float v) {
    if (type == R_32F) {
        static_cast<float*>(p)[i] = v;
        return;
    }
    if (type == R_16BF) {
        unsigned u = __float_as_uint(v);
        u += 0x7fffu + ((u >> 16) & 1u);
        static_cast<unsigned short*>(p)[i] = (unsigned short)(u >> 16);
        return;
    }
    throw std::runtime_error("unsupported type");
}
}  // namespace

// cublasGemmEx's contract: C = alpha·op(A)·op(B) + beta·C, column-major, op = transpose when set;
// C is not read when beta is 0.
extern "C" int emu_gemm(int transa, int transb, int m, int n, int k, float alpha, const void* A, int atype, int lda,
                        const void* B, int btype, int ldb, float beta, void* C, int ctype, int ldc) {
    try {
        for (int j = 0; j < n; j++)
            for (int i = 0; i < m; i++) {
                float acc = 0.0f;
                for (int l = 0; l < k; l++) {
                    float a = load(A, atype, transa ? l + (long long)i * lda : i + (long long)l * lda);
                    float b = load(B, btype, transb ? j + (long long)l * ldb : l + (long long)j * ldb);
                    acc += a * b;
                }
                long long ci = i + (long long)j * ldc;
                float v = alpha * acc;
                if (beta != 0.0f) v += beta * load(C, ctype, ci);
                store(C, ctype, ci, v);
            }
        return 0;
    } catch (const std::exception& e) {
        lastError = e.what();
        return 4;
    }
}
