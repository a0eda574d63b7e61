package io.llamba.engine.cli;

import io.llamba.engine.hub.ProgressListener;

import java.io.PrintStream;
import java.util.Locale;

/**
 * Download progress on stderr: a bar redrawn in place on a terminal (at most five times a second),
 * or, when stderr is a file or pipe, a line at the start, at every tenth of a large file and at the end.
 */
final class ConsoleProgressBar implements ProgressListener {
    private static final long REDRAW_NANOS = 200_000_000L;
    private static final int WIDTH = 24;

    private final PrintStream err;
    private final boolean interactive;
    private long startNanos;
    private long startBytes;
    private long lastDraw;
    private int nextTenth;
    private boolean drawn;

    ConsoleProgressBar(PrintStream err, boolean interactive) {
        this.err = err;
        this.interactive = interactive;
    }

    /** A bar for this process's stderr: redrawn when it is a terminal. */
    static ConsoleProgressBar forStderr(PrintStream err) {
        java.io.Console c = System.console();
        return new ConsoleProgressBar(err, err == System.err && c != null && c.isTerminal());
    }

    @Override
    public synchronized void started(String repoId, String file, long totalBytes, long resumedFrom) {
        startNanos = System.nanoTime();
        startBytes = resumedFrom;
        nextTenth = (int) (resumedFrom * 10 / Math.max(1, totalBytes)) + 1;
        drawn = false;
        if (interactive) {
            draw(file, resumedFrom, totalBytes);
        } else {
            err.printf("downloading %s from %s: %s%s%n", file, repoId, ProgressListener.formatBytes(totalBytes),
                    resumedFrom > 0 ? ", resuming at " + ProgressListener.formatBytes(resumedFrom) : "");
        }
    }

    @Override
    public synchronized void progressed(String repoId, String file, long bytesDone, long totalBytes) {
        if (interactive) {
            if (System.nanoTime() - lastDraw >= REDRAW_NANOS) {
                draw(file, bytesDone, totalBytes);
            }
        } else if (totalBytes >= (64L << 20) && nextTenth < 10 && bytesDone * 10 >= nextTenth * totalBytes) {
            nextTenth = (int) (bytesDone * 10 / totalBytes) + 1;
            err.printf("  %s: %d%% (%s)%n", file, bytesDone * 100 / totalBytes, speed(bytesDone));
        }
    }

    @Override
    public synchronized void finished(String repoId, String file, long totalBytes, long nanos) {
        if (interactive) {
            draw(file, totalBytes, totalBytes);
            err.println();
        } else {
            err.printf("  %s: done, %s in %.1f s (%s)%n", file, ProgressListener.formatBytes(totalBytes), nanos / 1e9, speed(totalBytes));
        }
        drawn = false;
    }

    @Override
    public synchronized void failed(String repoId, String file, Exception error) {
        if (interactive && drawn) {
            err.println();
        }
        drawn = false;
    }

    private String speed(long bytesDone) {
        double s = Math.max(1, System.nanoTime() - startNanos) / 1e9;
        return ProgressListener.formatBytes((long) ((bytesDone - startBytes) / s)) + "/s";
    }

    private void draw(String file, long done, long total) {
        lastDraw = System.nanoTime();
        int filled = (int) (WIDTH * done / Math.max(1, total));
        String name = file.length() > 32 ? "…" + file.substring(file.length() - 31) : file;
        err.print(String.format(Locale.ROOT, "\r%-32s [%s%s] %3d%% %s / %s  %s   ", name, "#".repeat(filled), ".".repeat(WIDTH - filled),
                done * 100 / Math.max(1, total), ProgressListener.formatBytes(done), ProgressListener.formatBytes(total), speed(done)));
        err.flush();
        drawn = true;
    }
}
