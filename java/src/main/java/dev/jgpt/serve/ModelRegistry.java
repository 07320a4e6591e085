package dev.jgpt.serve;

import dev.jgpt.JgptException;
import dev.jgpt.generate.LoadedModel;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The models a server knows, by name. Requests name a model; the name is only ever a key of this
 * map, never part of a path, so no request can make the server open a file it was not started with.
 */
public final class ModelRegistry implements AutoCloseable {

    /** Names a model may have: letters, digits and {@code . _ - @ /}, not starting with a symbol. */
    static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._@/-]{0,127}");

    /** Most models loaded on demand (the dashboard's "chat with this checkpoint"). */
    static final int MAX_ON_DEMAND = 4;

    private final Map<String, ServedModel> models = new ConcurrentHashMap<>();
    private final List<String> onDemand = new ArrayList<>();
    private final ModelSource loader;
    private final int instances;
    private final int maxQueue;
    private final String chatFormat;

    public ModelRegistry(ModelSource loader, int instances, int maxQueue) {
        this(loader, instances, maxQueue, null);
    }

    /** {@code chatFormat}: the chat format of every model served ({@code --chat-format}), or null for each model's own. */
    public ModelRegistry(ModelSource loader, int instances, int maxQueue, String chatFormat) {
        this.loader = loader;
        this.instances = instances;
        this.maxQueue = maxQueue;
        this.chatFormat = chatFormat;
    }

    /** Serves an already loaded model under {@code name}. */
    public ServedModel add(String name, LoadedModel model) {
        return add(name, model, null);
    }

    /** Serves {@code model} under {@code name}; {@code owner} (or null) is closed after it. */
    public ServedModel add(String name, LoadedModel model, AutoCloseable owner) {
        if (!NAME.matcher(name).matches()) {
            model.close();
            closeQuietly(owner);
            throw new JgptException("model name '" + name + "': use letters, digits and . _ - @ / (at most 128)");
        }
        ServedModel served = new ServedModel(name, model, owner, instances, maxQueue, chatFormat);
        if (models.putIfAbsent(name, served) != null) {
            served.close();
            throw new JgptException("two models are called '" + name + "'; each --model needs a distinct directory name");
        }
        return served;
    }

    /** Loads {@code path} (any model {@code jgpt generate} accepts) under the name of its last path element. */
    public ServedModel load(Path path) {
        ModelSource.Opened o = loader.open(path);
        return add(nameOf(path), o.model(), o.owner());
    }

    /**
     * Loads every model directly under {@code dir} (each subdirectory, and each {@code .safetensors}
     * file): what fails to load is reported on {@code log} and skipped.
     *
     * @return how many loaded
     */
    public int loadAll(Path dir, PrintStream log) {
        if (!Files.isDirectory(dir)) throw new JgptException("--models " + dir + ": not a directory");
        List<Path> entries;
        try (Stream<Path> s = Files.list(dir)) {
            entries = s.filter(p -> Files.isDirectory(p) || p.getFileName().toString().endsWith(".safetensors")
                            || p.getFileName().toString().endsWith(".gguf"))
                    .sorted().toList();
        } catch (IOException e) {
            throw new JgptException("--models " + dir + ": cannot list: " + e.getMessage(), e);
        }
        int n = 0;
        for (Path p : entries) {
            try {
                load(p);
                n++;
            } catch (JgptException e) {
                log.println("skipping " + p + ": " + e.getMessage());
            }
        }
        return n;
    }

    /**
     * A model loaded on request (a run's checkpoint from the dashboard) under {@code name}; loads it
     * once, later calls return the same. The path comes from the server's own listing, never from
     * the request. The oldest on-demand model is unloaded beyond {@link #MAX_ON_DEMAND}.
     */
    public synchronized ServedModel loadOnDemand(String name, Path path) {
        ServedModel m = models.get(name);
        if (m != null) return m;
        ModelSource.Opened o = loader.open(path);
        m = add(name, o.model(), o.owner());
        onDemand.add(name);
        if (onDemand.size() > MAX_ON_DEMAND) {
            ServedModel old = models.remove(onDemand.removeFirst());
            if (old != null) old.close();
        }
        return m;
    }

    /** @throws ApiException 404 naming the model and the ones there are */
    public ServedModel get(String name) {
        ServedModel m = name == null ? null : models.get(name);
        if (m == null) {
            throw ApiException.notFound("model_not_found", "The model '" + name + "' does not exist; models: "
                    + String.join(", ", names()));
        }
        return m;
    }

    public List<String> names() {
        return models.keySet().stream().sorted().toList();
    }

    public Collection<ServedModel> all() {
        return models.values().stream().sorted((a, b) -> a.name().compareTo(b.name())).toList();
    }

    private static void closeQuietly(AutoCloseable c) {
        if (c == null) return;
        try {
            c.close();
        } catch (Exception ignored) {
            // already failing with a clearer message
        }
    }

    static String nameOf(Path path) {
        Path f = path.toAbsolutePath().normalize().getFileName();
        String n = f == null ? "model" : f.toString();
        if (n.endsWith(".safetensors")) n = n.substring(0, n.length() - ".safetensors".length());
        else if (n.endsWith(".bin")) n = n.substring(0, n.length() - ".bin".length()); // a llama2.c checkpoint
        else if (n.endsWith(".gguf")) n = n.substring(0, n.length() - ".gguf".length());
        n = n.replaceAll("[^A-Za-z0-9._@/-]", "-");
        if (n.isEmpty() || !Character.isLetterOrDigit(n.charAt(0))) n = "m" + n;
        return n.length() > 128 ? n.substring(0, 128) : n;
    }

    @Override
    public void close() {
        for (ServedModel m : models.values()) m.close();
        models.clear();
    }
}
