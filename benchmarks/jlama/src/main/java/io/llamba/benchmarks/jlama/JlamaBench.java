package io.llamba.benchmarks.jlama;

import com.github.tjake.jlama.model.AbstractModel;
import com.github.tjake.jlama.model.ModelSupport;
import com.github.tjake.jlama.model.functions.Generator;
import com.github.tjake.jlama.safetensors.DType;
import com.github.tjake.jlama.safetensors.SafeTensorSupport;
import com.github.tjake.jlama.safetensors.prompt.PromptContext;
import com.github.tjake.jlama.tensor.operations.TensorOperationsProvider;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;
import java.util.UUID;

/**
 * Jlama's decode and prefill speed on a random Llama-3.2-1B-shaped checkpoint, in the same kind of run
 * as the engine's {@code bench}: one sequence, a short prompt in one batched pass, then greedy decoding,
 * the best of several runs after a warm-up, timed by Jlama's own generate loop. Prints the weight bytes
 * each decoded token reads and the effective bandwidth (bytes × tok/s); the last line is JSON.
 *
 * <pre>java --add-modules jdk.incubator.vector -jar jlama-bench.jar --model DIR [--format bf16|q4]
 *      [--threads N] [--prompt-tokens N] [--tokens N] [--reps N]</pre>
 */
public final class JlamaBench {
    public static void main(String[] args) throws IOException {
        Path dir = null;
        String format = "bf16";
        int threads = 2;
        int promptTokens = 16;
        int tokens = 64;
        int reps = 3;
        for (int i = 0; i < args.length; i++) {
            String v = i + 1 < args.length ? args[i + 1] : null;
            switch (args[i]) {
                case "--model" -> dir = Path.of(v);
                case "--format" -> format = v;
                case "--threads" -> threads = Integer.parseInt(v);
                case "--prompt-tokens" -> promptTokens = Integer.parseInt(v);
                case "--tokens" -> tokens = Integer.parseInt(v);
                case "--reps" -> reps = Integer.parseInt(v);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
            i++;
        }
        if (dir == null || !(format.equals("bf16") || format.equals("q4"))) {
            System.err.println("usage: --model DIR [--format bf16|q4] [--threads N] [--prompt-tokens N] [--tokens N] [--reps N]");
            System.exit(2);
        }
        if (!Files.exists(dir.resolve("model.safetensors"))) {
            long t0 = System.nanoTime();
            RandomLlama.write(dir, 1);
            System.out.printf(Locale.ROOT, "wrote a random Llama-3.2-1B-shaped BF16 checkpoint to %s in %.1f s%n", dir, (System.nanoTime() - t0) / 1e9);
        }
        boolean q4 = format.equals("q4");
        Path modelDir = dir;
        double quantizeSeconds = 0;
        if (q4) {
            // Jlama quantizes a checkpoint ahead of time (its `quantize` command; norms stay as they are),
            // and writes it in its own format; quantizing BF16 weights while loading is not supported.
            modelDir = dir.resolveSibling(dir.getFileName() + "-JQ4");
            if (!Files.exists(modelDir.resolve("model.safetensors"))) {
                long q0 = System.nanoTime();
                SafeTensorSupport.quantizeModel(dir, DType.Q4, new String[]{"norm"}, null, Optional.of(modelDir));
                quantizeSeconds = (System.nanoTime() - q0) / 1e9;
                System.out.printf(Locale.ROOT, "jlama quantized the checkpoint to Q4 in %.1f s: %s%n", quantizeSeconds, modelDir);
            }
        }
        long t0 = System.nanoTime();
        // Jlama's usual setup: float32 working memory; Q4 weights multiply int8-quantized activations
        // (for BF16 weights Jlama itself switches the activations to BF16).
        AbstractModel model = ModelSupport.loadModel(modelDir.toFile(), null, DType.F32, DType.I8, Optional.empty(), Optional.of(threads));
        double loadSeconds = (System.nanoTime() - t0) / 1e9;
        String ops = TensorOperationsProvider.get().name();
        // Bytes a decoded token reads: every layer matrix in the weight format (Q4: 4 bits and a float32
        // scale per block of 32), and the tied head, which Jlama holds in its working type (float32).
        double layerBytesPerWeight = q4 ? 0.5 + 4.0 / 32 : 2;
        long layerBytes = (long) (RandomLlama.layerWeights() * layerBytesPerWeight);
        long headBytes = RandomLlama.headWeights() * 4;
        long bytesPerToken = layerBytes + headBytes;
        String prompt = "a".repeat(promptTokens - 1); // byte-level tokenizer: one token per byte, plus BOS
        double bestDecode = 0;
        double bestPrefill = 0;
        int generated = 0;
        for (int r = 0; r <= reps; r++) {
            Generator.Response resp = model.generate(UUID.randomUUID(), PromptContext.of(prompt), 0.0f, promptTokens + tokens, (s, f) -> {
            });
            double decode = resp.generatedTokens / (resp.generateTimeMs / 1000.0);
            double prefill = resp.promptTokens / Math.max(1e-3, resp.promptTimeMs / 1000.0);
            System.out.printf(Locale.ROOT, "%s run %d: prompt %d tokens in %d ms, %d tokens decoded in %d ms (%.2f tok/s), finish %s%n",
                    r == 0 ? "warm-up" : "timed", r, resp.promptTokens, resp.promptTimeMs, resp.generatedTokens, resp.generateTimeMs,
                    decode, resp.finishReason);
            if (r > 0) {
                bestDecode = Math.max(bestDecode, decode);
                bestPrefill = Math.max(bestPrefill, prefill);
                generated = resp.generatedTokens;
            }
        }
        double gbps = bytesPerToken * bestDecode / 1e9;
        System.out.printf(Locale.ROOT, "jlama %s (%s, %d threads): decode %.2f tok/s, %.3f GB read per token (head as float32) = %.1f GB/s effective;"
                        + " prefill %.1f tok/s; loaded in %.1f s%n",
                format, ops, threads, bestDecode, bytesPerToken / 1e9, gbps, bestPrefill, loadSeconds);
        System.out.printf(Locale.ROOT, "{\"engine\":\"jlama\",\"format\":\"%s\",\"tensor_ops\":\"%s\",\"threads\":%d,\"decode_tok_s\":%.4f,"
                        + "\"decode_bytes_per_token\":%d,\"effective_gbps\":%.4f,\"prefill_tok_s\":%.4f,\"decoded_tokens\":%d,\"load_seconds\":%.2f}%n",
                format, ops, threads, bestDecode, bytesPerToken, gbps, bestPrefill, generated, loadSeconds);
        model.close();
        System.exit(0);
    }
}
