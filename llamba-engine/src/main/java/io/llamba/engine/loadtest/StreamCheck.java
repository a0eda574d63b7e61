package io.llamba.engine.loadtest;

import io.llamba.engine.json.Json;
import io.llamba.engine.json.JsonException;
import io.llamba.engine.json.JsonObject;

import java.util.List;

/**
 * Follows one streamed chat completion ({@code chat.completion.chunk} events, then
 * {@code data: [DONE]}) and decides how it ended: the text its deltas add up to, its finish
 * reason, its completion id, and every breach of the protocol on the way.
 */
final class StreamCheck {
    private final StringBuilder text = new StringBuilder();
    private String id;
    private String finishReason;
    private boolean done;
    private Outcome verdict;
    private String problem;
    private long firstContentNanos;
    private long lastContentNanos;
    private long completionTokens = -1;
    private int contentEvents;
    private final long startNanos;
    private final GapSink gaps;

    /** Receives the time between consecutive content events. */
    interface GapSink {
        void gap(long nanos);
    }

    StreamCheck(long startNanos, GapSink gaps) {
        this.startNanos = startNanos;
        this.gaps = gaps;
    }

    /** Takes one event; returns false once the stream's verdict is settled (stop reading). */
    boolean accept(SseReader.Event event, long nowNanos) {
        if (verdict != null) {
            return false;
        }
        String data = event.data();
        if (data.equals("[DONE]")) {
            if (done) {
                return fail(Outcome.DUPLICATED, "a second [DONE]");
            }
            done = true;
            return true;
        }
        if (done) {
            return fail(Outcome.DUPLICATED, "an event after [DONE]");
        }
        JsonObject chunk;
        try {
            chunk = Json.parseObject(data, "event");
        } catch (JsonException e) {
            return fail(Outcome.MALFORMED, "event data is not a JSON object: " + abbreviate(data));
        }
        if (chunk.has("error") || event.type().equals("error")) {
            Object err = chunk.raw("error");
            String message = err instanceof java.util.Map<?, ?> m && m.get("message") != null ? String.valueOf(m.get("message")) : abbreviate(data);
            return fail(Outcome.ERROR, "error event: " + message);
        }
        try {
            String chunkId = chunk.optString("id", null);
            if (chunkId != null) {
                if (id == null) {
                    id = chunkId;
                } else if (!id.equals(chunkId)) {
                    return fail(Outcome.MISMATCHED, "completion id changed from " + id + " to " + chunkId + " within one stream");
                }
            }
            if (chunk.has("usage")) {
                completionTokens = chunk.getObject("usage").optLong("completion_tokens", -1);
            }
            List<JsonObject> choices = chunk.has("choices") ? chunk.getObjectList("choices") : List.of();
            for (JsonObject choice : choices) {
                if (choice.optInt("index", 0) != 0) {
                    return fail(Outcome.MALFORMED, "choice index " + choice.optInt("index", 0) + " (one choice was asked for)");
                }
                JsonObject delta = choice.optObject("delta");
                String content = delta == null ? null : delta.optString("content", null);
                if (content != null && !content.isEmpty()) {
                    if (finishReason != null) {
                        return fail(Outcome.DUPLICATED, "content after the finish reason");
                    }
                    text.append(content);
                    contentEvents++;
                    if (firstContentNanos == 0) {
                        firstContentNanos = nowNanos;
                    } else if (gaps != null) {
                        gaps.gap(nowNanos - lastContentNanos);
                    }
                    lastContentNanos = nowNanos;
                }
                String finish = choice.optString("finish_reason", null);
                if (finish != null) {
                    if (finishReason != null) {
                        return fail(Outcome.DUPLICATED, "a second finish reason (" + finishReason + ", then " + finish + ")");
                    }
                    finishReason = finish;
                }
            }
        } catch (JsonException e) {
            return fail(Outcome.MALFORMED, e.getMessage());
        }
        return true;
    }

    /** Settles the verdict from outside the stream (an HTTP status, a content type). */
    void settle(Outcome outcome, String why) {
        fail(outcome, why);
    }

    private boolean fail(Outcome outcome, String why) {
        verdict = outcome;
        problem = why;
        return false;
    }

    /** At the end of the body: the verdict of the stream itself, before its text is compared. */
    void end(boolean timedOut) {
        if (verdict != null) {
            return;
        }
        if (timedOut) {
            fail(Outcome.LOST, "no end within the request timeout (" + text.length() + " characters received)");
        } else if (finishReason == null) {
            fail(Outcome.LOST, "the stream ended without a finish reason (" + text.length() + " characters received)");
        } else if (!done) {
            fail(Outcome.LOST, "the stream ended without [DONE]");
        } else if (!finishReason.equals("stop") && !finishReason.equals("length") && !finishReason.equals("tool_calls")) {
            fail(Outcome.ERROR, "finish reason " + finishReason);
        }
    }

    void broken(String why) {
        if (verdict == null) {
            fail(Outcome.LOST, why);
        }
    }

    /** Null while the stream looks complete and correct (then the text decides). */
    Outcome verdict() {
        return verdict;
    }

    String problem() {
        return problem;
    }

    String text() {
        return text.toString();
    }

    String id() {
        return id;
    }

    String finishReason() {
        return finishReason;
    }

    long timeToFirstContentNanos() {
        return firstContentNanos == 0 ? -1 : firstContentNanos - startNanos;
    }

    long completionTokens() {
        return completionTokens;
    }

    int contentEvents() {
        return contentEvents;
    }

    static String abbreviate(String s) {
        return s.length() <= 120 ? s : s.substring(0, 117) + "...";
    }
}
