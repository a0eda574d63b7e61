package io.llamba.engine.hub;

import java.util.Locale;

/** When to contact the Hub for a repository id, like Spring AI Ollama's pull-model strategy. */
public enum PullStrategy {
    /** Ask the Hub for the revision's current commit every time (one HEAD per file; blobs already cached are not fetched again). Falls back to the cache, with a warning, when the Hub cannot be reached. */
    ALWAYS,
    /** Use the cached snapshot of the revision when every needed file is in it; contact the Hub only otherwise. */
    WHEN_MISSING,
    /** Never contact the Hub: the files must already be in the cache (like {@code HF_HUB_OFFLINE=1}). */
    NEVER;

    /** {@code always}, {@code when_missing} (or {@code when-missing}) or {@code never}, any case. */
    public static PullStrategy parse(String text) {
        String t = text.trim().toUpperCase(Locale.ROOT).replace('-', '_');
        for (PullStrategy s : values()) {
            if (s.name().equals(t)) {
                return s;
            }
        }
        throw new IllegalArgumentException("unknown pull strategy '" + text + "' (expected always, when_missing or never)");
    }

    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
