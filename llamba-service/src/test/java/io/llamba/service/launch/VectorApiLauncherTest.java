package io.llamba.service.launch;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A JVM started without {@code --add-modules jdk.incubator.vector} runs the application in a child
 * JVM that has it: same arguments, same exit status; or, with LLAMBA_NO_RELAUNCH=1, fails saying
 * what to add.
 */
class VectorApiLauncherTest {
    record Run(int status, String out, String err) {
    }

    static Run run(boolean noRelaunch, String... args) throws IOException, InterruptedException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> command = new ArrayList<>(List.of(java, "-Xshare:auto", "-cp", System.getProperty("java.class.path"),
                LauncherProbe.class.getName()));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().remove("JDK_JAVA_OPTIONS");
        pb.environment().remove("JAVA_TOOL_OPTIONS");
        if (noRelaunch) {
            pb.environment().put(VectorApiLauncher.NO_RELAUNCH_ENV, "1");
        }
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return new Run(p.exitValue(), out, err);
    }

    @Test
    void aJvmWithoutTheModuleRunsTheApplicationInAChildThatHasIt() throws Exception {
        Run r = run(false, "a b", "--server.port=1234");

        assertThat(r.out().strip()).isEqualTo("vector=true relaunched=true args=[a b, --server.port=1234]");
        assertThat(r.status()).as("the child's exit status").isEqualTo(3);
        assertThat(r.err()).contains("running the service in a child JVM").contains("--add-modules jdk.incubator.vector");
    }

    @Test
    void withRelaunchOffItFailsSayingWhatToAdd() throws Exception {
        Run r = run(true);

        assertThat(r.status()).isEqualTo(2);
        assertThat(r.out()).isEmpty();
        assertThat(r.err()).contains("lacks the jdk.incubator.vector module")
                .contains("java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -jar llamba-service.jar");
    }

    @Test
    void theChildCommandIsThisJvmsOwnWithTheModuleAdded() {
        List<String> command = VectorApiLauncher.childCommand("x.Main", new String[] {"arg"});
        assertThat(command.get(1)).isEqualTo("--add-modules");
        assertThat(command.get(2)).isEqualTo("jdk.incubator.vector");
        assertThat(command.get(3)).isEqualTo("-Dllamba.relaunched=true");
        assertThat(command.subList(4, command.size())).isNotEmpty();
    }
}
