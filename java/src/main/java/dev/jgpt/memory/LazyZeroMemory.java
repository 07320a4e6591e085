package dev.jgpt.memory;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Zeroed memory whose pages cost nothing until written: a private anonymous {@code mmap} on Linux
 * (the kernel hands out zero pages on first touch), freed by {@code munmap} when the arena closes.
 * For buffers sized for the worst case but filled from the front, like a KV cache sized for the whole
 * context: {@link Arena#allocate} writes zeros over every byte, so the whole buffer enters the RSS at
 * once; here only the rows a conversation reaches do (llama2.c's {@code calloc} behaves the same way).
 *
 * <p>Elsewhere, or if {@code mmap} fails, falls back to {@code arena.allocate} (zeroed, 64-byte aligned).
 * The memory is page aligned.
 */
public final class LazyZeroMemory {
    private LazyZeroMemory() {}

    // Linux's values, the same on x86-64 and arm64
    private static final int PROT_READ = 1, PROT_WRITE = 2, MAP_PRIVATE = 2, MAP_ANONYMOUS = 0x20;

    private static final MethodHandle MMAP, MUNMAP;

    static {
        MethodHandle mmap = null, munmap = null;
        if (System.getProperty("os.name", "").equals("Linux")) {
            try {
                Linker linker = Linker.nativeLinker();
                var libc = linker.defaultLookup();
                mmap = linker.downcallHandle(libc.find("mmap").orElseThrow(), FunctionDescriptor.of(ValueLayout.ADDRESS,
                        ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                        ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG));
                munmap = linker.downcallHandle(libc.find("munmap").orElseThrow(),
                        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
            } catch (RuntimeException e) { // IllegalCallerException without native access, NoSuchElementException
                mmap = munmap = null; // no native access: the plain allocation below
            }
        }
        MMAP = mmap;
        MUNMAP = munmap;
    }

    /** Whether allocations really are lazy here (Linux with native access). */
    public static boolean lazy() {
        return MMAP != null;
    }

    /** {@code bytes} of zeroed memory owned by {@code arena}; pages are backed only once written. */
    public static MemorySegment allocate(long bytes, Arena arena) {
        if (bytes <= 0) throw new IllegalArgumentException("bytes: must be positive but was " + bytes);
        if (MMAP == null) return arena.allocate(bytes, 64);
        MemorySegment p;
        try {
            p = (MemorySegment) MMAP.invokeExact(MemorySegment.NULL, bytes, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0L);
        } catch (Throwable t) {
            throw new IllegalStateException("mmap of " + bytes + " bytes", t);
        }
        if (p.address() == -1L) return arena.allocate(bytes, 64); // MAP_FAILED: let the arena report it
        return p.reinterpret(bytes, arena, s -> unmap(s, bytes));
    }

    private static void unmap(MemorySegment s, long bytes) {
        try {
            int rc = (int) MUNMAP.invokeExact(s, bytes);
            assert rc == 0 : "munmap failed";
        } catch (Throwable t) {
            throw new IllegalStateException("munmap of " + bytes + " bytes", t);
        }
    }
}
