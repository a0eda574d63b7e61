package io.llamba.engine.hub;

/**
 * Download progress of files fetched from the Hub. Called on the downloading thread; implementations
 * must be quick. Bytes count from the start of the file, so a resumed download starts above zero.
 */
public interface ProgressListener {
    /** A listener that ignores everything. */
    ProgressListener NONE = new ProgressListener() {
    };

    /** A file starts downloading; {@code resumedFrom} bytes are already on disk from an earlier attempt. */
    default void started(String repoId, String file, long totalBytes, long resumedFrom) {
    }

    /** More bytes arrived: {@code bytesDone} of {@code totalBytes} are now on disk. */
    default void progressed(String repoId, String file, long bytesDone, long totalBytes) {
    }

    /** The file was downloaded, verified and moved into the cache. */
    default void finished(String repoId, String file, long totalBytes, long nanos) {
    }

    /** The download stopped with an error (a partial file may stay in the cache to be resumed). */
    default void failed(String repoId, String file, Exception error) {
    }

    /** Both listeners, in order. */
    static ProgressListener both(ProgressListener a, ProgressListener b) {
        return new ProgressListener() {
            @Override
            public void started(String repoId, String file, long totalBytes, long resumedFrom) {
                a.started(repoId, file, totalBytes, resumedFrom);
                b.started(repoId, file, totalBytes, resumedFrom);
            }

            @Override
            public void progressed(String repoId, String file, long bytesDone, long totalBytes) {
                a.progressed(repoId, file, bytesDone, totalBytes);
                b.progressed(repoId, file, bytesDone, totalBytes);
            }

            @Override
            public void finished(String repoId, String file, long totalBytes, long nanos) {
                a.finished(repoId, file, totalBytes, nanos);
                b.finished(repoId, file, totalBytes, nanos);
            }

            @Override
            public void failed(String repoId, String file, Exception error) {
                a.failed(repoId, file, error);
                b.failed(repoId, file, error);
            }
        };
    }

    /** "1.4 GiB", "312.0 KiB", "17 B". */
    static String formatBytes(long bytes) {
        if (bytes < 1024) {
            return bytes + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        double v = bytes;
        int u = -1;
        do {
            v /= 1024;
            u++;
        } while (v >= 1024 && u < units.length - 1);
        return String.format(java.util.Locale.ROOT, "%.1f %s", v, units[u]);
    }
}
