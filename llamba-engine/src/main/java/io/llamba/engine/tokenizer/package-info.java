/**
 * The Llama 3 tokenizer: byte-level BPE, loadable from Hugging Face {@code tokenizer.json} or Meta's
 * tiktoken {@code tokenizer.model} ({@link io.llamba.engine.tokenizer.Tokenizers}), with the Llama 3
 * chat format ({@link io.llamba.engine.tokenizer.ChatTemplate}) and a streaming decoder.
 *
 * <p>How encoding works, and which class holds what:
 * <ul>
 *   <li>{@code AddedTokenMatcher} cuts special (and other added) tokens out of the text;</li>
 *   <li>a {@code PreTokenizer} splits the rest into pieces: {@code Llama3PreTokenizer} scans the
 *       Llama 3 split regex by hand, {@code RegexPreTokenizer} runs any other pattern;</li>
 *   <li>{@code PieceEncoder} turns each piece into UTF-8 and looks it up whole in the
 *       {@code TokenTable}, or merges its bytes by rank through the {@code MergeTable};</li>
 *   <li>{@code BpeModel} bundles those tables; {@code HuggingFaceTokenizerReader} and
 *       {@code TiktokenReader} build it from the two file formats;</li>
 *   <li>{@code Utf8} decodes bytes back as the reference tokenizers do, which
 *       {@link io.llamba.engine.tokenizer.StreamingDecoder} relies on.</li>
 * </ul>
 * Loaded tokenizers are immutable and safe to share between threads.
 */
package io.llamba.engine.tokenizer;
