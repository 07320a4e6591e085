package dev.jgpt.data;

import dev.jgpt.JgptException;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.UnknownHostException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;

/**
 * HTTP(S) downloads that resume and verify: bytes go to {@code target.part}; a later run sends
 * {@code Range: bytes=N-} for what is already there (and starts over when the server ignores it);
 * the finished file's SHA-256 is checked before it is renamed to its final name, so a file under
 * the final name is always complete.
 */
public final class Downloader {
    private final HttpClient client;
    private final Progress progress;

    public Downloader(Progress progress) {
        this(HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NORMAL)
                .connectTimeout(Duration.ofSeconds(20)).build(), progress);
    }

    public Downloader(HttpClient client, Progress progress) {
        this.client = client;
        this.progress = progress;
    }

    /**
     * Downloads {@code uri} to {@code target}; returns the file's SHA-256. With {@code expectedSha256}
     * non-null a mismatch removes the partial file and throws.
     */
    public String download(URI uri, Path target, String expectedSha256) {
        Path part = target.resolveSibling(target.getFileName() + ".part");
        try {
            Files.createDirectories(target.toAbsolutePath().getParent());
            for (int attempt = 0; ; attempt++) {
                long have = Files.exists(part) ? Files.size(part) : 0;
                HttpRequest.Builder req = HttpRequest.newBuilder(uri).timeout(Duration.ofMinutes(5)).GET();
                if (have > 0) req.header("Range", "bytes=" + have + "-");
                HttpResponse<InputStream> resp = client.send(req.build(), HttpResponse.BodyHandlers.ofInputStream());
                int status = resp.statusCode();
                try (InputStream body = resp.body()) {
                    if (status == 416 && have > 0) {
                        // asked for bytes past the end: the partial file is probably complete already
                        body.transferTo(OutputStream.nullOutputStream());
                        break;
                    }
                    if (status != 200 && status != 206) {
                        throw new JgptException(uri + ": HTTP status " + status);
                    }
                    boolean resumed = status == 206 && resp.headers().firstValue("Content-Range")
                            .map(v -> v.startsWith("bytes " + have + "-")).orElse(false);
                    if (!resumed) Files.deleteIfExists(part);
                    long start = resumed ? have : 0;
                    long length = resp.headers().firstValueAsLong("Content-Length").orElse(-1);
                    long total = length < 0 ? -1 : start + length;
                    copy(body, part, start, total, uri);
                    if (total >= 0 && Files.size(part) < total) {
                        throw new JgptException(uri + ": connection closed after " + Files.size(part) + " of " + total
                                + " bytes; run the command again to resume");
                    }
                }
                break;
            }
        } catch (UnknownHostException | ConnectException | HttpTimeoutException e) {
            throw new JgptException(uri + ": cannot connect (" + e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage())
                    + "). This machine may have no internet access: download the file elsewhere and pass it to 'jgpt data prepare'");
        } catch (IOException e) {
            throw new JgptException(uri + ": download failed (" + e.getMessage() + "); run the command again to resume");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new JgptException(uri + ": interrupted; run the command again to resume");
        }
        String sha = AtomicFiles.sha256(part);
        if (expectedSha256 != null && !expectedSha256.equalsIgnoreCase(sha)) {
            try {
                Files.deleteIfExists(part);
            } catch (IOException ignored) { /* reported below either way */ }
            throw new JgptException(uri + ": SHA-256 mismatch: expected " + expectedSha256 + ", got " + sha
                    + "; the download was removed, run again (or check the expected checksum)");
        }
        try {
            AtomicFiles.commit(part, target);
        } catch (IOException e) {
            throw new JgptException("cannot move " + part + " to " + target + ": " + e.getMessage());
        }
        progress.done("fetch: " + target.getFileName() + " " + Progress.mb(sizeOf(target)) + ", sha256 " + sha);
        return sha;
    }

    private void copy(InputStream body, Path part, long start, long total, URI uri) throws IOException {
        long done = start;
        long t0 = System.nanoTime();
        byte[] buf = new byte[1 << 16];
        try (OutputStream out = Files.newOutputStream(part, StandardOpenOption.CREATE, StandardOpenOption.APPEND)) {
            for (int n; (n = body.read(buf)) > 0; ) {
                out.write(buf, 0, n);
                done += n;
                double secs = Math.max((System.nanoTime() - t0) / 1e9, 1e-3);
                progress.update(String.format("fetch: %s %s%s, %.1f MB/s", uri.getPath(), Progress.mb(done),
                        total > 0 ? String.format(" of %s (%d%%)", Progress.mb(total), done * 100 / total) : "",
                        (done - start) / 1e6 / secs));
            }
        }
    }

    private static long sizeOf(Path p) {
        try {
            return Files.size(p);
        } catch (IOException e) {
            return -1;
        }
    }
}
