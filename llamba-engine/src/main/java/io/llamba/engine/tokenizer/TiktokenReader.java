package io.llamba.engine.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * Reads a tiktoken BPE file (Meta's {@code tokenizer.model}): one {@code <base64 bytes> <rank>} per
 * line, the rank doubling as the token id. Special tokens are not in the file; they get the ids after
 * the largest rank, in the order given.
 *
 * <p>tiktoken merges the adjacent pair whose concatenation has the lowest rank. That is the same
 * loop as Hugging Face's with the pair table "(left, right) -> rank of left+right", which is built
 * here from every way of cutting each token into two tokens.
 */
final class TiktokenReader {
    private TiktokenReader() {
    }

    static Tokenizer read(byte[] content, String origin, List<String> specialTokens) {
        List<byte[]> byRank = new ArrayList<>(1 << 17);
        int line = 0;
        int at = 0;
        Base64.Decoder base64 = Base64.getDecoder();
        while (at < content.length) {
            line++;
            int end = at;
            while (end < content.length && content[end] != '\n') {
                end++;
            }
            int stop = end > at && content[end - 1] == '\r' ? end - 1 : end;
            if (stop > at) {
                String text = new String(content, at, stop - at, StandardCharsets.ISO_8859_1);
                int space = text.indexOf(' ');
                if (space <= 0 || space != text.lastIndexOf(' ')) {
                    throw fail(origin, line, "expected \"<base64 token> <rank>\", got " + shorten(text));
                }
                byte[] token;
                try {
                    token = base64.decode(text.substring(0, space));
                } catch (IllegalArgumentException e) {
                    throw fail(origin, line, "bad base64 " + shorten(text.substring(0, space)) + " (" + e.getMessage() + ")");
                }
                if (token.length == 0) {
                    throw fail(origin, line, "empty token");
                }
                int rank;
                try {
                    rank = Integer.parseInt(text.substring(space + 1));
                } catch (NumberFormatException e) {
                    throw fail(origin, line, "rank " + shorten(text.substring(space + 1)) + " is not an integer");
                }
                if (rank < 0 || rank > HuggingFaceTokenizerReader.MAX_ID) {
                    throw fail(origin, line, "rank " + rank + " out of range");
                }
                while (byRank.size() <= rank) {
                    byRank.add(null);
                }
                if (byRank.get(rank) != null) {
                    throw fail(origin, line, "rank " + rank + " given twice");
                }
                byRank.set(rank, token);
            }
            at = end + 1;
        }
        if (byRank.isEmpty()) {
            throw new TokenizerFormatException(origin + ": no tokens (empty file?)");
        }

        int base = byRank.size();
        int total = base + specialTokens.size();
        byte[][] bytes = new byte[total][];
        boolean[] indexed = new boolean[total];
        for (int id = 0; id < base; id++) {
            bytes[id] = byRank.get(id);
            indexed[id] = bytes[id] != null;
        }
        List<AddedToken> added = new ArrayList<>(specialTokens.size());
        for (int i = 0; i < specialTokens.size(); i++) {
            bytes[base + i] = specialTokens.get(i).getBytes(StandardCharsets.UTF_8);
            added.add(new AddedToken(base + i, specialTokens.get(i), true));
        }
        TokenTable table = new TokenTable(bytes, indexed);
        for (int id = 0; id < base; id++) {
            if (bytes[id] != null && table.find(bytes[id]) != id) {
                throw new TokenizerFormatException(origin + ": token of rank " + id + " also has rank "
                        + table.find(bytes[id]));
            }
        }

        int[] byteTokens = new int[256];
        for (int b = 0; b < 256; b++) {
            byteTokens[b] = table.find(new byte[] {(byte) b});
        }

        MergeTable merges = new MergeTable(base * 2 + base / 4);
        byte[] t = new byte[64];
        for (int id = 0; id < base; id++) {
            if (bytes[id] == null || bytes[id].length < 2) {
                continue;
            }
            int len = bytes[id].length;
            if (t.length < len + TokenTable.PAD) {
                t = new byte[len + TokenTable.PAD];
            }
            System.arraycopy(bytes[id], 0, t, 0, len);
            for (int cut = 1; cut < len; cut++) {
                int left = table.find(t, 0, cut);
                if (left < 0) {
                    continue;
                }
                int right = table.find(t, cut, len - cut);
                if (right >= 0) {
                    merges.put(left, right, id, id);
                }
            }
        }
        BpeModel model = BpeModel.of(table, merges, byteTokens, true, -1, false);
        return new Tokenizer(origin, model, added, Llama3PreTokenizer.INSTANCE);
    }

    private static TokenizerFormatException fail(String origin, int line, String what) {
        return new TokenizerFormatException(origin + ": line " + line + ": " + what);
    }

    private static String shorten(String s) {
        return "'" + (s.length() > 40 ? s.substring(0, 40) + "..." : s) + "'";
    }
}
