package dev.jgpt.data;

import java.util.List;

/**
 * What {@code jgpt data prepare} did, written as {@code report.json} and printed: inputs with their
 * checksums, documents in and out of each stage, duplicates removed, the split, the settings.
 */
public record PrepareReport(List<DocumentReader.InputFile> inputs, long documentsIn, long bytesIn,
                            List<Stage> stages, long exactDuplicates, long nearDuplicates, long documentsOut,
                            SplitInfo train, SplitInfo val, Settings settings, List<String> notes, double seconds) {

    public static final String FILE_NAME = "report.json";

    /** One stage of the pipeline: how many documents it removed and how many remain after it. */
    public record Stage(String stage, long removed, long documentsOut) {}

    public record SplitInfo(long documents, long bytes, List<String> files) {}

    public record Settings(QualityFilter.Config quality, boolean exactDedup, boolean nearDedup, double nearThreshold,
                           int shingleWords, int minhashPerms, int lshBands, int lshRows, double valFraction, long seed) {}

    public String toJson() {
        return ShardManifest.JSON.writeValueAsString(this);
    }

    public static PrepareReport read(java.nio.file.Path file) {
        try {
            return ShardManifest.JSON.readValue(java.nio.file.Files.readString(file), PrepareReport.class);
        } catch (java.io.IOException | tools.jackson.core.JacksonException e) {
            throw new dev.jgpt.JgptException(file + ": cannot read prepare report: " + e.getMessage());
        }
    }
}
