package dev.jgpt.backend.cuda;

import dev.jgpt.bindings.Cublas;
import dev.jgpt.bindings.CublasLt;
import dev.jgpt.bindings.CudaDriver;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Finds {@code libcuda.so.1} (the driver) and {@code libcublas.so.13}/{@code .12} at run time, once per
 * process, and hands them to the bindings. Nothing of CUDA is needed to build or start jgpt: a missing
 * library becomes a reason string ("no libcuda.so.1: no NVIDIA driver ...") that {@code --device auto}
 * and {@code jgpt info} show.
 *
 * <p>The driver is {@code $JGPT_LIBCUDA} (a file) when set, else {@code libcuda.so.1} from the dynamic
 * linker's path, else the usual distribution folders. cuBLAS is searched in: {@code $CUBLAS_LIB} (a file), the dynamic linker's path
 * ({@code LD_LIBRARY_PATH}, ld.so.cache), {@code $CUDA_HOME/lib64}, {@code /usr/local/cuda/lib64},
 * each directory of {@code $CUBLAS_DIRS}, then the {@code nvidia/*}{@code /lib} folders of a pip
 * {@code nvidia-cublas} install (virtualenv, user and system site-packages, conda).
 */
public final class CudaLibraries {
    private CudaLibraries() {}

    /** A library that was found, or why not. */
    public record Loaded(Optional<String> path, String reason) {
        public boolean ok() {
            return path.isPresent();
        }
    }

    private static Loaded driver;
    private static Loaded cublas;
    private static Loaded cublasLt;

    /** Loads libcuda once and initialises {@link CudaDriver}; later calls return the first answer. */
    public static synchronized Loaded driver() {
        if (driver == null) {
            List<String> candidates = new ArrayList<>();
            String explicit = System.getenv("JGPT_LIBCUDA"); // a driver outside the linker's path, or a stand-in
            if (explicit != null && !explicit.isBlank()) candidates.add(explicit);
            candidates.addAll(List.of("libcuda.so.1", "libcuda.so"));
            for (String dir : List.of("/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib/wsl/lib", "/usr/lib")) {
                candidates.add(dir + "/libcuda.so.1");
            }
            driver = load(candidates, "libcuda.so.1", "no NVIDIA driver (install the NVIDIA driver, R580 or newer)");
            if (driver.ok()) CudaDriver.init(lookup(driver.path().get()));
            else CudaDriver.markUnavailable(driver.reason());
        }
        return driver;
    }

    /** Loads libcublas once and initialises {@link Cublas}. */
    public static synchronized Loaded cublas() {
        if (cublas == null) {
            List<String> candidates = new ArrayList<>();
            String explicit = System.getenv("CUBLAS_LIB");
            if (explicit != null && !explicit.isBlank()) candidates.add(explicit);
            candidates.add("libcublas.so.13");
            candidates.add("libcublas.so.12");
            for (Path dir : cublasDirectories()) {
                candidates.add(dir.resolve("libcublas.so.13").toString());
                candidates.add(dir.resolve("libcublas.so.12").toString());
            }
            cublas = load(candidates, "libcublas.so.13 or .12",
                    "no cuBLAS (set CUDA_HOME or LD_LIBRARY_PATH, or CUBLAS_LIB to the file, or pip install nvidia-cublas)");
            if (cublas.ok()) Cublas.init(lookup(cublas.path().get()));
            else Cublas.markUnavailable(cublas.reason());
        }
        return cublas;
    }

    /**
     * Loads libcublasLt once and initialises {@link CublasLt} (optional: without it the backend keeps cuBLAS plus
     * separate bias/GELU kernels). {@code $CUBLASLT_LIB} (a file) when set, and then only it; else the file
     * {@code $CUBLAS_LIB} names when it exports the Lt calls too (the test stand-in), libcublasLt beside it, then the
     * places {@link #cublas()} searches.
     */
    public static synchronized Loaded cublasLt() {
        if (cublasLt == null) {
            List<String> candidates = new ArrayList<>();
            String explicit = System.getenv("CUBLASLT_LIB");
            if (explicit != null && !explicit.isBlank()) {
                candidates.add(explicit);
            } else {
                String cublasFile = System.getenv("CUBLAS_LIB");
                if (cublasFile != null && !cublasFile.isBlank()) {
                    if (exportsLt(cublasFile)) candidates.add(cublasFile);
                    Path dir = Path.of(cublasFile).toAbsolutePath().getParent();
                    if (dir != null) {
                        candidates.add(dir.resolve("libcublasLt.so.13").toString());
                        candidates.add(dir.resolve("libcublasLt.so.12").toString());
                    }
                }
                candidates.add("libcublasLt.so.13");
                candidates.add("libcublasLt.so.12");
                for (Path dir : cublasDirectories()) {
                    candidates.add(dir.resolve("libcublasLt.so.13").toString());
                    candidates.add(dir.resolve("libcublasLt.so.12").toString());
                }
            }
            cublasLt = load(candidates, "libcublasLt.so.13 or .12", "cuBLASLt comes with cuBLAS (CUBLASLT_LIB names the file)");
            if (cublasLt.ok() && !exportsLt(cublasLt.path().get())) {
                cublasLt = new Loaded(Optional.empty(), "no cuBLASLt: " + cublasLt.path().get() + " does not export cublasLtMatmul");
            }
            if (cublasLt.ok()) CublasLt.init(lookup(cublasLt.path().get()));
            else CublasLt.markUnavailable(cublasLt.reason());
        }
        return cublasLt;
    }

    private static boolean exportsLt(String file) {
        if (file.contains("/") && !Files.exists(Path.of(file))) return false;
        try {
            return lookup(file).find("cublasLtMatmul").isPresent();
        } catch (IllegalArgumentException notLoadable) {
            return false;
        }
    }

    static List<Path> cublasDirectories() {
        Set<Path> dirs = new LinkedHashSet<>();
        String cudaHome = System.getenv("CUDA_HOME");
        if (cudaHome != null) {
            dirs.add(Path.of(cudaHome, "lib64"));
            dirs.add(Path.of(cudaHome, "targets", "x86_64-linux", "lib"));
        }
        dirs.add(Path.of("/usr/local/cuda/lib64"));
        dirs.add(Path.of("/usr/local/cuda/targets/x86_64-linux/lib"));
        dirs.add(Path.of("/usr/lib/x86_64-linux-gnu"));
        String extra = System.getenv("CUBLAS_DIRS");
        if (extra != null) for (String d : extra.split(":")) if (!d.isBlank()) dirs.add(Path.of(d));
        // pip wheels: <site-packages>/nvidia/{cublas,cu13,cu12}/lib
        List<Path> roots = new ArrayList<>();
        String venv = System.getenv("VIRTUAL_ENV");
        if (venv != null) roots.add(Path.of(venv, "lib"));
        String conda = System.getenv("CONDA_PREFIX");
        if (conda != null) roots.add(Path.of(conda, "lib"));
        roots.add(Path.of(System.getProperty("user.home"), ".local", "lib"));
        roots.add(Path.of("/usr/local/lib"));
        roots.add(Path.of("/usr/lib"));
        roots.add(Path.of("/opt/conda/lib"));
        for (Path root : roots) {
            for (Path py : list(root)) {
                if (!py.getFileName().toString().startsWith("python3")) continue;
                for (String sp : List.of("site-packages", "dist-packages")) {
                    for (Path pkg : list(py.resolve(sp).resolve("nvidia"))) dirs.add(pkg.resolve("lib"));
                }
            }
        }
        return List.copyOf(dirs);
    }

    private static List<Path> list(Path dir) {
        if (!Files.isDirectory(dir)) return List.of();
        try (Stream<Path> s = Files.list(dir)) {
            return s.sorted().toList();
        } catch (IOException e) {
            return List.of();
        }
    }

    private static Loaded load(List<String> candidates, String what, String hint) {
        List<String> tried = new ArrayList<>();
        for (String c : candidates) {
            if (c.contains("/") && !Files.exists(Path.of(c))) continue;
            try {
                lookup(c); // dlopen; Arena.global() keeps it loaded for the life of the process
                return new Loaded(Optional.of(c), "");
            } catch (IllegalArgumentException notLoadable) {
                tried.add(c);
            }
        }
        return new Loaded(Optional.empty(), "no " + what + ": " + hint + "; tried " + String.join(", ", tried));
    }

    private static SymbolLookup lookup(String nameOrPath) {
        return nameOrPath.contains("/") ? SymbolLookup.libraryLookup(Path.of(nameOrPath), Arena.global())
                : SymbolLookup.libraryLookup(nameOrPath, Arena.global());
    }
}
