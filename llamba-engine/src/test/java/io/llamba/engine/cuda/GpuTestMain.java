package io.llamba.engine.cuda;

import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.discovery.DiscoverySelectors;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;

import java.io.PrintWriter;

/**
 * Runs test classes without Maven (the GPU machine has no network): {@code java -cp ... GpuTestMain
 * io.llamba.engine.cuda.CudaGpuTest ...}; prints each test's outcome and a summary, exits 1 on failure.
 */
public final class GpuTestMain {
    public static void main(String[] args) {
        LauncherDiscoveryRequestBuilder b = LauncherDiscoveryRequestBuilder.request();
        for (String c : args) {
            b.selectors(DiscoverySelectors.selectClass(c));
        }
        LauncherDiscoveryRequest request = b.build();
        SummaryGeneratingListener summary = new SummaryGeneratingListener();
        TestExecutionListener printer = new TestExecutionListener() {
            private final java.util.Map<TestIdentifier, Long> started = new java.util.HashMap<>();

            @Override
            public void executionStarted(TestIdentifier id) {
                started.put(id, System.nanoTime());
            }

            @Override
            public void executionSkipped(TestIdentifier id, String reason) {
                System.out.println("SKIPPED " + id.getDisplayName() + ": " + reason);
            }

            @Override
            public void executionFinished(TestIdentifier id, TestExecutionResult result) {
                if (!id.isTest()) {
                    return;
                }
                double s = (System.nanoTime() - started.getOrDefault(id, System.nanoTime())) / 1e9;
                String name = id.getLegacyReportingName();
                System.out.printf("%s %s (%.1f s)%n", result.getStatus(), name, s);
                result.getThrowable().ifPresent(t -> System.out.println("    " + t));
            }
        };
        Launcher launcher = LauncherFactory.create();
        launcher.execute(request, summary, printer);
        summary.getSummary().printTo(new PrintWriter(System.out));
        summary.getSummary().printFailuresTo(new PrintWriter(System.out), 20);
        System.exit(summary.getSummary().getTotalFailureCount() == 0 ? 0 : 1);
    }
}
