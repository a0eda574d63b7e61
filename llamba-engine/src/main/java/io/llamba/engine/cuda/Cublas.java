package io.llamba.engine.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The few cuBLAS calls the model needs, bound with java.lang.foreign. JCuda's own cuBLAS binding
 * is built against CUDA 12 and fails on CUDA 13 machines; the C API is stable, so we call
 * whichever libcublas is installed (13 or 12) with device pointers from JCuda's allocations.
 */
@SuppressWarnings("restricted") // native calls into libcublas, by design
final class Cublas {
    private static final int OP_N = 0;
    private static final int OP_T = 1;
    private static final int COMPUTE_32F = 68;
    private static final int GEMM_DEFAULT = -1;

    private final String library;
    private final MethodHandle create;
    private final MethodHandle destroy;
    private final MethodHandle setStream;
    private final MethodHandle setWorkspace;
    private final MethodHandle gemmEx;
    private final MethodHandle getVersion;
    /** cublasSetSmCountTarget, or null in a cuBLAS without it (before 11.3). */
    private final MethodHandle setSmCountTarget;
    /** Host scalars 1.0f and 0.0f/1.0f for alpha and beta (pointer mode host: read at call time). */
    private final MemorySegment one;
    private final MemorySegment zero;

    private Cublas(String library, SymbolLookup lib, Arena arena) {
        this.library = library;
        Linker linker = Linker.nativeLinker();
        create = linker.downcallHandle(find(lib, "cublasCreate_v2"), FunctionDescriptor.of(JAVA_INT, ADDRESS));
        destroy = linker.downcallHandle(find(lib, "cublasDestroy_v2"), FunctionDescriptor.of(JAVA_INT, ADDRESS));
        setStream = linker.downcallHandle(find(lib, "cublasSetStream_v2"), FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        setWorkspace = linker.downcallHandle(find(lib, "cublasSetWorkspace_v2"), FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG));
        getVersion = linker.downcallHandle(find(lib, "cublasGetVersion_v2"), FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        setSmCountTarget = lib.find("cublasSetSmCountTarget")
                .map(f -> linker.downcallHandle(f, FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT))).orElse(null);
        gemmEx = linker.downcallHandle(find(lib, "cublasGemmEx"), FunctionDescriptor.of(JAVA_INT,
                ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
                ADDRESS, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT,
                ADDRESS, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
        one = arena.allocate(JAVA_FLOAT);
        one.set(JAVA_FLOAT, 0, 1f);
        zero = arena.allocate(JAVA_FLOAT);
        zero.set(JAVA_FLOAT, 0, 0f);
    }

    private static MemorySegment find(SymbolLookup lib, String name) {
        return lib.find(name).orElseThrow(() -> new CudaException("cuBLAS has no symbol " + name));
    }

    /** Where we look: $LLAMBA_CUBLAS, then the loader's search path, then the usual CUDA folders. */
    static List<String> candidates() {
        List<String> out = new ArrayList<>();
        String explicit = System.getenv("LLAMBA_CUBLAS");
        if (explicit != null && !explicit.isBlank()) {
            out.add(explicit);
        }
        String[] names = {"libcublas.so.13", "libcublas.so.12"};
        for (String n : names) {
            out.add(n);
        }
        List<String> dirs = new ArrayList<>();
        String home = System.getenv("CUDA_HOME");
        if (home != null) {
            dirs.add(home + "/lib64");
        }
        dirs.add("/usr/local/cuda/lib64");
        dirs.add("/usr/local/cuda/targets/x86_64-linux/lib");
        dirs.add("/usr/lib/x86_64-linux-gnu");
        for (String d : dirs) {
            for (String n : names) {
                out.add(d + "/" + n);
            }
        }
        return out;
    }

    /** Loads the first cuBLAS found; the error lists every place tried. */
    static Cublas load(Arena arena) {
        StringBuilder tried = new StringBuilder();
        for (String c : candidates()) {
            boolean path = c.contains("/");
            if (path && !Files.exists(Path.of(c))) {
                continue;
            }
            try {
                SymbolLookup lib = path ? SymbolLookup.libraryLookup(Path.of(c), arena) : SymbolLookup.libraryLookup(c, arena);
                return new Cublas(c, lib, arena);
            } catch (IllegalArgumentException | CudaException e) {
                tried.append(tried.isEmpty() ? "" : "; ").append(c).append(": ").append(e.getMessage());
            }
        }
        throw new CudaException("cuBLAS (libcublas.so.13 or .12) not found; tried " + String.join(", ", candidates())
                + (tried.isEmpty() ? "" : " (" + tried + ")") + "; set LLAMBA_CUBLAS to its path");
    }

    String library() {
        return library;
    }

    private static void check(int status, String call) {
        if (status != 0) {
            throw new CudaException(call + " failed: " + statusName(status));
        }
    }

    static String statusName(int s) {
        return switch (s) {
            case 1 -> "CUBLAS_STATUS_NOT_INITIALIZED";
            case 3 -> "CUBLAS_STATUS_ALLOC_FAILED";
            case 7 -> "CUBLAS_STATUS_INVALID_VALUE";
            case 8 -> "CUBLAS_STATUS_ARCH_MISMATCH";
            case 11 -> "CUBLAS_STATUS_MAPPING_ERROR";
            case 13 -> "CUBLAS_STATUS_EXECUTION_FAILED";
            case 14 -> "CUBLAS_STATUS_INTERNAL_ERROR";
            case 15 -> "CUBLAS_STATUS_NOT_SUPPORTED";
            case 16 -> "CUBLAS_STATUS_LICENSE_ERROR";
            default -> "cuBLAS status " + s;
        };
    }

    /** A handle bound to {@code stream}, with {@code workspace} so that graph capture never allocates. */
    MemorySegment createHandle(long stream, long workspace, long workspaceBytes) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ADDRESS);
            check((int) create.invokeExact(out), "cublasCreate");
            MemorySegment handle = out.get(ADDRESS, 0);
            check((int) setStream.invokeExact(handle, MemorySegment.ofAddress(stream)), "cublasSetStream");
            check((int) setWorkspace.invokeExact(handle, MemorySegment.ofAddress(workspace), workspaceBytes), "cublasSetWorkspace");
            return handle;
        } catch (CudaException e) {
            throw e;
        } catch (Throwable t) {
            throw new CudaException("cuBLAS call failed: " + t, t);
        }
    }

    /**
     * Products on {@code handle} from now on use at most {@code sms} multiprocessors (0: all), so that
     * kernels of another stream can run beside them; false where this cuBLAS cannot.
     */
    boolean setSmCountTarget(MemorySegment handle, int sms) {
        if (setSmCountTarget == null) {
            return false;
        }
        try {
            check((int) setSmCountTarget.invokeExact(handle, sms), "cublasSetSmCountTarget");
            return true;
        } catch (CudaException e) {
            throw e;
        } catch (Throwable t) {
            throw new CudaException("cuBLAS call failed: " + t, t);
        }
    }

    int version(MemorySegment handle) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(JAVA_INT);
            check((int) getVersion.invokeExact(handle, v), "cublasGetVersion");
            return v.get(JAVA_INT, 0);
        } catch (CudaException e) {
            throw e;
        } catch (Throwable t) {
            throw new CudaException("cuBLAS call failed: " + t, t);
        }
    }

    void destroy(MemorySegment handle) {
        try {
            int status = (int) destroy.invokeExact(handle);
            if (status != 0) {
                System.getLogger(Cublas.class.getName()).log(System.Logger.Level.DEBUG, "cublasDestroy: " + statusName(status));
            }
        } catch (Throwable t) {
            // closing: nothing more to do
        }
    }

    void gemm(MemorySegment handle, boolean transA, boolean transB, int m, int n, int k, long a, int aType, int lda,
              long b, int bType, int ldb, float beta, long c, int cType, int ldc) {
        if (beta != 0f && beta != 1f) {
            throw new IllegalArgumentException("beta must be 0 or 1, got " + beta);
        }
        // A local, not a conditional expression: invokeExact would type that argument Object.
        MemorySegment betaScalar = beta == 0f ? zero : one;
        int status;
        try {
            status = (int) gemmEx.invokeExact(handle, transA ? OP_T : OP_N, transB ? OP_T : OP_N, m, n, k,
                    one, MemorySegment.ofAddress(a), aType, lda, MemorySegment.ofAddress(b), bType, ldb,
                    betaScalar, MemorySegment.ofAddress(c), cType, ldc, COMPUTE_32F, GEMM_DEFAULT);
        } catch (Throwable t) {
            throw new CudaException("cublasGemmEx call failed: " + t, t);
        }
        if (status != 0) {
            throw new CudaException("cublasGemmEx(m=" + m + ", n=" + n + ", k=" + k + ", types " + aType + "/" + bType + "/" + cType
                    + ") failed: " + statusName(status));
        }
    }
}
