#!/usr/bin/env python3
"""Writes CudaDriver.java and Cublas.java in the shape jextract emits (jextract itself is not
obtainable on the build machines; bindings/README.md has the jextract command that would replace
this script). Each entry: C prototype text (for the javadoc), symbol names to try in order (the
first is the Java name), return type and parameter list as (java name, C layout) pairs.

Layouts: I = int (C int, unsigned, enums, CUresult, CUdevice), L = 64-bit integer (size_t,
CUdeviceptr, long long), F = float, B = unsigned char, P = pointer (handles, host pointers,
cuBLAS device pointers). CUdeviceptr is an integer in cuda.h, so driver calls take device
addresses as long; cuBLAS takes float* and so MemorySegments made from the device address.

Run: python3 bindings/gen/gen_cuda.py   (from the repository root)
"""
import os

LAYOUT = {"I": ("C_INT", "int"), "L": ("C_LONG", "long"), "F": ("C_FLOAT", "float"),
          "B": ("C_CHAR", "byte"), "P": ("C_POINTER", "MemorySegment")}

DRIVER = [
    ("CUresult cuInit(unsigned int Flags)", ["cuInit"], "I", [("Flags", "I")]),
    ("CUresult cuDriverGetVersion(int *driverVersion)", ["cuDriverGetVersion"], "I", [("driverVersion", "P")]),
    ("CUresult cuDeviceGetCount(int *count)", ["cuDeviceGetCount"], "I", [("count", "P")]),
    ("CUresult cuDeviceGet(CUdevice *device, int ordinal)", ["cuDeviceGet"], "I", [("device", "P"), ("ordinal", "I")]),
    ("CUresult cuDeviceGetName(char *name, int len, CUdevice dev)", ["cuDeviceGetName"], "I", [("name", "P"), ("len", "I"), ("dev", "I")]),
    ("CUresult cuDeviceGetAttribute(int *pi, CUdevice_attribute attrib, CUdevice dev)", ["cuDeviceGetAttribute"], "I", [("pi", "P"), ("attrib", "I"), ("dev", "I")]),
    ("CUresult cuDeviceTotalMem_v2(size_t *bytes, CUdevice dev)", ["cuDeviceTotalMem_v2"], "I", [("bytes", "P"), ("dev", "I")]),
    ("CUresult cuDevicePrimaryCtxRetain(CUcontext *pctx, CUdevice dev)", ["cuDevicePrimaryCtxRetain"], "I", [("pctx", "P"), ("dev", "I")]),
    ("CUresult cuDevicePrimaryCtxRelease_v2(CUdevice dev)", ["cuDevicePrimaryCtxRelease_v2"], "I", [("dev", "I")]),
    ("CUresult cuCtxSetCurrent(CUcontext ctx)", ["cuCtxSetCurrent"], "I", [("ctx", "P")]),
    ("CUresult cuCtxGetCurrent(CUcontext *pctx)", ["cuCtxGetCurrent"], "I", [("pctx", "P")]),
    ("CUresult cuCtxSynchronize(void)", ["cuCtxSynchronize"], "I", []),
    ("CUresult cuModuleLoadData(CUmodule *module, const void *image)", ["cuModuleLoadData"], "I", [("module", "P"), ("image", "P")]),
    ("CUresult cuModuleGetFunction(CUfunction *hfunc, CUmodule hmod, const char *name)", ["cuModuleGetFunction"], "I", [("hfunc", "P"), ("hmod", "P"), ("name", "P")]),
    ("CUresult cuModuleUnload(CUmodule hmod)", ["cuModuleUnload"], "I", [("hmod", "P")]),
    ("CUresult cuFuncSetAttribute(CUfunction hfunc, CUfunction_attribute attrib, int value)", ["cuFuncSetAttribute"], "I", [("hfunc", "P"), ("attrib", "I"), ("value", "I")]),
    ("CUresult cuFuncGetAttribute(int *pi, CUfunction_attribute attrib, CUfunction hfunc)", ["cuFuncGetAttribute"], "I", [("pi", "P"), ("attrib", "I"), ("hfunc", "P")]),
    ("CUresult cuMemAlloc_v2(CUdeviceptr *dptr, size_t bytesize)", ["cuMemAlloc_v2"], "I", [("dptr", "P"), ("bytesize", "L")]),
    ("CUresult cuMemFree_v2(CUdeviceptr dptr)", ["cuMemFree_v2"], "I", [("dptr", "L")]),
    ("CUresult cuMemGetInfo_v2(size_t *free, size_t *total)", ["cuMemGetInfo_v2"], "I", [("free", "P"), ("total", "P")]),
    ("CUresult cuMemAllocHost_v2(void **pp, size_t bytesize)", ["cuMemAllocHost_v2"], "I", [("pp", "P"), ("bytesize", "L")]),
    ("CUresult cuMemFreeHost(void *p)", ["cuMemFreeHost"], "I", [("p", "P")]),
    ("CUresult cuMemcpyHtoD_v2(CUdeviceptr dstDevice, const void *srcHost, size_t ByteCount)", ["cuMemcpyHtoD_v2"], "I", [("dstDevice", "L"), ("srcHost", "P"), ("ByteCount", "L")]),
    ("CUresult cuMemcpyDtoH_v2(void *dstHost, CUdeviceptr srcDevice, size_t ByteCount)", ["cuMemcpyDtoH_v2"], "I", [("dstHost", "P"), ("srcDevice", "L"), ("ByteCount", "L")]),
    ("CUresult cuMemcpyDtoD_v2(CUdeviceptr dstDevice, CUdeviceptr srcDevice, size_t ByteCount)", ["cuMemcpyDtoD_v2"], "I", [("dstDevice", "L"), ("srcDevice", "L"), ("ByteCount", "L")]),
    ("CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dstDevice, const void *srcHost, size_t ByteCount, CUstream hStream)", ["cuMemcpyHtoDAsync_v2"], "I", [("dstDevice", "L"), ("srcHost", "P"), ("ByteCount", "L"), ("hStream", "P")]),
    ("CUresult cuMemcpyDtoHAsync_v2(void *dstHost, CUdeviceptr srcDevice, size_t ByteCount, CUstream hStream)", ["cuMemcpyDtoHAsync_v2"], "I", [("dstHost", "P"), ("srcDevice", "L"), ("ByteCount", "L"), ("hStream", "P")]),
    ("CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr dstDevice, CUdeviceptr srcDevice, size_t ByteCount, CUstream hStream)", ["cuMemcpyDtoDAsync_v2"], "I", [("dstDevice", "L"), ("srcDevice", "L"), ("ByteCount", "L"), ("hStream", "P")]),
    ("CUresult cuMemsetD8_v2(CUdeviceptr dstDevice, unsigned char uc, size_t N)", ["cuMemsetD8_v2"], "I", [("dstDevice", "L"), ("uc", "B"), ("N", "L")]),
    ("CUresult cuMemsetD32_v2(CUdeviceptr dstDevice, unsigned int ui, size_t N)", ["cuMemsetD32_v2"], "I", [("dstDevice", "L"), ("ui", "I"), ("N", "L")]),
    ("CUresult cuMemsetD8Async(CUdeviceptr dstDevice, unsigned char uc, size_t N, CUstream hStream)", ["cuMemsetD8Async"], "I", [("dstDevice", "L"), ("uc", "B"), ("N", "L"), ("hStream", "P")]),
    ("CUresult cuMemsetD32Async(CUdeviceptr dstDevice, unsigned int ui, size_t N, CUstream hStream)", ["cuMemsetD32Async"], "I", [("dstDevice", "L"), ("ui", "I"), ("N", "L"), ("hStream", "P")]),
    ("CUresult cuStreamCreate(CUstream *phStream, unsigned int Flags)", ["cuStreamCreate"], "I", [("phStream", "P"), ("Flags", "I")]),
    ("CUresult cuStreamDestroy_v2(CUstream hStream)", ["cuStreamDestroy_v2"], "I", [("hStream", "P")]),
    ("CUresult cuStreamSynchronize(CUstream hStream)", ["cuStreamSynchronize"], "I", [("hStream", "P")]),
    ("CUresult cuEventCreate(CUevent *phEvent, unsigned int Flags)", ["cuEventCreate"], "I", [("phEvent", "P"), ("Flags", "I")]),
    ("CUresult cuEventDestroy_v2(CUevent hEvent)", ["cuEventDestroy_v2"], "I", [("hEvent", "P")]),
    ("CUresult cuEventRecord(CUevent hEvent, CUstream hStream)", ["cuEventRecord"], "I", [("hEvent", "P"), ("hStream", "P")]),
    ("CUresult cuEventSynchronize(CUevent hEvent)", ["cuEventSynchronize"], "I", [("hEvent", "P")]),
    ("CUresult cuEventElapsedTime_v2(float *pMilliseconds, CUevent hStart, CUevent hEnd)", ["cuEventElapsedTime_v2", "cuEventElapsedTime"], "I", [("pMilliseconds", "P"), ("hStart", "P"), ("hEnd", "P")]),
    ("CUresult cuLaunchKernel(CUfunction f, unsigned int gridDimX, unsigned int gridDimY, unsigned int gridDimZ, unsigned int blockDimX, unsigned int blockDimY, unsigned int blockDimZ, unsigned int sharedMemBytes, CUstream hStream, void **kernelParams, void **extra)",
     ["cuLaunchKernel"], "I", [("f", "P"), ("gridDimX", "I"), ("gridDimY", "I"), ("gridDimZ", "I"), ("blockDimX", "I"), ("blockDimY", "I"), ("blockDimZ", "I"), ("sharedMemBytes", "I"), ("hStream", "P"), ("kernelParams", "P"), ("extra", "P")]),
    ("CUresult cuStreamBeginCapture_v2(CUstream hStream, CUstreamCaptureMode mode)", ["cuStreamBeginCapture_v2"], "I", [("hStream", "P"), ("mode", "I")]),
    ("CUresult cuStreamEndCapture(CUstream hStream, CUgraph *phGraph)", ["cuStreamEndCapture"], "I", [("hStream", "P"), ("phGraph", "P")]),
    ("CUresult cuStreamIsCapturing(CUstream hStream, CUstreamCaptureStatus *captureStatus)", ["cuStreamIsCapturing"], "I", [("hStream", "P"), ("captureStatus", "P")]),
    ("CUresult cuGraphInstantiateWithFlags(CUgraphExec *phGraphExec, CUgraph hGraph, unsigned long long flags)", ["cuGraphInstantiateWithFlags"], "I", [("phGraphExec", "P"), ("hGraph", "P"), ("flags", "L")]),
    ("CUresult cuGraphLaunch(CUgraphExec hGraphExec, CUstream hStream)", ["cuGraphLaunch"], "I", [("hGraphExec", "P"), ("hStream", "P")]),
    ("CUresult cuGraphExecDestroy(CUgraphExec hGraphExec)", ["cuGraphExecDestroy"], "I", [("hGraphExec", "P")]),
    ("CUresult cuGraphDestroy(CUgraph hGraph)", ["cuGraphDestroy"], "I", [("hGraph", "P")]),
    ("CUresult cuGetErrorName(CUresult error, const char **pStr)", ["cuGetErrorName"], "I", [("error", "I"), ("pStr", "P")]),
    ("CUresult cuGetErrorString(CUresult error, const char **pStr)", ["cuGetErrorString"], "I", [("error", "I"), ("pStr", "P")]),
]

GEMM_HEAD = [("handle", "P"), ("transa", "I"), ("transb", "I"), ("m", "I"), ("n", "I"), ("k", "I")]
CUBLAS = [
    ("cublasStatus_t cublasCreate_v2(cublasHandle_t *handle)", ["cublasCreate_v2"], "I", [("handle", "P")]),
    ("cublasStatus_t cublasDestroy_v2(cublasHandle_t handle)", ["cublasDestroy_v2"], "I", [("handle", "P")]),
    ("cublasStatus_t cublasGetVersion_v2(cublasHandle_t handle, int *version)", ["cublasGetVersion_v2"], "I", [("handle", "P"), ("version", "P")]),
    ("cublasStatus_t cublasSetStream_v2(cublasHandle_t handle, cudaStream_t streamId)", ["cublasSetStream_v2"], "I", [("handle", "P"), ("streamId", "P")]),
    ("cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode)", ["cublasSetMathMode"], "I", [("handle", "P"), ("mode", "I")]),
    ("cublasStatus_t cublasSetWorkspace_v2(cublasHandle_t handle, void *workspace, size_t workspaceSizeInBytes)", ["cublasSetWorkspace_v2"], "I", [("handle", "P"), ("workspace", "P"), ("workspaceSizeInBytes", "L")]),
    ("cublasStatus_t cublasSgemm_v2(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n, int k, const float *alpha, const float *A, int lda, const float *B, int ldb, const float *beta, float *C, int ldc)",
     ["cublasSgemm_v2"], "I", GEMM_HEAD + [("alpha", "P"), ("A", "P"), ("lda", "I"), ("B", "P"), ("ldb", "I"), ("beta", "P"), ("C", "P"), ("ldc", "I")]),
    ("cublasStatus_t cublasSgemmStridedBatched(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n, int k, const float *alpha, const float *A, int lda, long long int strideA, const float *B, int ldb, long long int strideB, const float *beta, float *C, int ldc, long long int strideC, int batchCount)",
     ["cublasSgemmStridedBatched"], "I", GEMM_HEAD + [("alpha", "P"), ("A", "P"), ("lda", "I"), ("strideA", "L"), ("B", "P"), ("ldb", "I"), ("strideB", "L"), ("beta", "P"), ("C", "P"), ("ldc", "I"), ("strideC", "L"), ("batchCount", "I")]),
    ("cublasStatus_t cublasGemmEx(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n, int k, const void *alpha, const void *A, cudaDataType Atype, int lda, const void *B, cudaDataType Btype, int ldb, const void *beta, void *C, cudaDataType Ctype, int ldc, cublasComputeType_t computeType, cublasGemmAlgo_t algo)",
     ["cublasGemmEx"], "I", GEMM_HEAD + [("alpha", "P"), ("A", "P"), ("Atype", "I"), ("lda", "I"), ("B", "P"), ("Btype", "I"), ("ldb", "I"), ("beta", "P"), ("C", "P"), ("Ctype", "I"), ("ldc", "I"), ("computeType", "I"), ("algo", "I")]),
    ("cublasStatus_t cublasGemmStridedBatchedEx(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n, int k, const void *alpha, const void *A, cudaDataType Atype, int lda, long long int strideA, const void *B, cudaDataType Btype, int ldb, long long int strideB, const void *beta, void *C, cudaDataType Ctype, int ldc, long long int strideC, int batchCount, cublasComputeType_t computeType, cublasGemmAlgo_t algo)",
     ["cublasGemmStridedBatchedEx"], "I", GEMM_HEAD + [("alpha", "P"), ("A", "P"), ("Atype", "I"), ("lda", "I"), ("strideA", "L"), ("B", "P"), ("Btype", "I"), ("ldb", "I"), ("strideB", "L"), ("beta", "P"), ("C", "P"), ("Ctype", "I"), ("ldc", "I"), ("strideC", "L"), ("batchCount", "I"), ("computeType", "I"), ("algo", "I")]),
]

CUBLASLT = [
    ("cublasStatus_t cublasLtCreate(cublasLtHandle_t *lightHandle)", ["cublasLtCreate"], "I", [("lightHandle", "P")]),
    ("cublasStatus_t cublasLtDestroy(cublasLtHandle_t lightHandle)", ["cublasLtDestroy"], "I", [("lightHandle", "P")]),
    ("cublasStatus_t cublasLtMatmulDescCreate(cublasLtMatmulDesc_t *matmulDesc, cublasComputeType_t computeType, cudaDataType_t scaleType)",
     ["cublasLtMatmulDescCreate"], "I", [("matmulDesc", "P"), ("computeType", "I"), ("scaleType", "I")]),
    ("cublasStatus_t cublasLtMatmulDescDestroy(cublasLtMatmulDesc_t matmulDesc)", ["cublasLtMatmulDescDestroy"], "I", [("matmulDesc", "P")]),
    ("cublasStatus_t cublasLtMatmulDescSetAttribute(cublasLtMatmulDesc_t matmulDesc, cublasLtMatmulDescAttributes_t attr, const void *buf, size_t sizeInBytes)",
     ["cublasLtMatmulDescSetAttribute"], "I", [("matmulDesc", "P"), ("attr", "I"), ("buf", "P"), ("sizeInBytes", "L")]),
    ("cublasStatus_t cublasLtMatrixLayoutCreate(cublasLtMatrixLayout_t *matLayout, cudaDataType type, uint64_t rows, uint64_t cols, int64_t ld)",
     ["cublasLtMatrixLayoutCreate"], "I", [("matLayout", "P"), ("type", "I"), ("rows", "L"), ("cols", "L"), ("ld", "L")]),
    ("cublasStatus_t cublasLtMatrixLayoutDestroy(cublasLtMatrixLayout_t matLayout)", ["cublasLtMatrixLayoutDestroy"], "I", [("matLayout", "P")]),
    ("cublasStatus_t cublasLtMatmulPreferenceCreate(cublasLtMatmulPreference_t *pref)", ["cublasLtMatmulPreferenceCreate"], "I", [("pref", "P")]),
    ("cublasStatus_t cublasLtMatmulPreferenceDestroy(cublasLtMatmulPreference_t pref)", ["cublasLtMatmulPreferenceDestroy"], "I", [("pref", "P")]),
    ("cublasStatus_t cublasLtMatmulPreferenceSetAttribute(cublasLtMatmulPreference_t pref, cublasLtMatmulPreferenceAttributes_t attr, const void *buf, size_t sizeInBytes)",
     ["cublasLtMatmulPreferenceSetAttribute"], "I", [("pref", "P"), ("attr", "I"), ("buf", "P"), ("sizeInBytes", "L")]),
    ("cublasStatus_t cublasLtMatmulAlgoGetHeuristic(cublasLtHandle_t lightHandle, cublasLtMatmulDesc_t operationDesc, cublasLtMatrixLayout_t Adesc, cublasLtMatrixLayout_t Bdesc, cublasLtMatrixLayout_t Cdesc, cublasLtMatrixLayout_t Ddesc, cublasLtMatmulPreference_t preference, int requestedAlgoCount, cublasLtMatmulHeuristicResult_t heuristicResultsArray[], int *returnAlgoCount)",
     ["cublasLtMatmulAlgoGetHeuristic"], "I", [("lightHandle", "P"), ("operationDesc", "P"), ("Adesc", "P"), ("Bdesc", "P"), ("Cdesc", "P"), ("Ddesc", "P"), ("preference", "P"), ("requestedAlgoCount", "I"), ("heuristicResultsArray", "P"), ("returnAlgoCount", "P")]),
    ("cublasStatus_t cublasLtMatmul(cublasLtHandle_t lightHandle, cublasLtMatmulDesc_t computeDesc, const void *alpha, const void *A, cublasLtMatrixLayout_t Adesc, const void *B, cublasLtMatrixLayout_t Bdesc, const void *beta, const void *C, cublasLtMatrixLayout_t Cdesc, void *D, cublasLtMatrixLayout_t Ddesc, const cublasLtMatmulAlgo_t *algo, void *workspace, size_t workspaceSizeInBytes, cudaStream_t stream)",
     ["cublasLtMatmul"], "I", [("lightHandle", "P"), ("computeDesc", "P"), ("alpha", "P"), ("A", "P"), ("Adesc", "P"), ("B", "P"), ("Bdesc", "P"), ("beta", "P"), ("C", "P"), ("Cdesc", "P"), ("D", "P"), ("Ddesc", "P"), ("algo", "P"), ("workspace", "P"), ("workspaceSizeInBytes", "L"), ("stream", "P")]),
]

CUBLASLT_CONSTANTS = """
    /** {@code cublasStatus_t} (shared with cuBLAS; names from {@link Cublas#statusName}). */
    public static final int CUBLAS_STATUS_SUCCESS = 0, CUBLAS_STATUS_NOT_SUPPORTED = 15;
    /** {@code cublasLtMatmulDescAttributes_t} values jgpt sets. */
    public static final int CUBLASLT_MATMUL_DESC_TRANSA = 3, CUBLASLT_MATMUL_DESC_TRANSB = 4, CUBLASLT_MATMUL_DESC_EPILOGUE = 7,
            CUBLASLT_MATMUL_DESC_BIAS_POINTER = 8, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER = 11,
            CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD = 12, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_DATA_TYPE = 22,
            CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE = 26;
    /** {@code cublasLtEpilogue_t} values jgpt uses. */
    public static final int CUBLASLT_EPILOGUE_DEFAULT = 1, CUBLASLT_EPILOGUE_BIAS = 4, CUBLASLT_EPILOGUE_GELU_AUX_BIAS = 164,
            CUBLASLT_EPILOGUE_DGELU = 192, CUBLASLT_EPILOGUE_BGRADB = 512;
    /** {@code cublasLtMatmulPreferenceAttributes_t}: the most workspace an algorithm may ask for (uint64_t). */
    public static final int CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES = 1;
    /** Bytes of a {@code cublasLtMatmulHeuristicResult_t}: {@code {uint64_t algo[8]; size_t workspaceSize; int state; float wavesCount; int reserved[4]}}. */
    public static final long HEURISTIC_RESULT_BYTES = 96, HEURISTIC_WORKSPACE_OFFSET = 64, HEURISTIC_STATE_OFFSET = 72;
"""

DRIVER_CONSTANTS = """
    /** {@code CUresult} values jgpt names in its messages (cuda.h, CUDA 13.0). */
    public static final int CUDA_SUCCESS = 0, CUDA_ERROR_INVALID_VALUE = 1, CUDA_ERROR_OUT_OF_MEMORY = 2,
            CUDA_ERROR_NOT_INITIALIZED = 3, CUDA_ERROR_STUB_LIBRARY = 34, CUDA_ERROR_NO_DEVICE = 100,
            CUDA_ERROR_INVALID_IMAGE = 200, CUDA_ERROR_INVALID_CONTEXT = 201, CUDA_ERROR_NO_BINARY_FOR_GPU = 209,
            CUDA_ERROR_INVALID_PTX = 218, CUDA_ERROR_UNSUPPORTED_PTX_VERSION = 222, CUDA_ERROR_INVALID_HANDLE = 400,
            CUDA_ERROR_NOT_FOUND = 500, CUDA_ERROR_NOT_READY = 600, CUDA_ERROR_ILLEGAL_ADDRESS = 700,
            CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES = 701, CUDA_ERROR_LAUNCH_TIMEOUT = 702,
            CUDA_ERROR_MISALIGNED_ADDRESS = 716, CUDA_ERROR_LAUNCH_FAILED = 719,
            CUDA_ERROR_SYSTEM_DRIVER_MISMATCH = 803, CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED = 900,
            CUDA_ERROR_STREAM_CAPTURE_INVALIDATED = 901, CUDA_ERROR_STREAM_CAPTURE_IMPLICIT = 906, CUDA_ERROR_UNKNOWN = 999;
    /** {@code CUdevice_attribute} values used by jgpt. */
    public static final int CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK = 1, CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X = 5,
            CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Y = 6, CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK = 8,
            CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16, CU_DEVICE_ATTRIBUTE_PCI_BUS_ID = 33,
            CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76,
            CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN = 97;
    /** {@code CUfunction_attribute} values used by jgpt. */
    public static final int CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK = 0, CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES = 1,
            CU_FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES = 3, CU_FUNC_ATTRIBUTE_NUM_REGS = 4,
            CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8;
    /** Stream and event flags. */
    public static final int CU_STREAM_DEFAULT = 0, CU_STREAM_NON_BLOCKING = 1, CU_EVENT_DEFAULT = 0,
            CU_EVENT_BLOCKING_SYNC = 1, CU_EVENT_DISABLE_TIMING = 2;
    /** {@code CUstreamCaptureMode} and {@code CUstreamCaptureStatus} (stream capture into a CUDA graph). */
    public static final int CU_STREAM_CAPTURE_MODE_GLOBAL = 0, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL = 1,
            CU_STREAM_CAPTURE_MODE_RELAXED = 2, CU_STREAM_CAPTURE_STATUS_NONE = 0, CU_STREAM_CAPTURE_STATUS_ACTIVE = 1,
            CU_STREAM_CAPTURE_STATUS_INVALIDATED = 2;
"""

CUBLAS_CONSTANTS = """
    /** {@code cublasStatus_t} */
    public static final int CUBLAS_STATUS_SUCCESS = 0, CUBLAS_STATUS_NOT_INITIALIZED = 1, CUBLAS_STATUS_ALLOC_FAILED = 3,
            CUBLAS_STATUS_INVALID_VALUE = 7, CUBLAS_STATUS_ARCH_MISMATCH = 8, CUBLAS_STATUS_MAPPING_ERROR = 11,
            CUBLAS_STATUS_EXECUTION_FAILED = 13, CUBLAS_STATUS_INTERNAL_ERROR = 14, CUBLAS_STATUS_NOT_SUPPORTED = 15,
            CUBLAS_STATUS_LICENSE_ERROR = 16;
    /** {@code cublasOperation_t} */
    public static final int CUBLAS_OP_N = 0, CUBLAS_OP_T = 1;
    /** {@code cublasMath_t} */
    public static final int CUBLAS_DEFAULT_MATH = 0, CUBLAS_TF32_TENSOR_OP_MATH = 3;
    /** {@code cudaDataType} */
    public static final int CUDA_R_32F = 0, CUDA_R_16F = 2, CUDA_R_16BF = 14;
    /** {@code cublasComputeType_t} */
    public static final int CUBLAS_COMPUTE_32F = 68, CUBLAS_COMPUTE_32F_FAST_16BF = 75, CUBLAS_COMPUTE_32F_FAST_TF32 = 77;
    /** {@code cublasGemmAlgo_t} */
    public static final int CUBLAS_GEMM_DEFAULT = -1;

    /** The name of a {@code cublasStatus_t}, for error messages. */
    public static String statusName(int status) {
        return switch (status) {
            case 0 -> "CUBLAS_STATUS_SUCCESS";
            case 1 -> "CUBLAS_STATUS_NOT_INITIALIZED";
            case 3 -> "CUBLAS_STATUS_ALLOC_FAILED";
            case 7 -> "CUBLAS_STATUS_INVALID_VALUE";
            case 8 -> "CUBLAS_STATUS_ARCH_MISMATCH";
            case 11 -> "CUBLAS_STATUS_MAPPING_ERROR";
            case 13 -> "CUBLAS_STATUS_EXECUTION_FAILED";
            case 14 -> "CUBLAS_STATUS_INTERNAL_ERROR";
            case 15 -> "CUBLAS_STATUS_NOT_SUPPORTED";
            case 16 -> "CUBLAS_STATUS_LICENSE_ERROR";
            default -> "cublasStatus_t " + status;
        };
    }
"""


def emit(cls, header, lib, doc, constants, funcs):
    out = []
    out.append("// Generated in the shape jextract emits by bindings/gen/gen_cuda.py (see bindings/README.md for\n"
               "// the jextract command that regenerates it). Source header: %s. Do not edit by hand:\n"
               "// edit the generator and run it again.\n" % header)
    out.append("package dev.jgpt.bindings;\n\n")
    for imp in ["java.lang.foreign.AddressLayout", "java.lang.foreign.FunctionDescriptor", "java.lang.foreign.Linker",
                "java.lang.foreign.MemorySegment", "java.lang.foreign.SymbolLookup", "java.lang.foreign.ValueLayout",
                "java.lang.invoke.MethodHandle", "java.lang.invoke.MethodHandles", "java.lang.invoke.MethodType",
                "java.util.Objects"]:
        out.append("import %s;\n" % imp)
    out.append("\n/**\n%s\n */\npublic final class %s {\n    private %s() {}\n\n" % (doc, cls, cls))
    out.append("    public static final ValueLayout.OfInt C_INT = ValueLayout.JAVA_INT;\n"
               "    public static final ValueLayout.OfLong C_LONG = ValueLayout.JAVA_LONG;\n"
               "    public static final ValueLayout.OfFloat C_FLOAT = ValueLayout.JAVA_FLOAT;\n"
               "    public static final ValueLayout.OfByte C_CHAR = ValueLayout.JAVA_BYTE;\n"
               "    public static final AddressLayout C_POINTER = ValueLayout.ADDRESS;\n")
    out.append(constants)
    out.append("""
    private static volatile SymbolLookup lookup;
    private static volatile String unavailableReason = "%(cls)s.init(SymbolLookup) was not called";

    /** Sets where the symbols come from ({@code %(lib)s}); call before the first function is used. */
    public static synchronized void init(SymbolLookup symbols) {
        lookup = Objects.requireNonNull(symbols, "symbols");
    }

    /**
     * Records why {@code %(lib)s} could not be loaded. Functions used afterwards (without a lookup)
     * bind to a handle of the right type that throws {@link UnsatisfiedLinkError} with this reason,
     * so a missing library is one clear error and the signatures can still be checked without it.
     */
    public static synchronized void markUnavailable(String reason) {
        unavailableReason = Objects.requireNonNull(reason, "reason");
    }

    public static boolean isInitialized() {
        return lookup != null;
    }

    /** A downcall for the first of {@code symbols} the library exports; else a handle that throws. */
    static MethodHandle downcall(FunctionDescriptor desc, String... symbols) {
        SymbolLookup l = lookup;
        if (l != null) {
            for (String s : symbols) {
                var addr = l.find(s);
                if (addr.isPresent()) return Linker.nativeLinker().downcallHandle(addr.get(), desc);
            }
        }
        String why = l == null ? unavailableReason : "%(lib)s does not export " + String.join(" or ", symbols);
        MethodType type = desc.toMethodType();
        MethodHandle thrower = MethodHandles.throwException(type.returnType(), UnsatisfiedLinkError.class);
        thrower = MethodHandles.insertArguments(thrower, 0, new UnsatisfiedLinkError(symbols[0] + ": " + why));
        return MethodHandles.dropArguments(thrower, 0, type.parameterList());
    }
""" % {"cls": cls, "lib": lib})
    for proto, names, ret, params in funcs:
        name = names[0]
        layouts = ", ".join("%s.%s" % (cls, LAYOUT[p][0]) for _, p in params)
        if ret == "V":
            desc = "FunctionDescriptor.ofVoid(%s)" % layouts
        else:
            desc = "FunctionDescriptor.of(%s.%s%s)" % (cls, LAYOUT[ret][0], (", " + layouts) if layouts else "")
        sym = ", ".join('"%s"' % n for n in names)
        jret = LAYOUT[ret][1] if ret != "V" else "void"
        jparams = ", ".join("%s %s" % (LAYOUT[p][1], n) for n, p in params)
        args = ", ".join(n for n, _ in params)
        out.append("""
    private static final class %(name)s {
        static final FunctionDescriptor DESC = %(desc)s;
        static final MethodHandle HANDLE = %(cls)s.downcall(DESC, %(sym)s);
    }

    /** {@snippet lang=c : %(proto)s } */
    public static FunctionDescriptor %(name)s$descriptor() { return %(name)s.DESC; }

    public static MethodHandle %(name)s$handle() { return %(name)s.HANDLE; }

    /** {@snippet lang=c : %(proto)s } */
    public static %(jret)s %(name)s(%(jparams)s) {
        var mh$ = %(name)s.HANDLE;
        try {
            %(ret_kw)smh$.invokeExact(%(args)s);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }
""" % dict(name=name, desc=desc, cls=cls, sym=sym, proto=proto, jret=jret, jparams=jparams, args=args,
           ret_kw=("return (%s) " % jret) if ret != "V" else ""))
    out.append("}\n")
    return "".join(out)


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    pkg = os.path.join(root, "bindings", "src", "main", "java", "dev", "jgpt", "bindings")
    os.makedirs(pkg, exist_ok=True)
    with open(os.path.join(pkg, "CudaDriver.java"), "w") as f:
        f.write(emit("CudaDriver", "cuda.h (CUDA 13.0)", "libcuda.so.1",
                     " * The part of the CUDA driver API ({@code cuda.h}) that jgpt uses, bound to the explicit\n"
                     " * versioned symbols the header's macros map to ({@code cuMemAlloc} is {@code cuMemAlloc_v2}).\n"
                     " * Device pointers ({@code CUdeviceptr}) are {@code long}; handles are {@link MemorySegment}s.\n"
                     " * The library is found at run time ({@code dev.jgpt.backend.cuda.CudaLibraries}), which calls\n"
                     " * {@link #init(SymbolLookup)} or {@link #markUnavailable(String)} once.",
                     DRIVER_CONSTANTS, DRIVER))
    with open(os.path.join(pkg, "Cublas.java"), "w") as f:
        f.write(emit("Cublas", "cublas_api.h (cuBLAS 12/13)", "libcublas.so",
                     " * The part of cuBLAS ({@code cublas_api.h}) that jgpt uses. cuBLAS is column-major; pointers to\n"
                     " * matrices are device addresses passed as {@link MemorySegment}s that are never dereferenced on\n"
                     " * the host; alpha and beta are host pointers ({@code CUBLAS_POINTER_MODE_HOST}, the default).",
                     CUBLAS_CONSTANTS, CUBLAS))
    with open(os.path.join(pkg, "CublasLt.java"), "w") as f:
        f.write(emit("CublasLt", "cublasLt.h (cuBLASLt 12/13)", "libcublasLt.so",
                     " * The part of cuBLASLt ({@code cublasLt.h}) that jgpt uses: matrix products with fused epilogues (bias, GELU\n"
                     " * with its pre-activation kept, GELU backward, bias gradient). Column-major like cuBLAS; descriptors and layouts\n"
                     " * are opaque handles ({@link MemorySegment}s); alpha and beta are host pointers (the default pointer mode).\n"
                     " * Optional: where the library is missing the cuda backend keeps cuBLAS and separate bias/GELU kernels.",
                     CUBLASLT_CONSTANTS, CUBLASLT))


if __name__ == "__main__":
    main()
