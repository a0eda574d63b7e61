package io.llamba.service.launch;

import java.io.File;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Makes {@code java -jar llamba-service.jar} work although the engine's kernels need the incubating
 * Vector API module, which only the command line can add: a jar manifest can enable native access
 * ({@code Enable-Native-Access}, set in this jar) but cannot add a module to the boot layer, and no
 * agent or class loader can add {@code jdk.incubator.vector} afterwards (its classes must be defined
 * by the boot loader).
 * <p>
 * So when the module is missing, this JVM starts a second one with the same command line plus
 * {@code --add-modules jdk.incubator.vector}, the same environment and standard streams, and stays
 * only to wait for it: it passes termination on (its shutdown hook stops the child, which then shuts
 * down gracefully) and exits with the child's exit status. The price is one idle JVM (some tens of
 * MB) and one more JVM start; command lines that add the module themselves (the container images,
 * the README's other commands) never pay it. {@value #NO_RELAUNCH_ENV}=1 turns the relaunch off: the
 * start then fails saying what to add.
 */
public final class VectorApiLauncher {
    static final String MODULE = "jdk.incubator.vector";
    /** Set on the child's command line, so a child that still lacks the module fails instead of looping. */
    static final String RELAUNCHED_PROPERTY = "llamba.relaunched";
    static final String NO_RELAUNCH_ENV = "LLAMBA_NO_RELAUNCH";

    private VectorApiLauncher() {
    }

    /**
     * Returns when this JVM has the Vector API; otherwise runs the application in a child JVM that
     * has it and exits with its status (never returns).
     */
    public static void ensureVectorApi(String mainClass, String[] args) {
        if (ModuleLayer.boot().findModule(MODULE).isPresent()) {
            return;
        }
        if (Boolean.getBoolean(RELAUNCHED_PROPERTY) || "1".equals(System.getenv(NO_RELAUNCH_ENV))) {
            System.err.println("llamba-service: this JVM lacks the " + MODULE + " module, which the engine needs."
                    + " Start it with: java --add-modules " + MODULE + " --enable-native-access=ALL-UNNAMED -jar llamba-service.jar"
                    + (Boolean.getBoolean(RELAUNCHED_PROPERTY) ? " (a restart with the module added did not get it: is this Java runtime built without it?)" : ""));
            System.exit(2);
        }
        List<String> command = childCommand(mainClass, args);
        System.err.println("llamba-service: " + MODULE + " is not in this JVM (java -jar cannot add it from the jar's manifest);"
                + " running the service in a child JVM that adds it. Add --add-modules " + MODULE
                + " to the java command to run it in one JVM.");
        System.exit(runChild(command));
    }

    /**
     * This JVM's own command line with the module added: the original arguments exactly when the
     * platform tells them (Linux, macOS, Windows), else rebuilt from the JVM options and class path.
     */
    static List<String> childCommand(String mainClass, String[] args) {
        ProcessHandle.Info info = ProcessHandle.current().info();
        String javaExecutable = info.command()
                .orElseGet(() -> Path.of(System.getProperty("java.home"), "bin", "java").toString());
        List<String> command = new ArrayList<>();
        command.add(javaExecutable);
        command.add("--add-modules");
        command.add(MODULE);
        command.add("-D" + RELAUNCHED_PROPERTY + "=true");
        Optional<String[]> original = info.arguments();
        if (original.isPresent() && original.get().length > 0) {
            command.addAll(List.of(original.get()));
            return command;
        }
        command.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
        String classPath = System.getProperty("java.class.path", "");
        if (classPath.endsWith(".jar") && !classPath.contains(File.pathSeparator)) {
            command.add("-jar"); // an executable jar: its manifest names its own launcher
            command.add(classPath);
        } else {
            command.add("-cp");
            command.add(classPath);
            command.add(mainClass);
        }
        command.addAll(List.of(args));
        return command;
    }

    private static int runChild(List<String> command) {
        Process child;
        try {
            child = new ProcessBuilder(command).inheritIO().start();
        } catch (IOException e) {
            System.err.println("llamba-service: cannot start " + command.getFirst() + ": " + e.getMessage());
            return 2;
        }
        // SIGTERM/SIGINT to this JVM runs its shutdown hooks: pass the request on and wait for the
        // child's own graceful shutdown, so a supervisor that stops this process stops the service.
        Thread stopChild = new Thread(() -> {
            if (child.isAlive()) {
                child.destroy();
                try {
                    child.waitFor(5, TimeUnit.MINUTES);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }, "llamba-stop-child");
        Runtime.getRuntime().addShutdownHook(stopChild);
        while (true) {
            try {
                return child.waitFor();
            } catch (InterruptedException e) {
                // Keep waiting: the child decides when the service ends.
            }
        }
    }
}
