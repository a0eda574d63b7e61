package io.llamba.engine.cache;

/** Where in a conversation a cached state was taken. */
public enum SnapshotKind {
    /** Inside a prompt (at a turn boundary of the history a client sent). */
    PROMPT,
    /** After a reply the model generated, its end-of-turn token included. */
    REPLY
}
