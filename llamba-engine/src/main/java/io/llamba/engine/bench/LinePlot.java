package io.llamba.engine.bench;

import javax.imageio.ImageIO;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.Stroke;
import java.awt.geom.Path2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A small line chart written as PNG with Java2D (headless): x on a log2 axis (batch sizes), y linear
 * from zero, one line per series with its own colour and dash, and a legend. Enough for benchmark
 * figures without a plotting dependency.
 */
public final class LinePlot {
    /** A line: its label, colour index (one per model) and dash index (one per context). */
    public record Series(String label, int colour, int dash, double[] x, double[] y) {
    }

    private static final Color[] COLOURS = {new Color(0x1f77b4), new Color(0xd62728), new Color(0x2ca02c), new Color(0x9467bd),
            new Color(0xff7f0e), new Color(0x8c564b)};
    private static final float[][] DASHES = {null, {10f, 6f}, {3f, 4f}, {12f, 4f, 3f, 4f}};

    private final String title;
    private final String xLabel;
    private final String yLabel;
    private final List<Series> series = new ArrayList<>();

    public LinePlot(String title, String xLabel, String yLabel) {
        this.title = title;
        this.xLabel = xLabel;
        this.yLabel = yLabel;
    }

    public LinePlot add(Series s) {
        if (s.x.length != s.y.length || s.x.length == 0) {
            throw new IllegalArgumentException("series " + s.label + ": x and y must be non-empty and of equal length");
        }
        for (double v : s.x) {
            if (!(v > 0)) {
                throw new IllegalArgumentException("series " + s.label + ": x values must be positive (log axis)");
            }
        }
        series.add(s);
        return this;
    }

    public void write(Path file) throws IOException {
        int w = 1000;
        int h = 620;
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, w, h);
        int left = 80;
        int right = 290;
        int top = 50;
        int bottom = 70;
        int pw = w - left - right;
        int ph = h - top - bottom;

        double xMin = Double.MAX_VALUE;
        double xMax = 0;
        double yMax = 0;
        for (Series s : series) {
            for (int i = 0; i < s.x.length; i++) {
                xMin = Math.min(xMin, s.x[i]);
                xMax = Math.max(xMax, s.x[i]);
                yMax = Math.max(yMax, s.y[i]);
            }
        }
        if (series.isEmpty()) {
            xMin = 1;
            xMax = 2;
        }
        double lx0 = Math.log(xMin) / Math.log(2);
        double lx1 = Math.max(lx0 + 1, Math.log(xMax) / Math.log(2));
        double yStep = niceStep(yMax <= 0 ? 1 : yMax / 5);
        double yTop = Math.max(yStep, Math.ceil(yMax / yStep) * yStep);

        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 17));
        drawCentered(g, title, left + pw / 2, 30);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));
        FontMetrics fm = g.getFontMetrics();
        // grid and ticks
        g.setStroke(new BasicStroke(1f));
        for (double y = 0; y <= yTop + 1e-9; y += yStep) {
            int py = top + ph - (int) Math.round(y / yTop * ph);
            g.setColor(new Color(0xe6e6e6));
            g.drawLine(left, py, left + pw, py);
            g.setColor(Color.DARK_GRAY);
            String label = format(y);
            g.drawString(label, left - 8 - fm.stringWidth(label), py + fm.getAscent() / 2 - 1);
        }
        for (double lx = Math.ceil(lx0); lx <= lx1 + 1e-9; lx++) {
            int px = left + (int) Math.round((lx - lx0) / (lx1 - lx0) * pw);
            g.setColor(new Color(0xe6e6e6));
            g.drawLine(px, top, px, top + ph);
            g.setColor(Color.DARK_GRAY);
            drawCentered(g, format(Math.pow(2, lx)), px, top + ph + 18);
        }
        g.setColor(Color.BLACK);
        g.drawRect(left, top, pw, ph);
        drawCentered(g, xLabel, left + pw / 2, h - 25);
        Graphics2D rotated = (Graphics2D) g.create();
        rotated.rotate(-Math.PI / 2);
        drawCentered(rotated, yLabel, -(top + ph / 2), 22);
        rotated.dispose();

        // lines and legend
        int ly = top + 10;
        for (Series s : series) {
            Color colour = COLOURS[s.colour % COLOURS.length];
            float[] dash = DASHES[s.dash % DASHES.length];
            Stroke stroke = dash == null ? new BasicStroke(2.4f) : new BasicStroke(2.4f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_ROUND, 10f, dash, 0f);
            g.setColor(colour);
            g.setStroke(stroke);
            Path2D.Double path = new Path2D.Double();
            for (int i = 0; i < s.x.length; i++) {
                double px = left + (Math.log(s.x[i]) / Math.log(2) - lx0) / (lx1 - lx0) * pw;
                double py = top + ph - s.y[i] / yTop * ph;
                if (i == 0) {
                    path.moveTo(px, py);
                } else {
                    path.lineTo(px, py);
                }
            }
            g.draw(path);
            g.setStroke(new BasicStroke(1f));
            for (int i = 0; i < s.x.length; i++) {
                int px = (int) Math.round(left + (Math.log(s.x[i]) / Math.log(2) - lx0) / (lx1 - lx0) * pw);
                int py = (int) Math.round(top + ph - s.y[i] / yTop * ph);
                g.fillOval(px - 3, py - 3, 7, 7);
            }
            g.setStroke(stroke);
            g.drawLine(left + pw + 16, ly, left + pw + 52, ly);
            g.setColor(Color.BLACK);
            g.drawString(s.label, left + pw + 60, ly + fm.getAscent() / 2 - 1);
            ly += 22;
        }
        g.dispose();
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        if (!ImageIO.write(img, "png", file.toFile())) {
            throw new IOException("no PNG writer available");
        }
    }

    private static void drawCentered(Graphics2D g, String s, int x, int y) {
        g.drawString(s, x - g.getFontMetrics().stringWidth(s) / 2, y);
    }

    static double niceStep(double raw) {
        double mag = Math.pow(10, Math.floor(Math.log10(raw)));
        double f = raw / mag;
        return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * mag;
    }

    private static String format(double v) {
        if (v == Math.rint(v)) {
            return String.format(Locale.ROOT, "%d", (long) v);
        }
        return String.format(Locale.ROOT, "%.2g", v);
    }
}
