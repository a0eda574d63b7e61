package io.llamba.engine.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Deterministic mixed text for tokenizer benchmarks: English prose, source code, numbers and tables,
 * whitespace runs, CJK, emoji and accented/other-script text, as documents of a few KB each, in
 * proportions roughly like chat traffic. The same seed and size always give the same documents.
 */
final class BenchmarkCorpus {
    private static final String[] WORDS = ("the of and to in is that it for was on are as with his they at be this "
            + "from have or by one had not but what all were when we there can an your which their said if do will "
            + "each about how up out them then she many some so these would other into has more her two like him see "
            + "time could no make than first been its who now people my made over did down only way find use may water "
            + "long little very after words called just where most know get through back much before go good new write "
            + "our used me man too any day same right look think also around another came come work three word must "
            + "because does part even place well such here take why things help put years different away again off went "
            + "old number great tell men say small every found still between name should home big give air line set own "
            + "under read last never us left end along while might next sound below saw something thought both few those "
            + "always looked show large often together asked house world going want school important until form food keep "
            + "children feet land side without boy once animals life enough took sometimes four head above kind began "
            + "almost live page got earth need far hand high year mother light parts country father let night following "
            + "tokenizer inference recurrent distillation throughput latency benchmark deterministic asynchronous "
            + "configuration implementation serialization internationalization").split(" ");
    private static final String[] CONTRACTIONS = {"don't", "it's", "we're", "they've", "I'm", "you'll", "she'd",
        "can't", "won't", "isn't", "That's", "LET'S", "o'clock"};
    private static final String[] IDENTIFIERS = {"tokenizer", "buffer", "index", "count", "result", "value", "node",
        "request", "response", "state", "layer", "weights", "offset", "length", "config", "cache", "logits", "batch"};
    private static final String[] CJK = {
        "\u4eca\u5929\u7684\u5929\u6c14\u5f88\u597d\uff0c\u6211\u4eec\u53bb\u516c\u56ed\u6563\u6b65\u5427\u3002",
        "\u8fd9\u4e2a\u6a21\u578b\u53ef\u4ee5\u5728\u666e\u901a\u7684\u670d\u52a1\u5668\u4e0a\u8fd0\u884c\u3002",
        "\u673a\u5668\u5b66\u4e60\u9700\u8981\u5927\u91cf\u7684\u6570\u636e\u548c\u8ba1\u7b97\u8d44\u6e90\u3002",
        "\u6771\u4eac\u306f\u65e5\u672c\u306e\u9996\u90fd\u3067\u3001\u4eba\u53e3\u304c\u3068\u3066\u3082\u591a\u3044\u3067\u3059\u3002",
        "\u79c1\u306f\u6bce\u671d\u30b3\u30fc\u30d2\u30fc\u3092\u98f2\u307f\u306a\u304c\u3089\u65b0\u805e\u3092\u8aad\u307f\u307e\u3059\u3002",
        "\u30c8\u30fc\u30af\u30ca\u30a4\u30b6\u30fc\u306e\u30c6\u30b9\u30c8\u3092\u66f8\u304d\u307e\u3057\u305f\u3002",
        "\ud55c\uad6d\uc5b4\ub294 \ud55c\uae00\ub85c \uc4f0\uace0 \ub744\uc5b4\uc4f0\uae30\ub97c \ud569\ub2c8\ub2e4.",
        "\uc624\ub298\uc740 \ub0a0\uc528\uac00 \uc815\ub9d0 \uc88b\ub124\uc694.",
    };
    private static final String[] EMOJI = {"\uD83D\uDE00", "\uD83D\uDC4D", "\uD83D\uDC4D\uD83C\uDFFD", "\u2764\uFE0F",
        "\uD83D\uDC68\u200D\uD83D\uDC69\u200D\uD83D\uDC67\u200D\uD83D\uDC66", "\uD83C\uDDEF\uD83C\uDDF5",
        "\uD83C\uDDEB\uD83C\uDDF7", "\u2728", "\uD83D\uDE80", "\uD83E\uDD14", "\uD83C\uDF89", "\u2615"};
    private static final String[] OTHER_LANGUAGES = {
        "L'\u00e9t\u00e9 dernier, nous sommes all\u00e9s \u00e0 la mer pr\u00e8s de Biarritz.",
        "Die Stra\u00dfe f\u00fchrt \u00fcber die Br\u00fccke zum sch\u00f6nen M\u00fcnchner Bahnhof.",
        "El ni\u00f1o comi\u00f3 una manzana y despu\u00e9s se durmi\u00f3 en el sof\u00e1.",
        "Ti\u1ebfng Vi\u1ec7t c\u00f3 r\u1ea5t nhi\u1ec1u d\u1ea5u thanh v\u00e0 ch\u1eef c\u00e1i \u0111\u1eb7c bi\u1ec7t.",
        "\u041c\u043e\u0441\u043a\u0432\u0430 \u2014 \u0441\u0442\u043e\u043b\u0438\u0446\u0430 \u0420\u043e\u0441\u0441\u0438\u0438, "
            + "\u043a\u0440\u0443\u043f\u043d\u0435\u0439\u0448\u0438\u0439 \u0433\u043e\u0440\u043e\u0434 \u0441\u0442\u0440\u0430\u043d\u044b.",
        "\u0397 \u0391\u03b8\u03ae\u03bd\u03b1 \u03b5\u03af\u03bd\u03b1\u03b9 \u03b7 \u03c0\u03c1\u03c9\u03c4\u03b5\u03cd\u03bf\u03c5\u03c3\u03b1 "
            + "\u03c4\u03b7\u03c2 \u0395\u03bb\u03bb\u03ac\u03b4\u03b1\u03c2.",
        "Za\u017c\u00f3\u0142\u0107 g\u0119\u015bl\u0105 ja\u017a\u0144 \u2014 \u0142\u00f3d\u017a p\u0142ynie po rzece.",
        "\u00c7ok g\u00fczel bir g\u00fcn, \u015fehirde y\u00fcr\u00fcy\u00fc\u015f yapal\u0131m m\u0131?",
        "Cr\u00e8me br\u00fbl\u00e9e, na\u00efve caf\u00e9, co\u00f6perate, r\u00e9sum\u00e9, pi\u00f1ata, fa\u00e7ade.",
        "e\u0301 a\u0308 o\u0302 \u0915\u094d\u0937\u0924\u094d\u0930\u093f\u092f \u0e20\u0e32\u0e29\u0e32\u0e44\u0e17\u0e22",
    };

    private final SplittableRandom random;

    private BenchmarkCorpus(long seed) {
        this.random = new SplittableRandom(seed);
    }

    /** Documents totalling at least {@code bytes} bytes of UTF-8. */
    static List<String> generate(long bytes, long seed) {
        BenchmarkCorpus c = new BenchmarkCorpus(seed);
        List<String> docs = new ArrayList<>();
        long total = 0;
        while (total < bytes) {
            String doc = c.document();
            docs.add(doc);
            total += doc.getBytes(StandardCharsets.UTF_8).length;
        }
        return docs;
    }

    private String document() {
        StringBuilder sb = new StringBuilder(4096);
        int target = 500 + random.nextInt(3500);
        int kind = random.nextInt(100);
        while (sb.length() < target) {
            if (kind < 35) {
                prose(sb);
            } else if (kind < 55) {
                code(sb);
            } else if (kind < 65) {
                numbers(sb);
            } else if (kind < 70) {
                whitespace(sb);
            } else if (kind < 80) {
                sb.append(pick(CJK));
                if (random.nextInt(4) == 0) {
                    sb.append(' ').append(word()).append(' ');
                }
                if (random.nextInt(6) == 0) {
                    sb.append('\n');
                }
            } else if (kind < 85) {
                emoji(sb);
            } else {
                sb.append(pick(OTHER_LANGUAGES)).append(random.nextInt(5) == 0 ? "\n" : " ");
            }
        }
        return sb.toString();
    }

    private String pick(String[] a) {
        return a[random.nextInt(a.length)];
    }

    private String word() {
        // Zipf-like: early words far more often.
        int i = (int) (WORDS.length * Math.pow(random.nextDouble(), 2.5));
        return WORDS[Math.min(i, WORDS.length - 1)];
    }

    private void prose(StringBuilder sb) {
        int n = 5 + random.nextInt(16);
        for (int i = 0; i < n; i++) {
            String w = random.nextInt(30) == 0 ? pick(CONTRACTIONS) : word();
            if (i == 0) {
                w = Character.toUpperCase(w.charAt(0)) + w.substring(1);
            } else {
                sb.append(' ');
            }
            sb.append(w);
            if (i + 1 < n && random.nextInt(9) == 0) {
                sb.append(',');
            }
        }
        sb.append(random.nextInt(8) == 0 ? "?" : random.nextInt(10) == 0 ? "!" : ".");
        sb.append(random.nextInt(5) == 0 ? "\n\n" : " ");
    }

    private String identifier() {
        String a = pick(IDENTIFIERS);
        return switch (random.nextInt(3)) {
            case 0 -> a;
            case 1 -> {
                String b = pick(IDENTIFIERS);
                yield a + Character.toUpperCase(b.charAt(0)) + b.substring(1);
            }
            default -> a + "_" + pick(IDENTIFIERS);
        };
    }

    private void code(StringBuilder sb) {
        String indent = " ".repeat(4 * random.nextInt(4));
        switch (random.nextInt(6)) {
            case 0 -> sb.append(indent).append("for (int i = 0; i < ").append(identifier()).append(".length; i++) {\n");
            case 1 -> sb.append(indent).append("final var ").append(identifier()).append(" = ").append(identifier())
                    .append('.').append(identifier()).append('(').append(random.nextInt(1000)).append(", \"")
                    .append(word()).append("\");\n");
            case 2 -> sb.append(indent).append("if ").append(identifier()).append(" is not None and ")
                    .append(identifier()).append(" >= ").append(random.nextInt(100)).append(":\n");
            case 3 -> sb.append(indent).append("return ").append(identifier()).append(" * 0x")
                    .append(Integer.toHexString(random.nextInt())).append(" + ").append(random.nextDouble()).append(";\n");
            case 4 -> sb.append(indent).append("// ").append(word()).append(' ').append(word()).append(' ')
                    .append(word()).append(": TODO(").append(word()).append(")\n");
            default -> sb.append(indent).append("}\n\n");
        }
    }

    private void numbers(StringBuilder sb) {
        switch (random.nextInt(4)) {
            case 0 -> sb.append(String.format(Locale.ROOT, "| %04d-%02d-%02d | %,12.2f | %8.4f | %d |\n", 1990 + random.nextInt(40),
                    1 + random.nextInt(12), 1 + random.nextInt(28), random.nextDouble() * 1e7, random.nextDouble(),
                    random.nextInt(100000)));
            case 1 -> sb.append("+1 (").append(100 + random.nextInt(900)).append(") ").append(100 + random.nextInt(900))
                    .append('-').append(1000 + random.nextInt(9000)).append('\n');
            case 2 -> sb.append(random.nextLong()).append(' ').append(random.nextInt(1 << 20)).append(' ')
                    .append(String.format(Locale.ROOT, "%.6e", random.nextDouble() * 1e-3)).append('\n');
            default -> sb.append("v").append(random.nextInt(10)).append('.').append(random.nextInt(30)).append('.')
                    .append(random.nextInt(100)).append(", ").append(random.nextInt(256)).append('.')
                    .append(random.nextInt(256)).append('.').append(random.nextInt(256)).append(".1\n");
        }
    }

    private void whitespace(StringBuilder sb) {
        sb.append(" ".repeat(random.nextInt(40))).append(word()).append("\t".repeat(random.nextInt(5)))
                .append(word()).append("\n".repeat(random.nextInt(4))).append(random.nextInt(3) == 0 ? "\r\n" : "")
                .append(" \u00a0 ".repeat(random.nextInt(2)));
    }

    private void emoji(StringBuilder sb) {
        sb.append(word()).append(' ');
        int n = 1 + random.nextInt(4);
        for (int i = 0; i < n; i++) {
            sb.append(pick(EMOJI));
        }
        sb.append(random.nextInt(3) == 0 ? "\n" : " ");
    }
}
