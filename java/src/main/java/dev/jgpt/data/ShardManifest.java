package dev.jgpt.data;

import dev.jgpt.io.AtomicFiles;
import dev.jgpt.JgptException;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.PropertyNamingStrategies;
import tools.jackson.databind.SerializationFeature;
import tools.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * {@code manifest.json} beside the shards: which shard files make each split, their token counts and
 * SHA-256, the tokenizer they were made with (file name, SHA-256, vocabulary size, end-of-text id) and
 * the checksums of the prepared text they came from ({@code sources}) and of the inputs that
 * {@code jgpt data prepare} read ({@code prepared_from}). See docs/data.md.
 */
public record ShardManifest(String format, int formatVersion, TokenizerInfo tokenizer, int shardVersion,
                            Map<String, Split> splits, List<Source> sources,
                            List<Source> preparedFrom, String created) {

    public static final String FILE_NAME = "manifest.json";
    public static final String FORMAT = "jgpt-token-shards";

    /**
     * The tokenizer: its file, the file's SHA-256, vocabulary size, the id before each document, and
     * {@code vocabSha256} ({@link dev.jgpt.tokenizer.Tokenizer#vocabularySha256}: what each id stands for; null in
     * manifests written before it).
     */
    public record TokenizerInfo(String file, String sha256, int vocabSize, int eotId, String vocabSha256) {
        public TokenizerInfo(String file, String sha256, int vocabSize, int eotId) {
            this(file, sha256, vocabSize, eotId, null);
        }
    }

    public record Split(long tokens, long documents, List<Shard> shards) {}

    public record Shard(String file, long tokens, String sha256) {}

    public record Source(String file, long bytes, String sha256) {}

    static final JsonMapper JSON = JsonMapper.builder()
            .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(SerializationFeature.INDENT_OUTPUT)
            .build();

    public static ShardManifest read(Path file) {
        try {
            ShardManifest m = JSON.readValue(Files.readString(file), ShardManifest.class);
            if (!FORMAT.equals(m.format()) || m.splits() == null) {
                throw new JgptException(file + ": not a jgpt shard manifest (format '" + m.format() + "')");
            }
            return m;
        } catch (NoSuchFileException e) {
            throw new JgptException(file + ": manifest not found");
        } catch (IOException e) {
            throw new JgptException(file + ": cannot read manifest: " + e.getMessage());
        } catch (JacksonException e) {
            throw new JgptException(file + ": invalid manifest JSON: " + e.getOriginalMessage());
        }
    }

    public void write(Path file) {
        AtomicFiles.writeString(file, JSON.writeValueAsString(this) + "\n");
    }
}
