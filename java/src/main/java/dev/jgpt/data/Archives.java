package dev.jgpt.data;

import dev.jgpt.JgptException;
import org.apache.commons.compress.archivers.ArchiveEntry;
import org.apache.commons.compress.archivers.ar.ArArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.compressors.bzip2.BZip2CompressorInputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorInputStream;
import org.apache.commons.compress.compressors.xz.XZCompressorInputStream;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Predicate;

/**
 * Reads the archives presets come in, in memory (they are a few MB): npm's {@code .tgz} (tar +
 * gzip) and Debian's {@code .deb} (an ar archive whose {@code data.tar.*} holds the files).
 */
public final class Archives {
    private Archives() {}

    /** The regular files of a tar.gz whose names {@code wanted} accepts, by name, in archive order. */
    public static Map<String, byte[]> readTarGz(Path tgz, Predicate<String> wanted) {
        try (InputStream in = new GzipCompressorInputStream(new BufferedInputStream(Files.newInputStream(tgz)))) {
            return readTar(in, wanted);
        } catch (IOException e) {
            throw new JgptException(tgz + ": not a readable .tgz archive (" + e.getMessage() + ")");
        }
    }

    /** The regular files of a Debian package's data archive whose names (without a leading "./") {@code wanted} accepts. */
    public static Map<String, byte[]> readDeb(Path deb, Predicate<String> wanted) {
        try (ArArchiveInputStream ar = new ArArchiveInputStream(new BufferedInputStream(Files.newInputStream(deb)))) {
            for (ArchiveEntry e; (e = ar.getNextEntry()) != null; ) {
                String n = e.getName();
                if (!n.startsWith("data.tar")) continue;
                InputStream body = switch (n) {
                    case "data.tar" -> ar;
                    case "data.tar.xz" -> new XZCompressorInputStream(ar);
                    case "data.tar.gz" -> new GzipCompressorInputStream(ar);
                    case "data.tar.bz2" -> new BZip2CompressorInputStream(ar);
                    default -> throw new JgptException(deb + ": unsupported package compression " + n
                            + "; unpack it with 'dpkg-deb -x' and pass the files to 'jgpt data prepare'");
                };
                return readTar(body, wanted);
            }
            throw new JgptException(deb + ": no data.tar member: not a Debian package");
        } catch (IOException e) {
            throw new JgptException(deb + ": not a readable Debian package (" + e.getMessage() + ")");
        }
    }

    private static Map<String, byte[]> readTar(InputStream in, Predicate<String> wanted) throws IOException {
        Map<String, byte[]> out = new LinkedHashMap<>();
        TarArchiveInputStream tar = new TarArchiveInputStream(in);
        for (var e = tar.getNextEntry(); e != null; e = tar.getNextEntry()) {
            if (!e.isFile()) continue;
            String name = e.getName().startsWith("./") ? e.getName().substring(2) : e.getName();
            if (wanted.test(name)) out.put(name, tar.readAllBytes());
        }
        return out;
    }
}
