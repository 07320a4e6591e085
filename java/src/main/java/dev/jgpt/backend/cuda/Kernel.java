package dev.jgpt.backend.cuda;

/**
 * Every kernel of {@code kernels/*.cu} the Java side launches, by its {@code extern "C"} name.
 * {@code FatbinTest} checks in CI (no GPU) that each one exists in every SASS entry of the fatbin.
 * {@code threadsMultipleOf32} marks kernels that reduce with whole warps.
 */
public enum Kernel {
    ENCODER_FORWARD("encoder_forward", false),
    ENCODER_BACKWARD_WTE("encoder_backward_wte", false),
    ENCODER_BACKWARD_WPE("encoder_backward_wpe", false),
    COUNT_BAD_IDS("count_bad_ids", false),
    LAYERNORM_FORWARD("layernorm_forward", true),
    LAYERNORM_BACKWARD("layernorm_backward", true),
    ADD_BIAS("add_bias", false),
    MATMUL_BACKWARD_BIAS("matmul_backward_bias", false),
    ATTENTION_SOFTMAX_FORWARD("attention_softmax_forward", true),
    ATTENTION_SOFTMAX_BACKWARD("attention_softmax_backward", true),
    ATTENTION_DECODE("attention_decode", true),
    GELU_FORWARD("gelu_forward", false),
    GELU_BACKWARD("gelu_backward", false),
    RESIDUAL_FORWARD("residual_forward", false),
    RESIDUAL_BACKWARD("residual_backward", false),
    CLASSIFIER_SOFTMAX_XENT("classifier_softmax_xent", true),
    ADAMW_UPDATE("adamw_update", false),
    SUM_PARTIALS("sum_partials", true),
    SUM_FINISH("sum_finish", true);

    private final String symbol;
    private final boolean threadsMultipleOf32;

    Kernel(String symbol, boolean threadsMultipleOf32) {
        this.symbol = symbol;
        this.threadsMultipleOf32 = threadsMultipleOf32;
    }

    public String symbol() {
        return symbol;
    }

    public boolean threadsMultipleOf32() {
        return threadsMultipleOf32;
    }
}
