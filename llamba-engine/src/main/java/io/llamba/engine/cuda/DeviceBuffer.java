package io.llamba.engine.cuda;

/**
 * A block of device memory: its address (what kernels and cuBLAS take), its size, and the
 * backend's own handle. Freed by the {@link Device} that allocated it.
 */
public final class DeviceBuffer {
    private final long address;
    private final long bytes;
    private final String purpose;
    final Object handle;
    private boolean freed;

    DeviceBuffer(long address, long bytes, String purpose, Object handle) {
        this.address = address;
        this.bytes = bytes;
        this.purpose = purpose;
        this.handle = handle;
    }

    /** The device address of byte {@code offset}. */
    public long at(long offset) {
        if (offset < 0 || offset > bytes) {
            throw new IndexOutOfBoundsException("offset " + offset + " outside " + purpose + " of " + bytes + " bytes");
        }
        return address + offset;
    }

    public long address() {
        return address;
    }

    public long bytes() {
        return bytes;
    }

    public String purpose() {
        return purpose;
    }

    boolean markFreed() {
        boolean was = freed;
        freed = true;
        return !was;
    }

    @Override
    public String toString() {
        return purpose + " (" + bytes + " bytes at 0x" + Long.toHexString(address) + ")";
    }
}
