package dev.jgpt.data;

/**
 * One document as read from an input, before normalisation. {@code source} names where it came
 * from ({@code path} or {@code path:line}); {@code splitKey} is the same without the directories
 * ({@code name} or {@code name:line}): the unit of the train/validation split, so the split does
 * not change when the same files are named by another path. {@code text} is null when the bytes
 * were not valid UTF-8 (the document is then filtered as bad encoding).
 */
public record RawDocument(String source, String splitKey, String text, long bytes) {}
