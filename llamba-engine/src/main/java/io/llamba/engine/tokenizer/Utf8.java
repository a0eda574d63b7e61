package io.llamba.engine.tokenizer;

import java.nio.charset.StandardCharsets;

/**
 * Lossy UTF-8 decoding that replaces each maximal ill-formed subpart with one U+FFFD (the Unicode
 * Standard's recommended practice, ch. 3 "U+FFFD Substitution of Maximal Subparts"). Rust's
 * {@code String::from_utf8_lossy} (Hugging Face's ByteLevel decoder) and Python's
 * {@code decode(errors="replace")} (tiktoken) do the same; {@code new String(bytes, UTF_8)} does not
 * always (an encoded surrogate becomes one U+FFFD instead of three). Following the standard also makes
 * streaming exact: text cut just before a lead byte decodes the same in pieces as in one go.
 */
final class Utf8 {
    private Utf8() {
    }

    static String decode(byte[] b, int off, int len) {
        // The JDK's decoder is fast and agrees on valid input; without U+FFFD in its output the input was valid.
        String fast = new String(b, off, len, StandardCharsets.UTF_8);
        if (fast.indexOf('\uFFFD') < 0) {
            return fast;
        }
        int bad = firstIllFormed(b, off, off + len);
        if (bad < 0) {
            return fast; // valid, with a real U+FFFD in it
        }
        StringBuilder sb = new StringBuilder(len);
        int end = off + len;
        int i = off;
        while (i < end) {
            if (bad > i) {
                sb.append(new String(b, i, bad - i, StandardCharsets.UTF_8));
            }
            sb.append('\uFFFD');
            i = bad + illFormedLength(b, bad, end);
            bad = i < end ? firstIllFormed(b, i, end) : -1;
            if (bad < 0) {
                sb.append(new String(b, i, end - i, StandardCharsets.UTF_8));
                break;
            }
        }
        return sb.toString();
    }

    /** Length of the well-formed sequence at i (1 to 4), or 0 when ill-formed (or cut off by end). */
    private static int sequenceLength(byte[] b, int i, int end) {
        int b0 = b[i] & 0xFF;
        if (b0 < 0x80) {
            return 1;
        }
        int need;
        int lo = 0x80;
        int hi = 0xBF;
        if (b0 >= 0xC2 && b0 <= 0xDF) {
            need = 2;
        } else if (b0 >= 0xE0 && b0 <= 0xEF) {
            need = 3;
            if (b0 == 0xE0) {
                lo = 0xA0; // no overlong forms
            } else if (b0 == 0xED) {
                hi = 0x9F; // no surrogates
            }
        } else if (b0 >= 0xF0 && b0 <= 0xF4) {
            need = 4;
            if (b0 == 0xF0) {
                lo = 0x90;
            } else if (b0 == 0xF4) {
                hi = 0x8F; // nothing past U+10FFFF
            }
        } else {
            return 0;
        }
        if (i + need > end) {
            return 0;
        }
        int b1 = b[i + 1] & 0xFF;
        if (b1 < lo || b1 > hi) {
            return 0;
        }
        for (int k = 2; k < need; k++) {
            int c = b[i + k] & 0xFF;
            if (c < 0x80 || c > 0xBF) {
                return 0;
            }
        }
        return need;
    }

    /** Index of the first ill-formed sequence in [from, end), or -1. */
    static int firstIllFormed(byte[] b, int from, int end) {
        int i = from;
        while (i < end) {
            if (b[i] >= 0) {
                i++;
                continue;
            }
            int n = sequenceLength(b, i, end);
            if (n == 0) {
                return i;
            }
            i += n;
        }
        return -1;
    }

    /** Length of the maximal subpart at an ill-formed position: the longest prefix of a well-formed sequence, at least 1. */
    private static int illFormedLength(byte[] b, int i, int end) {
        int b0 = b[i] & 0xFF;
        int need;
        int lo = 0x80;
        int hi = 0xBF;
        if (b0 >= 0xC2 && b0 <= 0xDF) {
            need = 2;
        } else if (b0 >= 0xE0 && b0 <= 0xEF) {
            need = 3;
            lo = b0 == 0xE0 ? 0xA0 : 0x80;
            hi = b0 == 0xED ? 0x9F : 0xBF;
        } else if (b0 >= 0xF0 && b0 <= 0xF4) {
            need = 4;
            lo = b0 == 0xF0 ? 0x90 : 0x80;
            hi = b0 == 0xF4 ? 0x8F : 0xBF;
        } else {
            return 1;
        }
        int k = 1;
        if (i + 1 < end) {
            int b1 = b[i + 1] & 0xFF;
            if (b1 >= lo && b1 <= hi) {
                k = 2;
                while (k < need && i + k < end) {
                    int c = b[i + k] & 0xFF;
                    if (c < 0x80 || c > 0xBF) {
                        break;
                    }
                    k++;
                }
            }
        }
        return k;
    }

    /**
     * How many leading bytes of b[0, n) can be decoded without cutting a character that more bytes
     * could complete: all, unless the tail is a proper prefix of a well-formed sequence.
     */
    static int completeLength(byte[] b, int n) {
        for (int k = 1; k <= 3 && k <= n; k++) {
            int p = n - k;
            int lead = b[p] & 0xFF;
            if (lead < 0x80) {
                return n;
            }
            if (lead < 0xC0) {
                continue; // continuation byte: look further back for its lead
            }
            int need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
            if (lead < 0xC2 || lead > 0xF4 || k >= need) {
                return n; // never valid, or complete
            }
            // A proper prefix when its bytes are all allowed where they stand (continuations were checked above).
            return k == 1 || illFormedLength(b, p, n) == k ? p : n;
        }
        return n;
    }
}
