package io.llamba.engine.chat;

import io.llamba.engine.json.Json;
import io.llamba.engine.json.JsonException;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A function the model may call: its name, what it does, and its parameters as a JSON Schema
 * (JSON text, as Spring AI and the OpenAI API carry it).
 */
public record ToolDefinition(String name, String description, String parametersSchema) {
    public ToolDefinition {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("a tool needs a name");
        }
        description = description == null ? "" : description;
        parametersSchema = parametersSchema == null || parametersSchema.isBlank() ? "{\"type\": \"object\", \"properties\": {}}" : parametersSchema;
    }

    /** The OpenAI-style {@code {"type": "function", "function": {...}}} object the prompt lists. */
    public Map<String, Object> toJsonObject() {
        Object params;
        try {
            params = Json.parse(parametersSchema, "parameters of tool " + name);
        } catch (JsonException e) {
            throw new IllegalArgumentException("tool " + name + ": parameters are not valid JSON: " + e.getMessage(), e);
        }
        Map<String, Object> fn = new LinkedHashMap<>();
        fn.put("name", name);
        fn.put("description", description);
        fn.put("parameters", params);
        Map<String, Object> tool = new LinkedHashMap<>();
        tool.put("type", "function");
        tool.put("function", fn);
        return tool;
    }
}
