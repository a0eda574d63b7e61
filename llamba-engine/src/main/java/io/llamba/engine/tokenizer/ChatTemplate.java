package io.llamba.engine.tokenizer;

import java.util.Arrays;
import java.util.List;

/**
 * The Llama 3 chat prompt format, as the Llamba models (distilled from Llama 3.x Instruct) expect it:
 *
 * <pre>
 * &lt;|begin_of_text|&gt;                                       once
 * &lt;|start_header_id|&gt;{role}&lt;|end_header_id|&gt;\n\n{content}&lt;|eot_id|&gt;   per message
 * &lt;|start_header_id|&gt;assistant&lt;|end_header_id|&gt;\n\n            generation prompt
 * </pre>
 *
 * Content is used as given (no trimming, no default system message). {@link #encode} builds token
 * ids directly: the markers are special ids, while roles and contents go through
 * {@link Tokenizer#encode}, so special-token text typed by a user stays plain text and cannot close
 * a turn or forge a header. For ordinary content the ids equal
 * {@code tokenizer.encodeWithSpecials(render(...))}: "\n\n" and the content are encoded together, as
 * the text between two special tokens would be.
 */
public final class ChatTemplate {
    static final String BEGIN_OF_TEXT = "<|begin_of_text|>";
    static final String START_HEADER = "<|start_header_id|>";
    static final String END_HEADER = "<|end_header_id|>";
    static final String END_OF_TURN = "<|eot_id|>";

    private final Tokenizer tokenizer;
    private final int beginOfText;
    private final int startHeader;
    private final int endHeader;
    private final int endOfTurn;

    /** @throws IllegalStateException when the tokenizer lacks one of the four Llama 3 chat specials */
    public ChatTemplate(Tokenizer tokenizer) {
        this.tokenizer = tokenizer;
        this.beginOfText = tokenizer.requireSpecial(BEGIN_OF_TEXT);
        this.startHeader = tokenizer.requireSpecial(START_HEADER);
        this.endHeader = tokenizer.requireSpecial(END_HEADER);
        this.endOfTurn = tokenizer.requireSpecial(END_OF_TURN);
    }

    public Tokenizer tokenizer() {
        return tokenizer;
    }

    /** The prompt's token ids, beginning with {@code <|begin_of_text|>}. */
    public int[] encode(List<ChatMessage> messages, boolean addGenerationPrompt) {
        Ids ids = new Ids();
        ids.add(beginOfText);
        for (ChatMessage m : messages) {
            header(ids, m.role());
            ids.addAll(tokenizer.encode("\n\n" + m.content()));
            ids.add(endOfTurn);
        }
        if (addGenerationPrompt) {
            header(ids, ChatMessage.ASSISTANT);
            ids.addAll(tokenizer.encode("\n\n"));
        }
        return ids.toArray();
    }

    private void header(Ids ids, String role) {
        ids.add(startHeader);
        ids.addAll(tokenizer.encode(role));
        ids.add(endHeader);
    }

    /** The prompt as text, for display and logs. */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        StringBuilder sb = new StringBuilder(BEGIN_OF_TEXT);
        for (ChatMessage m : messages) {
            sb.append(START_HEADER).append(m.role()).append(END_HEADER).append("\n\n")
                    .append(m.content()).append(END_OF_TURN);
        }
        if (addGenerationPrompt) {
            sb.append(START_HEADER).append(ChatMessage.ASSISTANT).append(END_HEADER).append("\n\n");
        }
        return sb.toString();
    }

    private static final class Ids {
        private int[] a = new int[64];
        private int n;

        void add(int id) {
            if (n == a.length) {
                a = Arrays.copyOf(a, n * 2);
            }
            a[n++] = id;
        }

        void addAll(int[] ids) {
            if (n + ids.length > a.length) {
                a = Arrays.copyOf(a, Math.max(n + ids.length, a.length * 2));
            }
            System.arraycopy(ids, 0, a, n, ids.length);
            n += ids.length;
        }

        int[] toArray() {
            return Arrays.copyOf(a, n);
        }
    }
}
