package io.llamba.service.api;

import org.springframework.ai.tool.ToolCallback;
import org.springframework.ai.tool.definition.ToolDefinition;

/**
 * A tool an API client offers: only its definition, to be written into the prompt. The client runs
 * its tools itself (the reply carries the calls), so this one can never be executed here; the
 * Llamba ChatModel never executes tools, and nothing in this service asks for it.
 */
public record ClientTool(ToolDefinition definition) implements ToolCallback {
    @Override
    public ToolDefinition getToolDefinition() {
        return definition;
    }

    @Override
    public String call(String toolInput) {
        throw new UnsupportedOperationException("tool '" + definition.name() + "' belongs to the API client, which runs it;"
                + " the service only returns the call");
    }
}
