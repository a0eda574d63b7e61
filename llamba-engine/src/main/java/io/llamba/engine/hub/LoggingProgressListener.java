package io.llamba.engine.hub;

import java.lang.System.Logger.Level;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Logs downloads through {@link System.Logger} ("io.llamba.engine.hub"): large files (1 GiB and more by
 * default) at INFO when they start, at every tenth of the way and when done, with the speed; smaller
 * files at DEBUG. A server log then shows a multi-GB download moving without a progress bar.
 */
public final class LoggingProgressListener implements ProgressListener {
    private static final System.Logger LOG = System.getLogger("io.llamba.engine.hub");

    private final long largeFileBytes;
    /** Per file being downloaded: the next tenth to log. */
    private final Map<String, Integer> nextTenth = new ConcurrentHashMap<>();
    /** Per file being downloaded: the bytes an earlier attempt left, which this one did not fetch. */
    private final Map<String, Long> resumedFrom = new ConcurrentHashMap<>();

    public LoggingProgressListener() {
        this(1L << 30);
    }

    /** @param largeFileBytes files at least this big are logged at INFO */
    public LoggingProgressListener(long largeFileBytes) {
        this.largeFileBytes = largeFileBytes;
    }

    private Level level(long total) {
        return total >= largeFileBytes ? Level.INFO : Level.DEBUG;
    }

    @Override
    public void started(String repoId, String file, long totalBytes, long resumedFrom) {
        nextTenth.put(repoId + "/" + file, (int) (resumedFrom * 10 / Math.max(1, totalBytes)) + 1);
        this.resumedFrom.put(repoId + "/" + file, resumedFrom);
        if (resumedFrom > 0) {
            LOG.log(level(totalBytes), "Downloading {0} from {1}: {2}, resuming at {3}", file, repoId,
                    ProgressListener.formatBytes(totalBytes), ProgressListener.formatBytes(resumedFrom));
        } else {
            LOG.log(level(totalBytes), "Downloading {0} from {1}: {2}", file, repoId, ProgressListener.formatBytes(totalBytes));
        }
    }

    @Override
    public void progressed(String repoId, String file, long bytesDone, long totalBytes) {
        String key = repoId + "/" + file;
        Integer next = nextTenth.get(key);
        if (next == null || next >= 10 || bytesDone * 10 < next * totalBytes) {
            return;
        }
        int tenth = (int) (bytesDone * 10 / Math.max(1, totalBytes));
        nextTenth.put(key, tenth + 1);
        LOG.log(level(totalBytes), "{0}: {1}% ({2} of {3})", file, tenth * 10, ProgressListener.formatBytes(bytesDone),
                ProgressListener.formatBytes(totalBytes));
    }

    @Override
    public void finished(String repoId, String file, long totalBytes, long nanos) {
        nextTenth.remove(repoId + "/" + file);
        long fetched = totalBytes - resumedFrom.getOrDefault(repoId + "/" + file, 0L);
        resumedFrom.remove(repoId + "/" + file);
        double seconds = Math.max(nanos, 1) / 1e9;
        LOG.log(level(totalBytes), "Downloaded {0} from {1}: {2} in {3} s ({4}/s)", file, repoId,
                ProgressListener.formatBytes(totalBytes), String.format(Locale.ROOT, "%.1f", seconds),
                ProgressListener.formatBytes((long) (fetched / seconds)));
    }

    @Override
    public void failed(String repoId, String file, Exception error) {
        nextTenth.remove(repoId + "/" + file);
        resumedFrom.remove(repoId + "/" + file);
        LOG.log(Level.WARNING, "Download of {0} from {1} failed: {2}", file, repoId, error.getMessage());
    }
}
