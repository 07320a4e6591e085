package dev.jgpt.serve;

/**
 * A request that fails with an HTTP status and an OpenAI-shaped error body:
 * {@code {"error": {"message", "type", "param", "code"}}}.
 */
public final class ApiException extends RuntimeException {
    private final int status;
    private final String type;
    private final String param;
    private final String code;

    public ApiException(int status, String type, String code, String param, String message) {
        super(message);
        this.status = status;
        this.type = type;
        this.code = code;
        this.param = param;
    }

    /** 400: the request itself is wrong (a field's value, a missing field, malformed JSON). */
    public static ApiException badRequest(String param, String message) {
        return new ApiException(400, "invalid_request_error", param == null ? null : "invalid_value", param, message);
    }

    public static ApiException notFound(String code, String message) {
        return new ApiException(404, "invalid_request_error", code, null, message);
    }

    public int status() { return status; }
    public String type() { return type; }
    public String param() { return param; }
    public String code() { return code; }
}
