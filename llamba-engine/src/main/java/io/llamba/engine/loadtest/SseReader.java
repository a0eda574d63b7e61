package io.llamba.engine.loadtest;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;

/**
 * Reads server-sent events (the WHATWG event-stream format) from a response body: {@code field:
 * value} lines, one optional space after the colon, {@code data} lines of one event joined by
 * newlines, comments (lines starting with a colon) skipped, a blank line ending an event.
 */
final class SseReader implements AutoCloseable {
    /** One event: its type ({@code message} when unnamed) and data. */
    record Event(String type, String data) {
    }

    /** Longest line accepted: a chat chunk is a few hundred bytes; a runaway line is a broken stream. */
    static final int MAX_LINE = 1 << 20;

    private final BufferedReader in;

    SseReader(InputStream body) {
        this.in = new BufferedReader(new InputStreamReader(body, StandardCharsets.UTF_8));
    }

    /** The next event, or null at the end of the stream (an unterminated last event is dropped, as the format says). */
    Event next() throws IOException {
        StringBuilder data = null;
        String type = null;
        String line;
        while ((line = in.readLine()) != null) {
            if (line.length() > MAX_LINE) {
                throw new IOException("event-stream line of " + line.length() + " characters, more than " + MAX_LINE);
            }
            if (line.isEmpty()) {
                if (data != null) {
                    return new Event(type == null ? "message" : type, data.toString());
                }
                type = null;
                continue;
            }
            if (line.charAt(0) == ':') {
                continue;
            }
            int colon = line.indexOf(':');
            String field = colon < 0 ? line : line.substring(0, colon);
            String value = colon < 0 ? "" : line.substring(colon + 1 < line.length() && line.charAt(colon + 1) == ' ' ? colon + 2 : colon + 1);
            switch (field) {
                case "data" -> {
                    if (data == null) {
                        data = new StringBuilder(value);
                    } else {
                        data.append('\n').append(value);
                    }
                }
                case "event" -> type = value;
                default -> {
                    // id, retry and unknown fields do not matter here.
                }
            }
        }
        return null;
    }

    @Override
    public void close() throws IOException {
        in.close();
    }
}
