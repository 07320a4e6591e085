package dev.jgpt.serve;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * Sends every client's request at once, in rounds, until the served model has made at least one batched step:
 * whether the streams overlap is up to the machine (a loaded one can serve them one after another), so every
 * round's answers are checked and up to 5 rounds are tried to see one batch.
 */
final class ConcurrentClients {
    /** The answer client {@code i} gets (one request, on the caller's HTTP client). */
    interface Request {
        String send(int client) throws Exception;
    }

    /** Checks client {@code i}'s answer of a concurrent round. */
    interface Check {
        void accept(int client, String answer);
    }

    private ConcurrentClients() {}

    static void untilBatched(ServedModel served, int clients, Request request, Check check) throws Exception {
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int round = 0; round < 5 && served.meanBatch() <= 1.0; round++) {
                List<Future<String>> together = new ArrayList<>();
                for (int i = 0; i < clients; i++) {
                    int k = i;
                    together.add(pool.submit((Callable<String>) () -> request.send(k)));
                }
                for (int i = 0; i < clients; i++) check.accept(i, together.get(i).get(90, TimeUnit.SECONDS));
            }
        }
        assertThat(served.meanBatch()).as("sequences per decode step").isGreaterThan(1.0);
    }
}
