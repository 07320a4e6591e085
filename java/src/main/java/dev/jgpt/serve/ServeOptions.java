package dev.jgpt.serve;

import dev.jgpt.JgptException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The server's settings and limits.
 *
 * @param host address to bind (loopback by default)
 * @param port TCP port, 0 for any free one
 * @param apiKey bearer token every API request must carry, or null for none (then only loopback binds)
 * @param corsOrigin value of {@code Access-Control-Allow-Origin}, or null: CORS off (browsers refuse
 *     cross-origin calls)
 * @param maxBodyBytes largest request body accepted (413 above)
 * @param maxTokens cap on {@code max_tokens} of one request (and its default)
 * @param requestTimeout a request's whole life, queueing included; generation stops when it runs out
 * @param instancesPerModel sequences in flight per model, advanced together in one batched step (each its own
 *     KV cache over shared weights)
 * @param maxQueue requests waiting per model beyond the running ones (503 above)
 * @param runsDir training runs shown at {@code /runs}, or null
 * @param maxViewTokens longest prompt the attention view accepts
 */
public record ServeOptions(
        String host,
        int port,
        String apiKey,
        String corsOrigin,
        int maxBodyBytes,
        int maxTokens,
        Duration requestTimeout,
        int instancesPerModel,
        int maxQueue,
        Path runsDir,
        int maxViewTokens) {

    public static ServeOptions defaults() {
        return new ServeOptions("127.0.0.1", 8080, null, null, 1 << 20, 512, Duration.ofSeconds(120),
                8, 256, null, 64);
    }

    public ServeOptions {
        if (host == null || host.isBlank()) host = "127.0.0.1";
        if (port < 0 || port > 65535) throw new JgptException("--port must be in [0, 65535] (got " + port + ")");
        if (apiKey != null && apiKey.isBlank()) apiKey = null;
        if (maxBodyBytes < 1024) throw new JgptException("--max-body must be at least 1024 bytes (got " + maxBodyBytes + ")");
        if (maxTokens < 1) throw new JgptException("--max-tokens must be at least 1 (got " + maxTokens + ")");
        if (requestTimeout == null || requestTimeout.isNegative() || requestTimeout.isZero()) {
            throw new JgptException("--timeout must be positive");
        }
        if (instancesPerModel < 1 || instancesPerModel > 256) {
            throw new JgptException("--instances must be in [1, 256] (got " + instancesPerModel + ")");
        }
        if (maxQueue < 0) throw new JgptException("--queue must be >= 0 (got " + maxQueue + ")");
        if (maxViewTokens < 1) throw new JgptException("max view tokens must be positive");
    }

    public ServeOptions withPort(int p) { return new ServeOptions(host, p, apiKey, corsOrigin, maxBodyBytes, maxTokens, requestTimeout, instancesPerModel, maxQueue, runsDir, maxViewTokens); }
    public ServeOptions withHost(String h) { return new ServeOptions(h, port, apiKey, corsOrigin, maxBodyBytes, maxTokens, requestTimeout, instancesPerModel, maxQueue, runsDir, maxViewTokens); }
    public ServeOptions withApiKey(String k) { return new ServeOptions(host, port, k, corsOrigin, maxBodyBytes, maxTokens, requestTimeout, instancesPerModel, maxQueue, runsDir, maxViewTokens); }
    public ServeOptions withCorsOrigin(String o) { return new ServeOptions(host, port, apiKey, o, maxBodyBytes, maxTokens, requestTimeout, instancesPerModel, maxQueue, runsDir, maxViewTokens); }
    public ServeOptions withMaxBodyBytes(int b) { return new ServeOptions(host, port, apiKey, corsOrigin, b, maxTokens, requestTimeout, instancesPerModel, maxQueue, runsDir, maxViewTokens); }
    public ServeOptions withMaxTokens(int t) { return new ServeOptions(host, port, apiKey, corsOrigin, maxBodyBytes, t, requestTimeout, instancesPerModel, maxQueue, runsDir, maxViewTokens); }
    public ServeOptions withRequestTimeout(Duration d) { return new ServeOptions(host, port, apiKey, corsOrigin, maxBodyBytes, maxTokens, d, instancesPerModel, maxQueue, runsDir, maxViewTokens); }
    public ServeOptions withInstancesPerModel(int n) { return new ServeOptions(host, port, apiKey, corsOrigin, maxBodyBytes, maxTokens, requestTimeout, n, maxQueue, runsDir, maxViewTokens); }
    public ServeOptions withMaxQueue(int q) { return new ServeOptions(host, port, apiKey, corsOrigin, maxBodyBytes, maxTokens, requestTimeout, instancesPerModel, q, runsDir, maxViewTokens); }
    public ServeOptions withRunsDir(Path d) { return new ServeOptions(host, port, apiKey, corsOrigin, maxBodyBytes, maxTokens, requestTimeout, instancesPerModel, maxQueue, d, maxViewTokens); }

    /**
     * Refuses to serve a non-loopback address without an API key: a model server open to the
     * network must at least ask who is calling.
     */
    public void checkExposure() {
        if (apiKey != null) return;
        try {
            for (InetAddress a : InetAddress.getAllByName(host)) {
                if (!a.isLoopbackAddress()) {
                    throw new JgptException("--host " + host + " is not a loopback address: set --api-key (or JGPT_API_KEY)"
                            + " so that only clients with the key can use the server");
                }
            }
        } catch (UnknownHostException e) {
            throw new JgptException("--host " + host + ": unknown host");
        }
    }
}
