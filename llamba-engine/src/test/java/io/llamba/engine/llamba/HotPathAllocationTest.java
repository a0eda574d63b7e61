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
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import com.sun.management.ThreadMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.nio.file.Path;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Once warm, a forward pass allocates nothing on the heap, on the calling thread or on the CPU
 * team's threads: decoding one sequence, three (the few-token loops), six (the blocked kernels), and a prefill.
 */
class HotPathAllocationTest {
    @TempDir
    static Path tmp;

    /**
     * The threads a forward pass runs on: this one and the CPU teams' ({@code llamba-cpu-N}). Other
     * threads of the test JVM (servers and engines other tests left behind) are not the hot path and
     * must not count.
     */
    static long[] forwardThreads() {
        ThreadMXBean mx = (ThreadMXBean) ManagementFactory.getThreadMXBean();
        return Arrays.stream(mx.getThreadInfo(mx.getAllThreadIds()))
                .filter(t -> t != null && (t.getThreadId() == Thread.currentThread().threadId() || t.getThreadName().startsWith("llamba-cpu-")))
                .mapToLong(ThreadInfo::getThreadId)
                .toArray();
    }

    /** Bytes allocated so far by {@code threads} (HotSpot's per-thread counters). */
    static long allocatedBy(long[] threads) {
        ThreadMXBean mx = (ThreadMXBean) ManagementFactory.getThreadMXBean();
        long sum = 0;
        for (long b : mx.getThreadAllocatedBytes(threads)) {
            sum += Math.max(0, b);
        }
        return sum;
    }

    @ParameterizedTest
    @EnumSource(Quantization.class)
    void warmForwardPassesAllocateNothing(Quantization q) throws Exception {
        Path dir = tmp.resolve("m-" + q);
        String config = """
                {"model_type": "llamba", "vocab_size": 300, "d_model": 64, "n_layer": 2, "tie_embeddings": true,
                 "mlp_cfg": {"intermediate_size": 128}, "ssm_cfg": {"d_state": 16, "n_v_heads": 4, "n_qk_heads": 2}}""";
        RandomCheckpoint.write(Json.parseObject(config, "config"), DType.BF16, dir, 1, Long.MAX_VALUE);
        try (Model model = ModelLoader.load(dir, new LoadOptions(null, 2, q)); StatePool pool = model.createStatePool(6)) {
            int v = model.vocabSize();
            SequenceState[] s = new SequenceState[6];
            float[][] logits = new float[6][v];
            int[] prompt = new int[40];
            for (int i = 0; i < prompt.length; i++) {
                prompt[i] = (i * 37) % v;
            }
            int[][] next = new int[6][1];
            ForwardBatch one = new ForwardBatch();
            ForwardBatch few = new ForwardBatch();
            ForwardBatch many = new ForwardBatch();
            for (int k = 0; k < 6; k++) {
                s[k] = pool.tryAcquire().orElseThrow();
                if (k == 0) {
                    one.add(new ForwardBatch.Entry(s[k], next[k], 0, 1, logits[k], false));
                }
                if (k >= 1 && k <= 3) {
                    few.add(new ForwardBatch.Entry(s[k], next[k], 0, 1, logits[k], false));
                }
                many.add(new ForwardBatch.Entry(s[k], next[k], 0, 1, logits[k], false));
            }
            ForwardBatch prefill = new ForwardBatch().add(new ForwardBatch.Entry(s[5], prompt, 0, prompt.length, logits[5], false));
            // Rounds of the same mix until the JIT has compiled everything (code the JIT has not compiled
            // yet boxes vectors): a warm round must allocate nothing. Bounded, so a real allocation fails.
            long[] threads = forwardThreads();
            long perPass = Long.MAX_VALUE;
            for (int round = 0; round < 60 && perPass > 16; round++) {
                long before = allocatedBy(threads);
                int passes = 0;
                for (int r = 0; r < 200; r++) {
                    next[0][0] = r % v;
                    model.forward(one);
                    passes++;
                    if (r % 4 == 0) {
                        model.forward(many);
                        passes++;
                    }
                    if (r % 4 == 2) {
                        model.forward(few);
                        passes++;
                    }
                    if (r % 40 == 0) {
                        model.forward(prefill);
                        passes++;
                    }
                }
                perPass = (allocatedBy(threads) - before) / passes;
            }
            // A few bytes of slack per pass for the JVM's own bookkeeping.
            assertThat(perPass).as("%s: bytes allocated per warm forward pass", q).isLessThanOrEqualTo(16);
        }
    }
}
