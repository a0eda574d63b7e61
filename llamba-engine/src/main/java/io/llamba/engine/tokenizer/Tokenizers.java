package io.llamba.engine.tokenizer;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;

/**
 * Loads tokenizers: Hugging Face {@code tokenizer.json} or tiktoken {@code tokenizer.model}, chosen
 * by file name or, failing that, by content (JSON starts with '{').
 */
public final class Tokenizers {
    /** Classpath location of the bundled Llama 3 tokenizer.model (with its LICENSE and NOTICE). */
    public static final String LLAMA3_RESOURCE = "/io/llamba/engine/tokenizer/llama3/tokenizer.model";

    private Tokenizers() {
    }

    /**
     * Loads {@code tokenizer.json} or {@code tokenizer.model}; given a directory (a checkpoint),
     * loads the tokenizer.json in it, else its tokenizer.model.
     *
     * @throws TokenizerFormatException when the content is unusable (the message names the file)
     */
    public static Tokenizer load(Path path) throws IOException {
        if (Files.isDirectory(path)) {
            for (String name : new String[] {"tokenizer.json", "tokenizer.model"}) {
                if (Files.isRegularFile(path.resolve(name))) {
                    return load(path.resolve(name));
                }
            }
            throw new IOException(path + ": no tokenizer.json or tokenizer.model in this directory");
        }
        if (!Files.exists(path)) {
            throw new NoSuchFileException(path.toString(), null, "no such tokenizer file");
        }
        return parse(Files.readAllBytes(path), path.toString());
    }

    /** Loads from a stream (read to the end, not closed); {@code origin} names it in errors and picks the format. */
    public static Tokenizer load(InputStream in, String origin) throws IOException {
        return parse(in.readAllBytes(), origin);
    }

    /** Loads a classpath resource (absolute path, e.g. {@code /models/tokenizer.json}). */
    public static Tokenizer fromClasspath(String resource) throws IOException {
        try (InputStream in = Tokenizers.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IOException("classpath resource " + resource + " not found");
            }
            return load(in, "classpath:" + resource);
        }
    }

    /**
     * The Llama 3 tokenizer bundled with the engine (Meta's tokenizer.model and the 256 Llama 3.1
     * special tokens). Loaded once, on first use, then shared (tokenizers are immutable).
     */
    public static Tokenizer llama3() {
        return Llama3Holder.INSTANCE;
    }

    private static final class Llama3Holder {
        static final Tokenizer INSTANCE;

        static {
            try {
                INSTANCE = fromClasspath(LLAMA3_RESOURCE);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    /** The special tokens a tiktoken Llama 3 file gets, in id order from 128000. */
    public static List<String> llama3SpecialTokens() {
        return Llama3SpecialTokens.NAMES;
    }

    /** Reads a tiktoken file with the given special tokens after its ranks, split by the Llama 3 regex. */
    public static Tokenizer tiktoken(InputStream in, String origin, List<String> specialTokens) throws IOException {
        return TiktokenReader.read(in.readAllBytes(), origin, specialTokens);
    }

    static Tokenizer parse(byte[] content, String origin) {
        String lower = origin.toLowerCase(java.util.Locale.ROOT);
        boolean json;
        if (lower.endsWith(".json")) {
            json = true;
        } else if (lower.endsWith(".model") || lower.endsWith(".tiktoken")) {
            json = false;
        } else {
            int i = 0;
            while (i < content.length && (content[i] == ' ' || content[i] == '\n' || content[i] == '\r'
                    || content[i] == '\t')) {
                i++;
            }
            json = i < content.length && content[i] == '{';
        }
        if (content.length == 0) {
            throw new TokenizerFormatException(origin + ": empty file");
        }
        if (!json) {
            return TiktokenReader.read(content, origin, Llama3SpecialTokens.NAMES);
        }
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(content)).toString();
        } catch (CharacterCodingException e) {
            throw new TokenizerFormatException(origin + ": not valid UTF-8 text", e);
        }
        return HuggingFaceTokenizerReader.read(text, origin);
    }
}
