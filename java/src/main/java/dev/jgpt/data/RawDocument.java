package dev.jgpt.data;

/**
 * One document as read from an input, before normalisation. {@code source} names where it came
 * from ({@code file} or {@code file:line}) and is the unit of the train/validation split; {@code
 * text} is null when the bytes were not valid UTF-8 (the document is then filtered as bad encoding).
 */
public record RawDocument(String source, String text, long bytes) {}
