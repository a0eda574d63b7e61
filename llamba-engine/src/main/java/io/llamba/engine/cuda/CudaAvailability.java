package io.llamba.engine.cuda;

import jcuda.driver.CUdevice;
import jcuda.driver.CUresult;
import jcuda.driver.JCudaDriver;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.nio.charset.StandardCharsets;

/**
 * Whether the CUDA backend can run here, and if not, why: the build may lack the kernels (no
 * nvcc), JCuda or its native library may be missing, the driver may be absent or have no device,
 * or cuBLAS may not be installed. Probed once; every failure becomes a reason, never a crash, so
 * that "auto" falls back to the CPU and health checks can report it.
 */
public final class CudaAvailability {
    /** The kernels, compiled by nvcc during the build when nvcc was found. */
    public static final String FATBIN_RESOURCE = "/io/llamba/engine/cuda/llamba.fatbin";

    /**
     * @param available whether {@code --backend cuda} can work
     * @param reason    why not (empty when available)
     * @param devices   CUDA devices seen
     * @param device    device 0 in words (empty when none)
     */
    public record Status(boolean available, String reason, int devices, String device) {
    }

    private static Status cached;

    private CudaAvailability() {
    }

    public static synchronized Status probe() {
        if (cached == null) {
            cached = doProbe();
        }
        return cached;
    }

    /** The fatbin's bytes, or null when this build has none. */
    public static byte[] fatbin() {
        try (InputStream in = CudaAvailability.class.getResourceAsStream(FATBIN_RESOURCE)) {
            return in == null ? null : in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Status doProbe() {
        if (CudaAvailability.class.getResource(FATBIN_RESOURCE) == null) {
            return new Status(false, "this build of the engine has no GPU kernels (nvcc was not found when it was built)", 0, "");
        }
        try {
            Class.forName("jcuda.driver.JCudaDriver", false, CudaAvailability.class.getClassLoader()); // not initialised: no native code yet
        } catch (ClassNotFoundException | LinkageError e) {
            return new Status(false, "JCuda is not on the class path (org.jcuda:jcuda)", 0, "");
        }
        int count;
        String name;
        try {
            JCudaDriver.setExceptionsEnabled(false);
            int rc = JCudaDriver.cuInit(0);
            if (rc != CUresult.CUDA_SUCCESS) {
                return new Status(false, "the CUDA driver did not initialise: " + CUresult.stringFor(rc), 0, "");
            }
            int[] n = new int[1];
            rc = JCudaDriver.cuDeviceGetCount(n);
            if (rc != CUresult.CUDA_SUCCESS || n[0] == 0) {
                return new Status(false, "no CUDA device" + (rc != CUresult.CUDA_SUCCESS ? ": " + CUresult.stringFor(rc) : ""), 0, "");
            }
            count = n[0];
            CUdevice d = new CUdevice();
            JCudaDriver.cuDeviceGet(d, 0);
            byte[] b = new byte[256];
            JCudaDriver.cuDeviceGetName(b, b.length, d);
            int len = 0;
            while (len < b.length && b[len] != 0) {
                len++;
            }
            name = new String(b, 0, len, StandardCharsets.UTF_8);
        } catch (Throwable t) {
            // UnsatisfiedLinkError (no libcuda.so.1, or JCuda's native library for another platform) and the like.
            return new Status(false, "JCuda's native library or the CUDA driver could not be loaded: " + describe(t), 0, "");
        }
        try (Arena a = Arena.ofConfined()) {
            Cublas.load(a);
        } catch (RuntimeException | LinkageError e) {
            return new Status(false, describe(e), count, name);
        }
        return new Status(true, "", count, name);
    }

    private static String describe(Throwable t) {
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String m = root.getMessage();
        if (m == null) {
            return root.getClass().getSimpleName();
        }
        // JCuda's loader nests its attempts in the message; the last one names the missing library.
        String detail = m.lines().filter(l -> l.startsWith("java.lang.UnsatisfiedLinkError: ")).reduce((a, b) -> b)
                .map(l -> l.substring("java.lang.UnsatisfiedLinkError: ".length())).orElse(null);
        return root.getClass().getSimpleName() + ": " + m.lines().findFirst().orElse("") + (detail == null ? "" : " (" + detail + ")");
    }
}
