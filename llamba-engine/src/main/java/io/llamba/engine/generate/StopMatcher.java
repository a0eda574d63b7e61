package io.llamba.engine.generate;

import java.util.List;

/**
 * Finds stop strings in streamed text. Text that could still turn out to be the start of a stop
 * string is held back until it is clear, so a stop string is never partly emitted.
 */
final class StopMatcher {
    private final List<String> stops;
    private final int longest;
    private final StringBuilder pending = new StringBuilder();
    private String matched;

    StopMatcher(List<String> stops) {
        this.stops = stops.stream().filter(s -> !s.isEmpty()).toList();
        this.longest = this.stops.stream().mapToInt(String::length).max().orElse(0);
    }

    /** Adds text; returns what is safe to emit now. After a match, {@link #matched()} is set. */
    String push(String delta) {
        if (stops.isEmpty()) {
            return delta;
        }
        pending.append(delta);
        int first = -1;
        for (String s : stops) {
            int at = pending.indexOf(s);
            if (at >= 0 && (first < 0 || at < first)) {
                first = at;
                matched = s;
            }
        }
        if (first >= 0) {
            String out = pending.substring(0, first);
            pending.setLength(0);
            return out;
        }
        // Hold back the longest suffix that is a prefix of some stop string.
        int hold = 0;
        for (int len = Math.min(longest - 1, pending.length()); len > 0; len--) {
            if (isStopPrefix(pending, pending.length() - len, len)) {
                hold = len;
                break;
            }
        }
        int emit = pending.length() - hold;
        // Never split a surrogate pair between what is emitted and what is held.
        if (emit > 0 && emit < pending.length() && Character.isHighSurrogate(pending.charAt(emit - 1))) {
            emit--;
        }
        String out = pending.substring(0, emit);
        pending.delete(0, emit);
        return out;
    }

    private boolean isStopPrefix(CharSequence text, int from, int len) {
        for (String s : stops) {
            if (s.length() > len && s.regionMatches(0, text.toString(), from, len)) {
                return true;
            }
        }
        return false;
    }

    /** At the end: whatever was held back (it did not become a stop string). */
    String flush() {
        String out = pending.toString();
        pending.setLength(0);
        return out;
    }

    String matched() {
        return matched;
    }
}
