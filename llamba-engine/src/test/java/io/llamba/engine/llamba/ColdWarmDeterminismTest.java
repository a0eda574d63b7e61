package io.llamba.engine.llamba;

import io.llamba.engine.checkpoint.DType;
import io.llamba.engine.json.Json;
import io.llamba.engine.model.ForwardBatch;
import io.llamba.engine.model.LoadOptions;
import io.llamba.engine.model.Model;
import io.llamba.engine.model.ModelLoader;
import io.llamba.engine.model.Quantization;
import io.llamba.engine.model.RandomCheckpoint;
import io.llamba.engine.model.SequenceState;
import io.llamba.engine.model.StatePool;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A token's logits do not depend on whether the JIT has compiled the kernels: the same passes give
 * the same bits in a JVM that only interprets ({@code -Xint}, the Vector API's plain Java fallbacks)
 * and in this one after the kernels have run hot (C2's intrinsics). It guards against operations whose
 * result differs between the two (a {@code reduceLanes} sum, whose lane order is the JIT's choice, or
 * a vector e^x), which would make a cold and a warm run of the same request disagree.
 */
class ColdWarmDeterminismTest {
    @TempDir
    static Path tmp;

    private static final String CONFIG = """
            {"model_type": "llamba", "vocab_size": 300, "d_model": 64, "n_layer": 2, "tie_embeddings": true,
             "mlp_cfg": {"intermediate_size": 128}, "ssm_cfg": {"d_state": 16, "n_v_heads": 4, "n_qk_heads": 2}}""";

    @Test
    void interpretedAndCompiledPassesGiveTheSameBits() throws Exception {
        Path dir = tmp.resolve("m");
        RandomCheckpoint.write(Json.parseObject(CONFIG, "config"), DType.BF16, dir, 3, Long.MAX_VALUE);
        Path out = tmp.resolve("cold.bin");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(java, "-Xint", "--add-modules", "jdk.incubator.vector",
                "-cp", System.getProperty("java.class.path"), Probe.class.getName(), dir.toString(), out.toString()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(tmp.resolve("cold.log").toFile()).start();
        // Warm here meanwhile: enough rounds that the JIT compiles the kernels (HotPathAllocationTest
        // needs a few hundred passes for the same).
        List<float[]> warm = new ArrayList<>();
        for (Quantization q : Quantization.values()) {
            warm.add(Probe.logits(dir, q, 150));
        }
        assertThat(p.waitFor(5, TimeUnit.MINUTES)).as("the interpreted run finished").isTrue();
        assertThat(p.exitValue()).as("interpreted run: %s", Files.readString(tmp.resolve("cold.log"))).isZero();
        try (DataInputStream in = new DataInputStream(Files.newInputStream(out))) {
            for (int k = 0; k < warm.size(); k++) {
                float[] w = warm.get(k);
                int n = in.readInt();
                assertThat(n).isEqualTo(w.length);
                int differ = 0;
                int first = -1;
                for (int i = 0; i < n; i++) {
                    if (Float.floatToRawIntBits(in.readFloat()) != Float.floatToRawIntBits(w[i])) {
                        differ++;
                        first = first < 0 ? i : first;
                    }
                }
                assertThat(differ).as("%s: logits that differ between the interpreted and the compiled run (first at %d of %d)",
                        Quantization.values()[k], first, n).isZero();
            }
        }
    }

    /** The passes both runs make; its main is the interpreted run. */
    public static final class Probe {
        public static void main(String[] args) throws IOException {
            try (OutputStream f = Files.newOutputStream(Path.of(args[1])); DataOutputStream out = new DataOutputStream(f)) {
                for (Quantization q : Quantization.values()) {
                    float[] l = logits(Path.of(args[0]), q, 0);
                    out.writeInt(l.length);
                    for (float v : l) {
                        out.writeFloat(v);
                    }
                }
            }
        }

        /**
         * The logits of every path, after {@code warmRounds} rounds of the same passes: a 12-token prefill
         * (blocked kernels), a 3-token one (few-token loops), then one decoded token each, batched, and
         * one alone (the one-token loops).
         */
        static float[] logits(Path dir, Quantization q, int warmRounds) throws IOException {
            try (Model model = ModelLoader.load(dir, new LoadOptions(null, 2, q)); StatePool pool = model.createStatePool(2)) {
                int v = model.vocabSize();
                float[] all = new float[(12 + 1 + 2 + 1) * v];
                for (int round = 0; round <= warmRounds; round++) {
                    SequenceState a = pool.tryAcquire().orElseThrow();
                    SequenceState b = pool.tryAcquire().orElseThrow();
                    int[] promptA = new int[12];
                    for (int i = 0; i < promptA.length; i++) {
                        promptA[i] = (i * 37 + 5) % v;
                    }
                    float[] la = new float[12 * v];
                    float[] lb = new float[v];
                    model.forward(new ForwardBatch().add(new ForwardBatch.Entry(a, promptA, 0, promptA.length, la, true)));
                    model.forward(new ForwardBatch().add(b, new int[]{7, 250, 3}, lb));
                    float[] da = new float[v];
                    float[] db = new float[v];
                    model.forward(new ForwardBatch().add(a, new int[]{11}, da).add(b, new int[]{12}, db));
                    float[] da2 = new float[v];
                    model.forward(new ForwardBatch().add(a, new int[]{13}, da2));
                    System.arraycopy(la, 0, all, 0, la.length);
                    System.arraycopy(lb, 0, all, 12 * v, v);
                    System.arraycopy(da, 0, all, 13 * v, v);
                    System.arraycopy(db, 0, all, 14 * v, v);
                    System.arraycopy(da2, 0, all, 15 * v, v);
                    pool.release(a);
                    pool.release(b);
                }
                return all;
            }
        }
    }
}
