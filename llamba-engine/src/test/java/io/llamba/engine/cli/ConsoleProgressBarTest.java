package io.llamba.engine.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ConsoleProgressBarTest {
    @Test
    void terminalBarIsRedrawnInPlaceAndEndsWithANewline() {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        ConsoleProgressBar bar = new ConsoleProgressBar(new PrintStream(buf, true, StandardCharsets.UTF_8), true);
        bar.started("org/m", "model.safetensors", 4L << 30, 1L << 30);
        bar.progressed("org/m", "model.safetensors", 2L << 30, 4L << 30);
        bar.finished("org/m", "model.safetensors", 4L << 30, 1_000_000_000L);
        String s = buf.toString(StandardCharsets.UTF_8);
        assertThat(s).startsWith("\rmodel.safetensors").contains("[######..................]  25% 1.0 GiB / 4.0 GiB")
                .contains("[########################] 100% 4.0 GiB / 4.0 GiB").endsWith(System.lineSeparator());
        assertThat(s.chars().filter(c -> c == '\n').count()).isEqualTo(1);
    }

    @Test
    void pipeGetsLinesAtTenthsOfLargeFiles() {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        ConsoleProgressBar bar = new ConsoleProgressBar(new PrintStream(buf, true, StandardCharsets.UTF_8), false);
        long total = 1000L << 20;
        bar.started("org/m", "w.safetensors", total, 0);
        for (int i = 1; i <= 100; i++) {
            bar.progressed("org/m", "w.safetensors", total * i / 100, total);
        }
        bar.finished("org/m", "w.safetensors", total, 2_000_000_000L);
        String s = buf.toString(StandardCharsets.UTF_8);
        assertThat(s).doesNotContain("\r");
        assertThat(s.lines().toList()).hasSize(11).first().isEqualTo("downloading w.safetensors from org/m: 1000.0 MiB");
        assertThat(s.lines().toList().get(5)).startsWith("  w.safetensors: 50% (");
        assertThat(s.lines().toList().getLast()).startsWith("  w.safetensors: done, 1000.0 MiB in 2.0 s");
    }
}
