package io.llamba.spring.ai;

import io.llamba.engine.generate.InvalidRequestException;
import io.llamba.engine.sampling.SamplingParams;
import org.junit.jupiter.api.Test;
import org.springframework.ai.chat.prompt.ChatOptions;
import org.springframework.ai.model.tool.ToolCallingChatOptions;
import org.springframework.ai.tool.ToolCallback;
import org.springframework.ai.tool.function.FunctionToolCallback;

import java.util.List;
import java.util.Map;
import java.util.function.Function;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class LlambaChatOptionsTest {
    static ToolCallback tool(String name) {
        record In(String x) {
        }
        Function<In, String> fn = in -> "ok";
        return FunctionToolCallback.builder(name, fn).description(name).inputType(In.class).build();
    }

    static LlambaChatOptions full() {
        return LlambaChatOptions.builder().model("m").temperature(0.3).topP(0.8).topK(40).minP(0.05).maxTokens(12)
                .stopSequences(List.of("END")).seed(42L).frequencyPenalty(0.1).presencePenalty(0.2).repetitionPenalty(1.1)
                .toolCallbacks(tool("a")).toolContext(Map.of("user", "u1")).build();
    }

    @Test
    void mutateCopiesEveryValue() {
        LlambaChatOptions o = full();
        LlambaChatOptions copy = o.mutate().build();
        assertThat(copy).isEqualTo(o).hasSameHashCodeAs(o).isNotSameAs(o);
        assertThat(copy.getMinP()).isEqualTo(0.05);
        assertThat(copy.getSeed()).isEqualTo(42L);
        assertThat(copy.getRepetitionPenalty()).isEqualTo(1.1);
        assertThat(copy.getToolContext()).containsEntry("user", "u1");
        assertThat(o.mutate().temperature(0.9).build()).isNotEqualTo(o);
        // The narrowed mutate() of ToolCallingChatOptions returns our builder.
        ToolCallingChatOptions.Builder<?> generic = ((ToolCallingChatOptions) o).mutate();
        assertThat(generic.build()).isEqualTo(o);
    }

    @Test
    void combineWithTakesTheOthersSetValuesAndKeepsTheRest() {
        LlambaChatOptions base = full();
        LlambaChatOptions over = LlambaChatOptions.builder().temperature(0.0).seed(7L).minP(0.2).stopSequences(List.of("STOP"))
                .toolCallbacks(tool("b")).build();

        LlambaChatOptions merged = base.mutate().combineWith(over.mutate()).build();

        assertThat(merged.getTemperature()).isEqualTo(0.0);
        assertThat(merged.getSeed()).isEqualTo(7L);
        assertThat(merged.getMinP()).isEqualTo(0.2);
        assertThat(merged.getTopK()).isEqualTo(40);
        assertThat(merged.getRepetitionPenalty()).isEqualTo(1.1);
        assertThat(merged.getStopSequences()).containsExactly("END", "STOP");
        assertThat(merged.getToolCallbacks()).extracting(t -> t.getToolDefinition().name()).containsExactly("a", "b");
        // Portable options combine too.
        LlambaChatOptions portable = base.mutate().combineWith(ChatOptions.builder().maxTokens(3).build().mutate()).build();
        assertThat(portable.getMaxTokens()).isEqualTo(3);
        assertThat(portable.getSeed()).isEqualTo(42L);
    }

    @Test
    void fromCarriesPortableOptionsOver() {
        LlambaChatOptions o = LlambaChatOptions.from(ChatOptions.builder().model("x").temperature(0.5).topK(3).build());
        assertThat(o.getModel()).isEqualTo("x");
        assertThat(o.getTemperature()).isEqualTo(0.5);
        assertThat(o.getTopK()).isEqualTo(3);
        assertThat(o.getMinP()).isNull();
        LlambaChatOptions same = full();
        assertThat(LlambaChatOptions.from(same)).isSameAs(same);
        assertThat(LlambaChatOptions.from(null)).isEqualTo(LlambaChatOptions.builder().build());
    }

    @Test
    void withDefaultsFillsUnsetValuesWithoutRepeatingLists() {
        LlambaChatOptions defaults = full();
        LlambaChatOptions request = LlambaChatOptions.builder().temperature(1.0).stopSequences(List.of("X")).build();

        LlambaChatOptions effective = request.withDefaults(defaults);

        assertThat(effective.getTemperature()).isEqualTo(1.0);
        assertThat(effective.getTopP()).isEqualTo(0.8);
        assertThat(effective.getStopSequences()).containsExactly("X");
        assertThat(effective.getToolCallbacks()).hasSize(1);
        assertThat(LlambaChatOptions.builder().build().withDefaults(defaults)).isEqualTo(defaults);
    }

    @Test
    void samplingParamsFollowTheOptionsAndNameABadOne() {
        assertThat(LlambaChatOptions.builder().build().toSamplingParams()).isEqualTo(SamplingParams.GREEDY);
        SamplingParams p = full().toSamplingParams();
        assertThat(p).isEqualTo(new SamplingParams(0.3, 40, 0.8, 0.05, 1.1, 0.2, 0.1, 42L));
        assertThatThrownBy(() -> LlambaChatOptions.builder().topP(0.0).build().toSamplingParams())
                .isInstanceOfSatisfying(InvalidRequestException.class, e -> assertThat(e.field()).isEqualTo("top_p"));
        assertThatThrownBy(() -> LlambaChatOptions.builder().presencePenalty(3.0).build().toSamplingParams())
                .isInstanceOfSatisfying(InvalidRequestException.class, e -> assertThat(e.field()).isEqualTo("presence_penalty"));
    }
}
