package io.llamba.engine.cuda;

/** A kernel of the loaded module, by its (extern "C") name. */
public final class Kernel {
    private final String name;
    final Object handle;
    /** The dynamic shared memory the kernel has been allowed so far (above 48 KB needs an opt-in). */
    int sharedLimit = 48 * 1024;

    Kernel(String name, Object handle) {
        this.name = name;
        this.handle = handle;
    }

    public String name() {
        return name;
    }

    @Override
    public String toString() {
        return name;
    }
}
