package dev.jgpt.backend.cuda;

/**
 * Every kernel of {@code kernels/*.cu} the Java side launches, by its {@code extern "C"} name.
 * {@code FatbinTest} checks in CI (no GPU) that each one exists in every SASS entry of the fatbin.
 * {@code threadsMultipleOf32} marks kernels that reduce with whole warps. {@code signature} spells the C
 * parameter list, one letter per parameter: {@code p} pointer, {@code i} int, {@code l} long long,
 * {@code f} float, {@code s} a struct passed by value ({@link CudaContext.Launch#struct}). Every launch is checked against it (a wrong argument type would otherwise only give
 * wrong numbers), and {@code KernelSignatureTest} checks it against the .cu sources in CI.
 */
public enum Kernel {
    ENCODER_FORWARD("encoder_forward", "ppppiiii", false),
    ENCODER_FORWARD_ROWS("encoder_forward_rows", "ppppsiiip", false),
    // dwte without atomics: the positions sorted by token (a bitonic sort), then one sum per token
    ENCODER_SORT_KEYS("encoder_sort_keys", "ppii", false),
    ENCODER_SORT_STEP("encoder_sort_step", "plll", false),
    ENCODER_SORT_MERGE("encoder_sort_merge", "pl", false),
    ENCODER_BACKWARD_WTE("encoder_backward_wte", "pppiii", false),
    ENCODER_BACKWARD_WPE("encoder_backward_wpe", "ppiii", false),
    COUNT_BAD_IDS("count_bad_ids", "pplii", false),
    LAYERNORM_FORWARD("layernorm_forward", "ppppppii", true),
    LAYERNORM_BACKWARD("layernorm_backward", "pppppppii", true),
    LAYERNORM_BACKWARD_COPY_BF16("layernorm_backward_copy_bf16", "ppppppppii", true),
    LAYERNORM_BACKWARD_BF16("layernorm_backward_bf16", "ppppppppii", true),
    ADD_PARTIAL_SUMS("add_partial_sums", "pppii", true),
    FUSED_RESIDUAL_LAYERNORM_FORWARD("fused_residual_layernorm_forward", "ppppppppii", true),
    ADD_BIAS("add_bias", "ppii", false),
    // products of a few input rows without cuBLAS (decode steps: kernels/matmul.cu's jg_matmul_rows; JGPT_CUDA_ROW_PRODUCTS)
    MATMUL_ROW_FORWARD("matmul_row_forward", "ppppiii", true),
    MATMUL_ROW_FORWARD_BF16_IN("matmul_row_forward_bf16_in", "ppppiii", true),
    MATMUL_ROW_FORWARD_BF16("matmul_row_forward_bf16", "ppppiii", true),
    MATMUL_ROWS_FORWARD("matmul_rows_forward", "ppppiii", true),
    MATMUL_ROWS_FORWARD_BF16_IN("matmul_rows_forward_bf16_in", "ppppiii", true),
    MATMUL_ROWS_FORWARD_BF16("matmul_rows_forward_bf16", "ppppiii", true),
    // bf16 activation storage (Backend.activationDType): the same kernels with bf16 outputs / inputs
    LAYERNORM_FORWARD_BF16("layernorm_forward_bf16", "ppppppii", true),
    FUSED_RESIDUAL_LAYERNORM_FORWARD_BF16("fused_residual_layernorm_forward_bf16", "ppppppppii", true),
    FUSED_RESIDUAL_LAYERNORM_FORWARD_BF16_IN("fused_residual_layernorm_forward_bf16_in", "ppppppppii", true),
    ADD_BIAS_BF16("add_bias_bf16", "ppii", false),
    GELU_FORWARD_BF16("gelu_forward_bf16", "ppl", false),
    GELU_BACKWARD_BF16("gelu_backward_bf16", "pppl", false),
    GELU_BACKWARD_BF16_DINP("gelu_backward_bf16_dinp", "pppl", false),
    MATMUL_BACKWARD_BIAS("matmul_backward_bias", "ppii", false),
    MATMUL_BACKWARD_BIAS_BF16("matmul_backward_bias_bf16", "ppii", false),
    ATTENTION_SOFTMAX_FORWARD("attention_softmax_forward", "pii", true),
    ATTENTION_SOFTMAX_BACKWARD("attention_softmax_backward", "ppiif", true),
    ATTENTION_SOFTMAX_FORWARD_BF16("attention_softmax_forward_bf16", "pii", true),
    ATTENTION_SOFTMAX_BACKWARD_BF16("attention_softmax_backward_bf16", "ppiif", true),
    ATTENTION_FORWARD_FUSED("attention_forward_fused", "pppppiiiiiii", true),
    // fused attention backward (kernels/attention_backward_fused.cu) and bf16 operands (kernels/precision.cu)
    ATTENTION_BACKWARD_FUSED_DQ("attention_backward_fused_dq", "ppppppppiiiiiiii", true),
    ATTENTION_BACKWARD_FUSED_DKV("attention_backward_fused_dkv", "ppppppppiiiiiiii", true),
    // fused attention on tensor cores for bf16 mode (kernels/attention_flash_tc.cu): the same arguments as the CUDA-core pair
    ATTENTION_FLASH_TC_FORWARD("attention_flash_tc_forward", "pppppiiiiiii", true),
    ATTENTION_FLASH_TC_BACKWARD_DQ("attention_flash_tc_backward_dq", "ppppppppiiiiiiii", true),
    ATTENTION_FLASH_TC_BACKWARD_DKV("attention_flash_tc_backward_dkv", "ppppppppiiiiiiii", true),
    // the same six with bf16 q, k, v and out (bf16 activation storage; lse, delta, dout and the gradients fp32)
    ATTENTION_FORWARD_FUSED_BF16("attention_forward_fused_bf16", "pppppiiiiiii", true),
    ATTENTION_BACKWARD_FUSED_DQ_BF16("attention_backward_fused_dq_bf16", "ppppppppiiiiiiii", true),
    ATTENTION_BACKWARD_FUSED_DKV_BF16("attention_backward_fused_dkv_bf16", "ppppppppiiiiiiii", true),
    ATTENTION_FLASH_TC_FORWARD_BF16("attention_flash_tc_forward_bf16", "pppppiiiiiii", true),
    ATTENTION_FLASH_TC_BACKWARD_DQ_BF16("attention_flash_tc_backward_dq_bf16", "ppppppppiiiiiiii", true),
    ATTENTION_FLASH_TC_BACKWARD_DKV_BF16("attention_flash_tc_backward_dkv_bf16", "ppppppppiiiiiiii", true),
    // bf16 attention gradients (GPT-2's dout and dqkv in bf16 mode): the _bf16 pairs with dout, dq, dk, dv in bf16 too
    ATTENTION_BACKWARD_FUSED_DQ_BF16_GRADS("attention_backward_fused_dq_bf16_grads", "ppppppppiiiiiiii", true),
    ATTENTION_BACKWARD_FUSED_DKV_BF16_GRADS("attention_backward_fused_dkv_bf16_grads", "ppppppppiiiiiiii", true),
    ATTENTION_FLASH_TC_BACKWARD_DQ_BF16_GRADS("attention_flash_tc_backward_dq_bf16_grads", "ppppppppiiiiiiii", true),
    ATTENTION_FLASH_TC_BACKWARD_DKV_BF16_GRADS("attention_flash_tc_backward_dkv_bf16_grads", "ppppppppiiiiiiii", true),
    // the same seven, FlashAttention-2 style (kernels/attention_flash_mma.cu: mma.sync with S, P and dS in registers,
    // cp.async tiles): bf16 mode's tensor-core attention; the WMMA ones above run with JGPT_CUDA_ATTENTION=fused-wmma
    ATTENTION_FLASH_MMA_FORWARD("attention_flash_mma_forward", "pppppiiiiiii", true),
    ATTENTION_FLASH_MMA_BACKWARD_DQ("attention_flash_mma_backward_dq", "ppppppppiiiiiiii", true),
    ATTENTION_FLASH_MMA_BACKWARD_DKV("attention_flash_mma_backward_dkv", "ppppppppiiiiiiii", true),
    ATTENTION_FLASH_MMA_FORWARD_BF16("attention_flash_mma_forward_bf16", "pppppiiiiiii", true),
    ATTENTION_FLASH_MMA_BACKWARD_DQ_BF16("attention_flash_mma_backward_dq_bf16", "ppppppppiiiiiiii", true),
    ATTENTION_FLASH_MMA_BACKWARD_DKV_BF16("attention_flash_mma_backward_dkv_bf16", "ppppppppiiiiiiii", true),
    ATTENTION_FLASH_MMA_BACKWARD_DQ_BF16_GRADS("attention_flash_mma_backward_dq_bf16_grads", "ppppppppiiiiiiii", true),
    ATTENTION_FLASH_MMA_BACKWARD_DKV_BF16_GRADS("attention_flash_mma_backward_dkv_bf16_grads", "ppppppppiiiiiiii", true),
    F32_TO_BF16("f32_to_bf16", "ppl", false),
    GELU_FORWARD("gelu_forward", "ppl", false),
    GELU_BACKWARD("gelu_backward", "pppl", false),
    RESIDUAL_FORWARD("residual_forward", "pppl", false),
    RESIDUAL_BACKWARD("residual_backward", "pppl", false),
    // Llama-style layers (kernels/llama.cu)
    RMSNORM_FORWARD("rmsnorm_forward", "ppppiif", true),
    RMSNORM_BACKWARD_DINP("rmsnorm_backward_dinp", "pppppii", true),
    RMSNORM_BACKWARD_DINP_COPY_BF16("rmsnorm_backward_dinp_copy_bf16", "ppppppii", true),
    RMSNORM_BACKWARD_DWEIGHT("rmsnorm_backward_dweight", "ppppii", true),
    ROPE_ROTATE("rope_rotate", "pppiiiif", false),
    SWIGLU_FORWARD("swiglu_forward", "pppl", false),
    SWIGLU_BACKWARD("swiglu_backward", "pppppli", false),
    RMSNORM_FORWARD_BF16("rmsnorm_forward_bf16", "ppppiif", true),
    SWIGLU_FORWARD_BF16("swiglu_forward_bf16", "pppl", false),
    SWIGLU_BACKWARD_BF16("swiglu_backward_bf16", "pppppli", false),
    SWIGLU_BACKWARD_BF16_GRADS("swiglu_backward_bf16_grads", "pppppli", false),
    ROPE_ROTATE_BF16("rope_rotate_bf16", "pppiiiif", false),
    GQA_ATTENTION_FORWARD_BF16("gqa_attention_forward_bf16", "pppppiiiii", true),
    GQA_ATTENTION_BACKWARD_Q_BF16("gqa_attention_backward_q_bf16", "ppppppiiiiii", true),
    GQA_ATTENTION_BACKWARD_KV_BF16("gqa_attention_backward_kv_bf16", "ppppppiiiiii", true),
    GQA_ATTENTION_BACKWARD_Q_BF16_GRADS("gqa_attention_backward_q_bf16_grads", "ppppppiiiiii", true),
    GQA_ATTENTION_BACKWARD_KV_BF16_GRADS("gqa_attention_backward_kv_bf16_grads", "ppppppiiiiii", true),
    GQA_ATTENTION_FORWARD("gqa_attention_forward", "pppppiiiii", true),
    GQA_ATTENTION_DECODE("gqa_attention_decode", "pppppiiiii", true),
    GQA_ATTENTION_DECODE_ROWS("gqa_attention_decode_rows", "pppppsiiiiipp", true),
    ROPE_ROTATE_ROWS("rope_rotate_rows", "pppsiiip", false),
    // bf16 decode (bf16 mode): q, the new keys and values, the KV cache and the attention output in bf16
    GQA_ATTENTION_DECODE_BF16("gqa_attention_decode_bf16", "pppppiiiii", true),
    GQA_ATTENTION_DECODE_ROWS_BF16("gqa_attention_decode_rows_bf16", "pppppsiiiiipp", true),
    ROPE_ROTATE_ROWS_BF16("rope_rotate_rows_bf16", "pppsiiip", false),
    GQA_ATTENTION_BACKWARD_Q("gqa_attention_backward_q", "ppppppiiiiii", true),
    GQA_ATTENTION_BACKWARD_KV("gqa_attention_backward_kv", "ppppppiiiiii", true),
    // q8 decode products (kernels/quant.cu): few rows by one warp per weight row, more through a dequantised operand
    MATMUL_Q8_ROWS("matmul_q8_rows", "ppppiiii", true),
    MATMUL_Q8_ROWS_BF16("matmul_q8_rows_bf16", "ppppiiii", true),
    MATMUL_Q8_ROWS_BF16_IN("matmul_q8_rows_bf16_in", "ppppiiii", true),
    MATMUL_Q8_ROWS_BF16_OUT("matmul_q8_rows_bf16_out", "ppppiiii", true),
    // one input row (a decode step): one running sum, 32 registers on sm_90a instead of 72, more warps per SM
    MATMUL_Q8_ROW("matmul_q8_row", "ppppiiii", true),
    MATMUL_Q8_ROW_BF16("matmul_q8_row_bf16", "ppppiiii", true),
    MATMUL_Q8_ROW_BF16_IN("matmul_q8_row_bf16_in", "ppppiiii", true),
    MATMUL_Q8_ROW_BF16_OUT("matmul_q8_row_bf16_out", "ppppiiii", true),
    Q8_TO_F32("q8_to_f32", "pppli", false),
    Q8_TO_BF16("q8_to_bf16", "pppli", false),
    EMBEDDING_ROWS_BF16("embedding_rows_bf16", "pppiii", false),
    EMBEDDING_ROWS_Q8("embedding_rows_q8", "ppppiiii", false),
    // device top-k for decoding (kernels/topk.cu)
    TOPK_PARTIAL("topk_partial", "pppiiii", true),
    TOPK_MERGE("topk_merge", "ppppii", true),
    CLASSIFIER_SOFTMAX_XENT("classifier_softmax_xent", "pppiiifi", true),
    CLASSIFIER_SOFTMAX_XENT_BF16("classifier_softmax_xent_bf16", "pppiiifi", true),
    ADAMW_UPDATE("adamw_update", "pppplffffffff", false),
    ADAMW_UPDATE_BF16("adamw_update_bf16", "ppppplffffffff", false),
    SUM_PARTIALS("sum_partials", "ppli", true),
    SUM_FINISH("sum_finish", "ppi", true);

    private final String symbol;
    private final String signature;
    private final boolean threadsMultipleOf32;

    Kernel(String symbol, String signature, boolean threadsMultipleOf32) {
        this.symbol = symbol;
        this.signature = signature;
        this.threadsMultipleOf32 = threadsMultipleOf32;
    }

    public String signature() {
        return signature;
    }

    public String symbol() {
        return symbol;
    }

    public boolean threadsMultipleOf32() {
        return threadsMultipleOf32;
    }
}
