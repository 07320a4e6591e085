package dev.jgpt.backend.cpu;

import dev.jgpt.bindings.Cblas;
import dev.jgpt.bindings.Jgpt;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.net.JarURLConnection;
import java.net.URL;
import java.net.URLConnection;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;
import java.util.zip.CRC32;

/**
 * Finds, extracts and loads the native libraries of the {@code cpu} backend, once per process:
 * OpenBLAS ({@code libopenblas.so.0} and its Fortran runtime, carried by the
 * {@code org.bytedeco:openblas} jar) and libjgpt ({@code /native/linux-x86_64/libjgpt.so}, built by
 * CMake into our own jar).
 *
 * <p>Libraries inside jars are copied to {@code $XDG_CACHE_HOME/jgpt/native/<name>-<crc>/} (or
 * {@code ~/.cache/...}): the directory name is the CRC32 and size of the content, so a new build
 * gets a new directory and an existing file is reused as is. Each file is written to a temporary
 * name and renamed into place, so two processes extracting at once both end with a whole file.
 * Dependencies are loaded first, by path, into the global arena (libraries stay loaded for the
 * life of the process).
 *
 * <p>{@code JGPT_OPENBLAS=system} uses the system's {@code libopenblas.so.0} (found by the dynamic
 * linker), {@code JGPT_OPENBLAS=/path/to/libopenblas.so} a given file; {@code JGPT_LIBJGPT=/path}
 * overrides libjgpt likewise. When something cannot be loaded, {@link #status()} says which library
 * and why, and a warning is logged once; the backend selection then falls back to the next backend.
 */
@SuppressWarnings("restricted") // loading native libraries is this class's job
public final class NativeLibraries {
    private static final System.Logger LOG = System.getLogger(NativeLibraries.class.getName());

    static final String OPENBLAS_RESOURCE_DIR = "org/bytedeco/openblas/linux-x86_64/";
    /** Load order: every library after the ones it needs. */
    static final List<String> OPENBLAS_FILES =
            List.of("libgcc_s.so.1", "libquadmath.so.0", "libgfortran.so.5", "libopenblas.so.0");
    static final String LIBJGPT_RESOURCE = "native/linux-x86_64/libjgpt.so";

    /** What was loaded (paths, for {@code jgpt info}) or why not. */
    public record Status(boolean available, String reason, String openblasPath, String libjgptPath) {}

    private static Status status;

    private NativeLibraries() {}

    /** Loads both libraries on first call; later calls return the same answer. Never throws. */
    public static synchronized Status status() {
        if (status == null) {
            status = load(System.getenv());
            if (!status.available()) {
                LOG.log(System.Logger.Level.WARNING, "cpu backend unavailable: " + status.reason());
            }
        }
        return status;
    }

    /** Throws a clear {@link IllegalStateException} unless both libraries are loaded. */
    public static void require() {
        Status s = status();
        if (!s.available()) throw new IllegalStateException("cpu backend unavailable: " + s.reason());
    }

    /** Loads with the given environment ({@code JGPT_OPENBLAS}, {@code JGPT_LIBJGPT}); for tests and {@link #status()}. */
    static Status load(java.util.Map<String, String> env) {
        if (!isLinuxX64()) {
            return new Status(false, "native libraries are built for linux-x86_64 only, this is "
                    + System.getProperty("os.name") + "/" + System.getProperty("os.arch"), null, null);
        }
        applyThreadingDefaults(env);
        String openblas;
        try {
            openblas = loadOpenBlas(env.get("JGPT_OPENBLAS"));
        } catch (RuntimeException | LinkageError e) {
            return new Status(false, "OpenBLAS (libopenblas.so.0) could not be loaded: " + message(e), null, null);
        }
        String jgpt;
        try {
            jgpt = loadJgpt(env.get("JGPT_LIBJGPT"));
        } catch (RuntimeException | LinkageError e) {
            return new Status(false, "libjgpt.so could not be loaded: " + message(e), openblas, null);
        }
        return new Status(true, "loaded", openblas, jgpt);
    }

    private static String loadOpenBlas(String choice) {
        SymbolLookup lookup;
        String where;
        if (choice != null && choice.equals("system")) {
            lookup = SymbolLookup.libraryLookup("libopenblas.so.0", Arena.global());
            where = "system libopenblas.so.0";
        } else if (choice != null && !choice.isBlank() && !choice.equals("bundled")) {
            Path p = Path.of(choice);
            if (!Files.isRegularFile(p)) throw new IllegalArgumentException("JGPT_OPENBLAS=" + choice + " is not a file");
            lookup = SymbolLookup.libraryLookup(p, Arena.global());
            where = p.toAbsolutePath().toString();
        } else {
            Path dir = null;
            SymbolLookup last = null;
            for (String name : OPENBLAS_FILES) {
                URL url = resource(OPENBLAS_RESOURCE_DIR + name);
                if (url == null) {
                    throw new IllegalStateException("resource " + OPENBLAS_RESOURCE_DIR + name
                            + " not on the class path (the org.bytedeco:openblas linux-x86_64 jar is missing)");
                }
                if (dir == null) dir = cacheDirFor("openblas", resource(OPENBLAS_RESOURCE_DIR + "libopenblas.so.0"));
                Path file = extract(url, dir.resolve(name));
                if (name.equals("libgcc_s.so.1") && trySystem(name)) continue; // one libgcc_s per process
                last = SymbolLookup.libraryLookup(file, Arena.global());
            }
            lookup = last;
            where = dir.resolve("libopenblas.so.0").toString();
        }
        if (lookup.find("cblas_sgemm").isEmpty()) throw new IllegalStateException(where + " has no cblas_sgemm");
        Cblas.init(lookup);
        return where;
    }

    private static String loadJgpt(String override) {
        Path file;
        if (override != null && !override.isBlank()) {
            file = Path.of(override);
            if (!Files.isRegularFile(file)) throw new IllegalArgumentException("JGPT_LIBJGPT=" + override + " is not a file");
        } else {
            URL url = resource(LIBJGPT_RESOURCE);
            if (url == null) {
                throw new IllegalStateException("resource /" + LIBJGPT_RESOURCE + " is not on the class path"
                        + " (built by CMake during the Maven build; was it run with -DskipNative?)");
            }
            file = extract(url, cacheDirFor("jgpt", url).resolve("libjgpt.so"));
        }
        SymbolLookup lookup = SymbolLookup.libraryLookup(file, Arena.global());
        if (lookup.find("jgpt_abi_version").isEmpty()) throw new IllegalStateException(file + " has no jgpt_abi_version");
        Jgpt.init(lookup);
        int abi = Jgpt.jgpt_abi_version();
        if (abi != Jgpt.JGPT_ABI_VERSION) {
            throw new IllegalStateException(file + " has ABI version " + abi + " but this jgpt needs "
                    + Jgpt.JGPT_ABI_VERSION + " (a stale build: rebuild with ./mvnw package)");
        }
        // libjgpt calls OpenBLAS (attention's per-head products) through these addresses
        Jgpt.jgpt_set_blas(Cblas.cblas_sgemm$address(), Cblas.openblas_set_num_threads$address(),
                Cblas.openblas_get_num_threads$address());
        return file.toString();
    }

    /**
     * Thread pools that take turns: OpenBLAS's pthreads and libjgpt's OpenMP threads run one after
     * the other on the same cores. By default libgomp's idle workers spin for a while after each
     * parallel region, stealing the cores from the OpenBLAS call that follows (on a busy 2-core
     * machine a tiny step took seconds instead of milliseconds). So, unless the user chose
     * otherwise, workers wait passively ({@code OMP_WAIT_POLICY=PASSIVE}). OpenBLAS's idle workers
     * likewise spin (yielding) for 2^28 cycles after each call, through our OpenMP kernels; with
     * {@code OPENBLAS_THREAD_TIMEOUT=10} they sleep after 2^10 cycles (a small-preset training step
     * used 20% less CPU time, see docs/PERFORMANCE.md). Both runtimes read their environment when
     * they are loaded, hence {@code setenv} before loading, and never overwriting the user's.
     */
    static void applyThreadingDefaults(java.util.Map<String, String> env) {
        setenvIfUnset(env, "OMP_WAIT_POLICY", "PASSIVE");
        setenvIfUnset(env, "OPENBLAS_THREAD_TIMEOUT", "10");
    }

    private static void setenvIfUnset(java.util.Map<String, String> env, String name, String value) {
        if (env.get(name) != null) return;
        try (Arena arena = Arena.ofConfined()) {
            java.lang.foreign.Linker linker = java.lang.foreign.Linker.nativeLinker();
            var setenv = linker.downcallHandle(linker.defaultLookup().find("setenv").orElseThrow(),
                    java.lang.foreign.FunctionDescriptor.of(java.lang.foreign.ValueLayout.JAVA_INT,
                            java.lang.foreign.ValueLayout.ADDRESS, java.lang.foreign.ValueLayout.ADDRESS,
                            java.lang.foreign.ValueLayout.JAVA_INT));
            int rc = (int) setenv.invokeExact(arena.allocateFrom(name), arena.allocateFrom(value), 0);
            if (rc != 0) LOG.log(System.Logger.Level.DEBUG, "setenv " + name + " failed");
        } catch (Throwable e) {
            LOG.log(System.Logger.Level.DEBUG, "setenv " + name + " failed: " + e);
        }
    }

    private static boolean trySystem(String soname) {
        try {
            SymbolLookup.libraryLookup(soname, Arena.global());
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    private static URL resource(String name) {
        return NativeLibraries.class.getClassLoader().getResource(name);
    }

    // ---- extraction -----------------------------------------------------------------------------

    /** The cache root: {@code $XDG_CACHE_HOME/jgpt/native} or {@code ~/.cache/jgpt/native}. */
    static Path cacheRoot() {
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("jgpt").resolve("native");
    }

    /** {@code <root>/<name>-<crc32>-<size>} for the content behind {@code url}. */
    static Path cacheDirFor(String name, URL url) {
        long[] crcAndSize = crcAndSize(url);
        String key = String.format(Locale.ROOT, "%s-%08x-%d", name, crcAndSize[0], crcAndSize[1]);
        Path dir = cacheRoot().resolve(key);
        try {
            Files.createDirectories(dir);
            if (!Files.isWritable(dir)) throw new IOException(dir + " is not writable");
            return dir;
        } catch (IOException e) {
            Path tmp = Path.of(System.getProperty("java.io.tmpdir"), "jgpt-" + System.getProperty("user.name"), "native", key);
            try {
                Files.createDirectories(tmp);
            } catch (IOException e2) {
                throw new UncheckedIOException("cannot create a cache directory for native libraries (" + dir + ": "
                        + e.getMessage() + "; " + tmp + ": " + e2.getMessage() + ")", e2);
            }
            return tmp;
        }
    }

    /** A jar entry's stored CRC and size (no need to read 37 MB to know it), or the file's computed ones. */
    static long[] crcAndSize(URL url) {
        try {
            URLConnection c = url.openConnection();
            if (c instanceof JarURLConnection jar) {
                var entry = jar.getJarEntry();
                if (entry.getCrc() >= 0 && entry.getSize() >= 0) return new long[] {entry.getCrc(), entry.getSize()};
            }
            CRC32 crc = new CRC32();
            long size = 0;
            try (InputStream in = url.openStream()) {
                byte[] buf = new byte[1 << 16];
                for (int n; (n = in.read(buf)) > 0; ) {
                    crc.update(buf, 0, n);
                    size += n;
                }
            }
            return new long[] {crc.getValue(), size};
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + url + ": " + e.getMessage(), e);
        }
    }

    /** Copies {@code url} to {@code target} unless a file of the right size is already there; atomic. */
    static Path extract(URL url, Path target) {
        try {
            long expected = crcAndSize(url)[1];
            if (Files.isRegularFile(target) && Files.size(target) == expected) return target;
            Path tmp = target.resolveSibling(target.getFileName() + "." + ProcessHandle.current().pid() + "."
                    + Long.toHexString(ThreadLocalRandom.current().nextLong()) + ".tmp");
            try (InputStream in = url.openStream()) {
                Files.copy(in, tmp);
                if (Files.size(tmp) != expected) {
                    throw new IOException("short copy of " + url + ": " + Files.size(tmp) + " of " + expected + " bytes");
                }
                try {
                    Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                } catch (AtomicMoveNotSupportedException e) {
                    Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
                }
            } finally {
                Files.deleteIfExists(tmp);
            }
            return target;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot extract " + url + " to " + target + ": " + e.getMessage(), e);
        }
    }

    private static boolean isLinuxX64() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "");
        return os.contains("linux") && (arch.equals("amd64") || arch.equals("x86_64"));
    }

    private static String message(Throwable e) {
        List<String> parts = new ArrayList<>();
        for (Throwable t = e; t != null && parts.size() < 3; t = t.getCause()) {
            if (t.getMessage() != null && !parts.contains(t.getMessage())) parts.add(t.getMessage());
        }
        return parts.isEmpty() ? e.getClass().getSimpleName() : String.join(": ", parts);
    }
}
