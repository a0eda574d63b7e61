package io.llamba.benchmarks.jlama;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * Writes a random-weight checkpoint in the Hugging Face Llama layout with Llama-3.2-1B's shapes
 * (hidden 2048, 16 layers, MLP 8192, 32 query and 8 key/value heads of 64, vocabulary 128256, tied
 * embeddings), in BF16, plus a byte-level tokenizer.json: speed does not depend on the weights'
 * values or the tokenizer, and random weights need no download.
 */
final class RandomLlama {
    static final int HIDDEN = 2048;
    static final int LAYERS = 16;
    static final int INTERMEDIATE = 8192;
    static final int HEADS = 32;
    static final int KV_HEADS = 8;
    static final int HEAD_DIM = 64;
    static final int VOCAB = 128256;

    private record Tensor(String name, long[] shape, float std) {
        long count() {
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            return n;
        }
    }

    private RandomLlama() {
    }

    static List<Tensor> tensors() {
        List<Tensor> t = new ArrayList<>();
        float std = (float) (1 / Math.sqrt(HIDDEN));
        t.add(new Tensor("model.embed_tokens.weight", new long[]{VOCAB, HIDDEN}, 1f));
        for (int i = 0; i < LAYERS; i++) {
            String p = "model.layers." + i + ".";
            t.add(new Tensor(p + "input_layernorm.weight", new long[]{HIDDEN}, 0));
            t.add(new Tensor(p + "self_attn.q_proj.weight", new long[]{HEADS * HEAD_DIM, HIDDEN}, std));
            t.add(new Tensor(p + "self_attn.k_proj.weight", new long[]{KV_HEADS * HEAD_DIM, HIDDEN}, std));
            t.add(new Tensor(p + "self_attn.v_proj.weight", new long[]{KV_HEADS * HEAD_DIM, HIDDEN}, std));
            t.add(new Tensor(p + "self_attn.o_proj.weight", new long[]{HIDDEN, HEADS * HEAD_DIM}, std / LAYERS));
            t.add(new Tensor(p + "post_attention_layernorm.weight", new long[]{HIDDEN}, 0));
            t.add(new Tensor(p + "mlp.gate_proj.weight", new long[]{INTERMEDIATE, HIDDEN}, std));
            t.add(new Tensor(p + "mlp.up_proj.weight", new long[]{INTERMEDIATE, HIDDEN}, std));
            t.add(new Tensor(p + "mlp.down_proj.weight", new long[]{HIDDEN, INTERMEDIATE}, (float) (1 / Math.sqrt(INTERMEDIATE)) / LAYERS));
        }
        t.add(new Tensor("model.norm.weight", new long[]{HIDDEN}, 0));
        return t;
    }

    /** Weights a decoded token multiplies: every layer matrix once, and the (tied) head. */
    static long layerWeights() {
        return tensors().stream().filter(t -> t.shape().length == 2 && !t.name().contains("embed")).mapToLong(Tensor::count).sum();
    }

    static long headWeights() {
        return (long) VOCAB * HIDDEN;
    }

    static void write(Path dir, long seed) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("config.json"), """
                {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": %d, "intermediate_size": %d,
                 "num_attention_heads": %d, "num_key_value_heads": %d, "head_dim": %d, "num_hidden_layers": %d,
                 "max_position_embeddings": 131072, "rms_norm_eps": 1e-05, "vocab_size": %d, "bos_token_id": 128000,
                 "eos_token_id": [128001, 128008, 128009], "hidden_act": "silu", "rope_theta": 500000.0,
                 "tie_word_embeddings": true, "torch_dtype": "bfloat16"}
                """.formatted(HIDDEN, INTERMEDIATE, HEADS, KV_HEADS, HEAD_DIM, LAYERS, VOCAB));
        Files.writeString(dir.resolve("tokenizer.json"), byteTokenizer());
        Files.writeString(dir.resolve("README.md"), "Random weights with Llama-3.2-1B's shapes, for speed benchmarks only.\n");
        List<Tensor> tensors = tensors();
        StringBuilder header = new StringBuilder("{\"__metadata__\":{\"format\":\"pt\"}");
        long offset = 0;
        for (Tensor t : tensors) {
            long bytes = t.count() * 2;
            header.append(",\"").append(t.name()).append("\":{\"dtype\":\"BF16\",\"shape\":[");
            for (int i = 0; i < t.shape().length; i++) {
                header.append(i == 0 ? "" : ",").append(t.shape()[i]);
            }
            header.append("],\"data_offsets\":[").append(offset).append(',').append(offset + bytes).append("]}");
            offset += bytes;
        }
        header.append('}');
        while ((header.length() + 8) % 8 != 0) {
            header.append(' ');
        }
        byte[] h = header.toString().getBytes(StandardCharsets.UTF_8);
        Path file = dir.resolve("model.safetensors");
        Path tmp = dir.resolve("model.safetensors.partial");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.READ, StandardOpenOption.WRITE); Arena arena = Arena.ofShared()) {
            long total = 8 + h.length + offset;
            MemorySegment out = ch.map(FileChannel.MapMode.READ_WRITE, 0, total, arena);
            out.set(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0, h.length);
            MemorySegment.copy(MemorySegment.ofArray(h), 0, out, 8, h.length);
            long at = 8 + h.length;
            for (Tensor t : tensors) {
                MemorySegment seg = out.asSlice(at, t.count() * 2);
                long tensorSeed = seed * 31 + t.name().hashCode();
                int blocks = (int) ((t.count() + (1 << 20) - 1) >> 20);
                IntStream.range(0, blocks).parallel().forEach(b -> {
                    SplittableRandom r = new SplittableRandom(tensorSeed + b * 0x9E3779B97F4A7C15L);
                    long from = (long) b << 20;
                    long to = Math.min(t.count(), from + (1 << 20));
                    for (long i = from; i < to; i++) {
                        // Uniform with the given standard deviation; norm weights are 1.
                        float v = t.std() == 0 ? 1f : (float) ((r.nextDouble() * 2 - 1) * 1.7320508 * t.std());
                        seg.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, (short) (Float.floatToRawIntBits(v) >>> 16));
                    }
                });
                at += t.count() * 2;
            }
            out.force();
        }
        Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    /** Byte-level BPE without merges (GPT-2's byte-to-unicode map) and Llama 3's special ids. */
    static String byteTokenizer() {
        StringBuilder vocab = new StringBuilder();
        int next = 256;
        for (int b = 0; b < 256; b++) {
            boolean direct = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            int cp = direct ? b : next++;
            String s = new String(Character.toChars(cp));
            if (s.equals("\"") || s.equals("\\")) {
                s = "\\" + s;
            }
            vocab.append(b == 0 ? "" : ",").append('"').append(s).append("\":").append(b);
        }
        StringBuilder added = new StringBuilder();
        for (int id = 128000; id < VOCAB; id++) {
            String content = id == 128000 ? "<|begin_of_text|>" : id == 128001 ? "<|end_of_text|>" : id == 128009 ? "<|eot_id|>"
                    : "<|reserved_special_token_" + (id - 128000) + "|>";
            added.append(id == 128000 ? "" : ",").append("{\"id\":").append(id).append(",\"content\":\"").append(content)
                    .append("\",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,\"normalized\":false,\"special\":true}");
        }
        return "{\"version\":\"1.0\",\"added_tokens\":[" + added + "],\"normalizer\":null,"
                + "\"pre_tokenizer\":{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":true,\"use_regex\":false},"
                + "\"model\":{\"type\":\"BPE\",\"unk_token\":\"!\",\"fuse_unk\":false,\"byte_fallback\":false,\"vocab\":{" + vocab
                + "},\"merges\":[]}}";
    }
}
