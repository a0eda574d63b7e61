package io.llamba.engine.chat;

/** A call the model asked for: the function's name and its arguments as a JSON object text. */
public record ToolCall(String name, String arguments) {
}
