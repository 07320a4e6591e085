package dev.jgpt.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import dev.jgpt.backend.reference.ReferenceBackend;
import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import dev.jgpt.memory.TensorArena;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/**
 * A cuda backend (a subclass opens it: the stand-in driver or a GPU) beside the reference backend, with a host
 * and a device arena and the copies between them, fresh for every test: what the contract tests of one cuda
 * mode against the reference share.
 */
abstract class CudaReferenceFixture {
    protected CudaBackend cuda;
    protected ReferenceBackend ref;
    protected TensorArena host, dev;

    abstract CudaBackend open();

    /** Switches the mode the subclass tests (bf16 math, fused attention, ...) on the freshly opened backend. */
    void configure(CudaBackend cuda) {}

    @BeforeEach
    void openBackends() {
        cuda = open();
        configure(cuda);
        ref = new ReferenceBackend();
        host = TensorArena.host();
        dev = cuda.newArena();
    }

    @AfterEach
    void closeBackends() {
        if (dev != null) dev.close();
        if (host != null) host.close();
        if (cuda != null) cuda.close();
    }

    /** max |expected - actual| / max |expected| (at least 1e-6), every actual value finite. */
    protected static double relative(Tensor expected, Tensor actual) {
        double maxDiff = 0, maxRef = 0;
        for (long i = 0; i < expected.numel(); i++) {
            assertThat(Float.isFinite(actual.getFloat(i))).as("finite at " + i).isTrue();
            maxDiff = Math.max(maxDiff, Math.abs((double) expected.getFloat(i) - actual.getFloat(i)));
            maxRef = Math.max(maxRef, Math.abs(expected.getFloat(i)));
        }
        return maxDiff / Math.max(maxRef, 1e-6);
    }

    /** A host F32 tensor of the shape, standard normal values drawn from r in index order. */
    protected Tensor randn(Random r, long... shape) {
        Tensor t = host.allocate(DType.F32, shape);
        for (long i = 0; i < t.numel(); i++) t.setFloat(i, (float) r.nextGaussian());
        return t;
    }

    /** A device copy of host tensor h. */
    protected Tensor up(Tensor h) {
        Tensor d = dev.allocate(h.dtype(), h.shape());
        cuda.copy(d, h);
        return d;
    }

    /** A host copy of device tensor d. */
    protected Tensor down(Tensor d) {
        Tensor h = host.allocate(d.dtype(), d.shape());
        cuda.copy(h, d);
        return h;
    }
}
