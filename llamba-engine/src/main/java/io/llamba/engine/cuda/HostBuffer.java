package io.llamba.engine.cuda;

import java.lang.foreign.MemorySegment;

/** Page-locked host memory for asynchronous copies; {@link #segment()} reads and writes it. */
public final class HostBuffer {
    private final MemorySegment segment;
    final Object handle;

    HostBuffer(MemorySegment segment, Object handle) {
        this.segment = segment;
        this.handle = handle;
    }

    public MemorySegment segment() {
        return segment;
    }

    public long bytes() {
        return segment.byteSize();
    }
}
