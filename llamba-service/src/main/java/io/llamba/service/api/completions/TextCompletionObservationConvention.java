package io.llamba.service.api.completions;

import io.micrometer.common.KeyValue;
import org.springframework.ai.chat.observation.ChatModelObservationContext;
import org.springframework.ai.chat.observation.ChatModelObservationDocumentation;
import org.springframework.ai.chat.observation.DefaultChatModelObservationConvention;

/**
 * Spring AI's chat-model observation conventions for a text completion (a raw prompt, no chat
 * template): the same {@code gen_ai.client.operation} name, keys and token-usage meter, with
 * {@code gen_ai.operation.name=text_completion} as OpenTelemetry's GenAI conventions name it.
 */
final class TextCompletionObservationConvention extends DefaultChatModelObservationConvention {
    static final String OPERATION = "text_completion";

    @Override
    protected KeyValue aiOperationType(ChatModelObservationContext context) {
        return KeyValue.of(ChatModelObservationDocumentation.LowCardinalityKeyNames.AI_OPERATION_TYPE, OPERATION);
    }

    @Override
    public String getContextualName(ChatModelObservationContext context) {
        String model = context.getRequest().getOptions() == null ? null : context.getRequest().getOptions().getModel();
        return model == null ? OPERATION : OPERATION + " " + model;
    }
}
