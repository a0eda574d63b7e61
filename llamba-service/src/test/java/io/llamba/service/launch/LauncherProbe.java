package io.llamba.service.launch;

import java.util.Arrays;

/** A main class as the service's: ensures the Vector API, then says what it got and exits with status 3. */
public final class LauncherProbe {
    private LauncherProbe() {
    }

    public static void main(String[] args) {
        VectorApiLauncher.ensureVectorApi(LauncherProbe.class.getName(), args);
        System.out.println("vector=" + ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent()
                + " relaunched=" + Boolean.getBoolean("llamba.relaunched") + " args=" + Arrays.toString(args));
        System.exit(3);
    }
}
