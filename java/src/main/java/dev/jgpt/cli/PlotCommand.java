package dev.jgpt.cli;

import dev.jgpt.JgptException;
import dev.jgpt.io.AtomicFiles;
import dev.jgpt.train.Metrics;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import tools.jackson.databind.JsonNode;

import javax.imageio.ImageIO;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code jgpt plot RUN}: the loss curves of a run's {@code metrics.jsonl} (and of its {@code sft/}
 * phase) as a PNG, drawn with Java2D (headless): training loss and validation loss against step on
 * the left, validation bits per byte on the right.
 */
@Command(name = "plot", mixinStandardHelpOptions = true, description = "Render a run's loss curves to a PNG.")
public final class PlotCommand implements Runnable {
    @Parameters(index = "0", paramLabel = "RUN", description = "Training run directory (with metrics.jsonl).")
    Path run;

    @Option(names = {"-o", "--output"}, paramLabel = "FILE.png", description = "Output file (default RUN/loss.png).")
    Path out;

    record Series(String name, Color color, List<double[]> points) {}

    @Override
    public void run() {
        System.setProperty("java.awt.headless", "true");
        List<Path> files = new ArrayList<>();
        for (Path p : List.of(run.resolve("metrics.jsonl"), run.resolve("sft/metrics.jsonl"),
                run.resolve("pretrain/metrics.jsonl"), run.resolve("chat/metrics.jsonl"))) {
            if (Files.isRegularFile(p)) files.add(p);
        }
        if (files.isEmpty()) throw new JgptException(run + ": no metrics.jsonl (not a training run?)");
        List<Series> loss = new ArrayList<>(), bpb = new ArrayList<>();
        Color[] train = {new Color(0x1f77b4), new Color(0x9467bd)}, val = {new Color(0xd62728), new Color(0xff7f0e)};
        int k = 0;
        for (Path f : files) {
            String phase = files.size() > 1 ? f.getParent().getFileName() + " " : "";
            List<double[]> tl = new ArrayList<>(), vl = new ArrayList<>(), vb = new ArrayList<>();
            for (JsonNode n : Metrics.read(f)) {
                double step = n.path("step").asDouble();
                if (n.path("kind").asString("").equals("train")) tl.add(new double[] {step, n.path("loss").asDouble()});
                if (n.has("val_loss")) vl.add(new double[] {step, n.path("val_loss").asDouble()});
                if (n.has("val_bpb")) vb.add(new double[] {step, n.path("val_bpb").asDouble()});
            }
            loss.add(new Series(phase + "train loss", train[k % 2], tl));
            loss.add(new Series(phase + "val loss", val[k % 2], vl));
            bpb.add(new Series(phase + "val bits/byte", val[k % 2], vb));
            k++;
        }
        BufferedImage img = new BufferedImage(1200, 500, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, 1200, 500);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        chart(g, 0, "loss (nats/token) vs step", loss);
        chart(g, 600, "validation bits per byte vs step", bpb);
        g.dispose();
        Path target = out != null ? out : run.resolve("loss.png");
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        try {
            ImageIO.write(img, "png", buf);
        } catch (IOException e) {
            throw new JgptException("cannot encode PNG: " + e.getMessage(), e);
        }
        AtomicFiles.write(target, buf.toByteArray());
        System.err.println("wrote " + target);
    }

    private static void chart(Graphics2D g, int x0, String title, List<Series> series) {
        int left = x0 + 70, right = x0 + 580, top = 40, bottom = 440;
        double minX = Double.MAX_VALUE, maxX = -Double.MAX_VALUE, minY = Double.MAX_VALUE, maxY = -Double.MAX_VALUE;
        for (Series s : series) {
            for (double[] p : s.points()) {
                if (!Double.isFinite(p[1])) continue;
                minX = Math.min(minX, p[0]);
                maxX = Math.max(maxX, p[0]);
                minY = Math.min(minY, p[1]);
                maxY = Math.max(maxY, p[1]);
            }
        }
        g.setColor(Color.BLACK);
        g.drawString(title, left, 25);
        g.drawRect(left, top, right - left, bottom - top);
        if (minX > maxX) {
            g.drawString("no data", left + 200, 240);
            return;
        }
        if (maxX == minX) maxX = minX + 1;
        if (maxY == minY) maxY = minY + 1;
        double padY = (maxY - minY) * 0.05;
        minY -= padY;
        maxY += padY;
        for (int i = 0; i <= 5; i++) {
            int y = bottom - (bottom - top) * i / 5;
            int x = left + (right - left) * i / 5;
            g.setColor(new Color(0xeeeeee));
            g.drawLine(left + 1, y, right - 1, y);
            g.setColor(Color.DARK_GRAY);
            g.drawString(String.format("%.3g", minY + (maxY - minY) * i / 5), x0 + 8, y + 4);
            g.drawString(String.format("%.0f", minX + (maxX - minX) * i / 5), x - 10, bottom + 16);
        }
        g.drawString("step", (left + right) / 2, bottom + 34);
        int legend = 0;
        for (Series s : series) {
            if (s.points().isEmpty()) continue;
            g.setColor(s.color());
            g.setStroke(new BasicStroke(s.points().size() < 30 ? 2f : 1.2f));
            int px = -1, py = -1;
            for (double[] p : s.points()) {
                if (!Double.isFinite(p[1])) continue;
                int x = left + (int) Math.round((p[0] - minX) / (maxX - minX) * (right - left));
                int y = bottom - (int) Math.round((p[1] - minY) / (maxY - minY) * (bottom - top));
                if (px >= 0) g.drawLine(px, py, x, y);
                if (s.points().size() < 30) g.fillOval(x - 3, y - 3, 6, 6);
                px = x;
                py = y;
            }
            g.drawString(s.name(), right - 150, top + 18 + 16 * legend++);
        }
    }
}
