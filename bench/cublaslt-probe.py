# bench/cublaslt-probe.py - on a GPU machine: which cuBLASLt epilogues does the heuristic accept for bf16 A/B with a bf16
# or fp32 D and a bias of either type? A ctypes probe of libcublasLt from the pip wheels; no data moved. (session 18)
import ctypes, glob, os, site, sys
dirs = sorted({os.path.dirname(p) for r in site.getsitepackages() for p in glob.glob(os.path.join(r, "nvidia", "**", "libcublasLt.so.*"), recursive=True)})
lt = ctypes.CDLL(glob.glob(os.path.join(dirs[0], "libcublasLt.so.*"))[0])
lt.cublasLtGetVersion.restype = ctypes.c_size_t
print("cublasLt version", lt.cublasLtGetVersion())
h = ctypes.c_void_p(); print("create", lt.cublasLtCreate(ctypes.byref(h)))
F32, BF16, C32F = 0, 14, 68
def i32(v): x = ctypes.c_int32(v); return ctypes.byref(x), 4
def probe(label, ep, d_type, bias_type=None, aux_type=None, opA=1, opB=0, m=768, n=512, k=256, aux_ld=None):
    desc = ctypes.c_void_p(); lt.cublasLtMatmulDescCreate(ctypes.byref(desc), C32F, F32)
    for attr, v in ((3, opA), (4, opB), (7, ep)):
        p, s = i32(v); lt.cublasLtMatmulDescSetAttribute(desc, attr, p, s)
    if bias_type is not None: p, s = i32(bias_type); lt.cublasLtMatmulDescSetAttribute(desc, 26, p, s)
    if aux_type is not None: p, s = i32(aux_type); lt.cublasLtMatmulDescSetAttribute(desc, 22, p, s)
    if aux_ld is not None: x = ctypes.c_int64(aux_ld); lt.cublasLtMatmulDescSetAttribute(desc, 12, ctypes.byref(x), 8)
    def lay(t, r, c, ld): l = ctypes.c_void_p(); lt.cublasLtMatrixLayoutCreate(ctypes.byref(l), t, ctypes.c_uint64(r), ctypes.c_uint64(c), ctypes.c_int64(ld)); return l
    a = lay(BF16, k if opA else m, m if opA else k, k if opA else m); b = lay(BF16, n if opB else k, k if opB else n, n if opB else k); c = lay(d_type, m, n, m)
    pref = ctypes.c_void_p(); lt.cublasLtMatmulPreferenceCreate(ctypes.byref(pref))
    ws = ctypes.c_uint64(32 << 20); lt.cublasLtMatmulPreferenceSetAttribute(pref, 1, ctypes.byref(ws), 8)
    res = ctypes.create_string_buffer(96); got = ctypes.c_int(0)
    rc = lt.cublasLtMatmulAlgoGetHeuristic(h, desc, a, b, c, c, pref, 1, res, ctypes.byref(got))
    print(f"{label:55s} rc {rc:2d} algorithms {got.value}")
probe("DEFAULT, D bf16", 1, BF16)
probe("BIAS, D f32, bias f32", 4, F32, F32)
probe("BIAS, D bf16, bias f32", 4, BF16, F32)
probe("BIAS, D bf16, bias unset (bf16)", 4, BF16)
probe("BIAS, D bf16, bias bf16", 4, BF16, BF16)
probe("GELU_AUX_BIAS, D bf16, bias f32, aux bf16", 164, BF16, F32, BF16, aux_ld=768)
probe("GELU_AUX_BIAS, D bf16, bias bf16, aux bf16", 164, BF16, BF16, BF16, aux_ld=768)
probe("GELU_AUX_BIAS, D bf16, bias unset, aux unset", 164, BF16, None, None, aux_ld=768)
probe("DGELU, D bf16, aux bf16", 192, BF16, None, BF16, opA=0, aux_ld=768)
probe("DGELU, D bf16, aux unset", 192, BF16, None, None, opA=0, aux_ld=768)
probe("DGELU, D f32, aux f32", 192, F32, None, F32, opA=0, aux_ld=768)
probe("BGRADB, D f32, bias f32 (dweight)", 512, F32, F32, opA=0, opB=1)
