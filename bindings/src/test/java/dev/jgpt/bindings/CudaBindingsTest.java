package dev.jgpt.bindings;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodType;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Checks the CUDA bindings without a GPU. {@code invokeExact} only checks types when it runs, so a
 * descriptor that disagrees with its typed method (int vs long, float vs pointer) would first fail on a
 * GPU machine; here every handle's type is compared with its method. This JVM never loads libcuda, so
 * each handle is the "unavailable" stand-in of exactly the descriptor's type.
 */
class CudaBindingsTest {

    static List<Method> functions(Class<?> cls) {
        List<Method> out = new ArrayList<>();
        for (Method m : cls.getDeclaredMethods()) {
            if (!Modifier.isStatic(m.getModifiers()) || !Modifier.isPublic(m.getModifiers())) continue;
            try {
                cls.getDeclaredMethod(m.getName() + "$handle");
                out.add(m);
            } catch (NoSuchMethodException notAFunction) {
                // constants helpers such as statusName
            }
        }
        return out;
    }

    static void handlesMatchMethods(Class<?> cls, int expectedFunctions) throws Exception {
        List<Method> fns = functions(cls);
        assertThat(fns).hasSize(expectedFunctions);
        for (Method m : fns) {
            MethodHandle h = (MethodHandle) cls.getDeclaredMethod(m.getName() + "$handle").invoke(null);
            var desc = (java.lang.foreign.FunctionDescriptor) cls.getDeclaredMethod(m.getName() + "$descriptor").invoke(null);
            MethodType expected = MethodType.methodType(m.getReturnType(), m.getParameterTypes());
            assertThat(h.type()).as(m.getName()).isEqualTo(expected);
            assertThat(desc.toMethodType()).as(m.getName()).isEqualTo(expected);
        }
    }

    @Test
    void driverHandlesHaveTheTypesOfTheirMethods() throws Exception {
        handlesMatchMethods(CudaDriver.class, 50);
    }

    @Test
    void cublasHandlesHaveTheTypesOfTheirMethods() throws Exception {
        handlesMatchMethods(Cublas.class, 10);
    }

    @Test
    void cublasLtHandlesHaveTheTypesOfTheirMethods() throws Exception {
        handlesMatchMethods(CublasLt.class, 12);
        // cublasLtMatmul: handle, desc, alpha, A, Adesc, B, Bdesc, beta, C, Cdesc, D, Ddesc, algo, workspace, size_t, stream
        assertThat(CublasLt.cublasLtMatmul$descriptor().argumentLayouts()).hasSize(16);
        assertThat(CublasLt.cublasLtMatmul$descriptor().argumentLayouts().get(14)).isEqualTo(CublasLt.C_LONG);
        // cublasLtMatrixLayoutCreate(layout*, cudaDataType, uint64_t rows, uint64_t cols, int64_t ld)
        assertThat(CublasLt.cublasLtMatrixLayoutCreate$descriptor().argumentLayouts())
                .containsExactly(CublasLt.C_POINTER, CublasLt.C_INT, CublasLt.C_LONG, CublasLt.C_LONG, CublasLt.C_LONG);
        assertThat(CublasLt.cublasLtMatmulAlgoGetHeuristic$descriptor().argumentLayouts()).hasSize(10);
        assertThat(CublasLt.HEURISTIC_RESULT_BYTES).isEqualTo(96);
    }

    @Test
    void devicePointersAreLongsInTheDriverAndSegmentsInCublas() throws Exception {
        assertThat(CudaDriver.class.getMethod("cuMemcpyHtoD_v2", long.class, MemorySegment.class, long.class)).isNotNull();
        assertThat(CudaDriver.class.getMethod("cuMemFree_v2", long.class)).isNotNull();
        assertThat(CudaDriver.class.getMethod("cuMemsetD8_v2", long.class, byte.class, long.class)).isNotNull();
        assertThat(Cublas.cublasSgemmStridedBatched$descriptor().argumentLayouts()).hasSize(18);
        assertThat(Cublas.cublasGemmStridedBatchedEx$descriptor().argumentLayouts()).hasSize(23);
    }

    @Test
    void aMissingLibraryIsOneClearError() {
        if (CudaDriver.isInitialized()) return;
        assertThatThrownBy(() -> CudaDriver.cuInit(0))
                .isInstanceOf(UnsatisfiedLinkError.class)
                .hasMessageContaining("cuInit");
    }

    /** Every bound driver symbol is what cuda.h declares after its macros (skipped without a CUDA toolkit). */
    @Test
    void driverSymbolsAreTheVersionedNamesOfCudaH() throws Exception {
        String home = System.getenv().getOrDefault("CUDA_HOME", "/usr/local/cuda");
        Path header = Path.of(home, "include", "cuda.h");
        Assumptions.assumeTrue(Files.isReadable(header), "no cuda.h at " + header + " (no CUDA toolkit here)");
        String h = Files.readString(header);
        for (Method m : functions(CudaDriver.class)) {
            String name = m.getName();
            boolean declared = Pattern.compile("CUDAAPI\\s+" + Pattern.quote(name) + "\\s*\\(").matcher(h).find();
            boolean mappedTo = Pattern.compile("#define\\s+\\w+\\s+(__CUDA_API_PT\\w+\\()?" + Pattern.quote(name) + "\\b").matcher(h).find();
            assertThat(declared || mappedTo).as(name + " declared in cuda.h").isTrue();
            // binding the plain name of a function that cuda.h renames would call the old ABI
            boolean renamed = Pattern.compile("#define\\s+" + Pattern.quote(name) + "\\s+" + Pattern.quote(name) + "_v\\d").matcher(h).find();
            assertThat(renamed).as(name + " is renamed to a versioned symbol by cuda.h").isFalse();
        }
    }
}
