package io.llamba.engine.demo;

import io.llamba.engine.chat.ToolCall;
import io.llamba.engine.chat.ToolDefinition;
import io.llamba.engine.json.JsonObject;
import io.llamba.engine.tokenizer.ChatTemplate;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The Java prompt generator and checker against the Python data generator (tools/demo-model/tasks.py):
 * same prompts for the same seed, rendered with the tools and the chat template to the same ids.
 */
class DemoTasksTest {
    static final DemoTasks TASKS = DemoTasks.load();
    static final ChatTemplate TEMPLATE = new ChatTemplate(DemoSamples.tokenizer());

    @Test
    void generatesThePromptsOfThePythonGenerator() {
        int compared = 0;
        for (JsonObject set : DemoSamples.read("tasks-sample.json").getObjectList("sets")) {
            List<DemoItem> items = TASKS.evalItems(set.getInt("n"), set.getLong("seed"));
            List<JsonObject> want = set.getObjectList("items");
            assertThat(items).hasSize(want.size());
            for (int i = 0; i < items.size(); i++) {
                DemoItem got = items.get(i);
                JsonObject w = want.get(i);
                String where = "seed " + set.getLong("seed") + " item " + i;
                assertThat(got.family()).as(where).isEqualTo(w.getString("family"));
                assertThat(got.key()).as(where).isEqualTo(w.getString("key"));
                assertThat(got.system()).as(where).isEqualTo(w.getString("system"));
                assertThat(got.user()).as(where).isEqualTo(w.getString("user"));
                assertThat(got.answer()).as(where).isEqualTo(w.getString("answer"));
                assertThat(got.tools()).as(where).containsExactlyElementsOf(w.getObjectList("tools").stream()
                        .map(t -> new ToolDefinition(t.getString("name"), t.getString("description"), t.getString("parameters"))).toList());
                assertThat(TEMPLATE.encode(got.firstTurn(), true)).as(where + " first turn ids")
                        .containsExactly(DemoSamples.ints(w.getArray("first_ids")));
                if (got.isToolCall()) {
                    assertThat(got.city()).as(where).isEqualTo(w.getString("city"));
                    assertThat(got.toolResult()).as(where).isEqualTo(w.getString("tool_result"));
                    assertThat(TEMPLATE.encode(got.secondTurn(List.of(got.expectedCall())), true)).as(where + " second turn ids")
                            .containsExactly(DemoSamples.ints(w.getArray("second_ids")));
                } else {
                    assertThat(w.has("city")).isFalse();
                }
                compared++;
            }
        }
        assertThat(compared).isEqualTo(40);
    }

    @Test
    void evaluationItemsAreHeldOutAndFamiliesTakeTurns() {
        List<DemoItem> items = TASKS.evalItems(500, 42);
        Map<String, Integer> perFamily = new HashMap<>();
        for (int i = 0; i < items.size(); i++) {
            DemoItem item = items.get(i);
            assertThat(item.family()).isEqualTo(DemoTasks.FAMILIES.get(i % 5));
            assertThat(TASKS.isHeldout(item.key())).as(item.key()).isTrue();
            perFamily.merge(item.family(), 1, Integer::sum);
        }
        assertThat(perFamily).containsOnlyKeys(DemoTasks.FAMILIES).allSatisfy((f, n) -> assertThat(n).isEqualTo(100));
        assertThat(TASKS.heldoutCities()).hasSizeGreaterThan(20).allSatisfy(c -> assertThat(TASKS.isHeldout("weather:" + c)).isTrue());
        assertThat(TASKS.evalItems(50, 42)).isEqualTo(items.subList(0, 50));
        assertThat(TASKS.evalItems(50, 43)).isNotEqualTo(items.subList(0, 50));
    }

    @Test
    void checksReplies() {
        DemoItem sum = TASKS.evalItems(1, 0).getFirst();
        assertThat(sum.family()).isEqualTo("arithmetic");
        assertThat(sum.checkAnswer(" " + sum.answer() + "\n")).isTrue();
        assertThat(sum.checkAnswer(sum.answer().replace("=", "is"))).isFalse();
        assertThat(sum.checkAnswer("")).isFalse();

        DemoItem weather = TASKS.evalItems(5, 0).get(4);
        assertThat(weather.isToolCall()).isTrue();
        String call = "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"" + weather.city() + "\"}}";
        assertThat(weather.checkCall(call)).hasValue(List.of(new ToolCall("get_weather", "{\"city\":\"" + weather.city() + "\"}")));
        assertThat(weather.checkCall("<|python_tag|>" + call)).isPresent();
        assertThat(weather.checkCall(call.replace(weather.city(), "Atlantis"))).isEmpty();
        assertThat(weather.checkCall(call.replace("get_weather", "get_time"))).isEmpty();
        assertThat(weather.checkCall(call + "\n" + call)).as("two calls").isEmpty();
        assertThat(weather.checkCall("It is sunny.")).isEmpty();
        assertThat(weather.checkCall("{\"name\": \"get_weather\", \"parameters\": {\"city\": ")).isEmpty();
        assertThat(weather.checkAnswer(weather.answer())).isTrue();
        assertThat(weather.answer()).contains(weather.city()).startsWith("It is ");
    }

    @Test
    void fillsPlaceholders() {
        assertThat(DemoTasks.fill("{a} {op} {b} = ?", "a", 7, "op", '+', "b", 35)).isEqualTo("7 + 35 = ?");
    }

    @Test
    void rejectsUnknownFamilies() {
        assertThatThrownBy(() -> TASKS.item("poetry", DemoTasks.itemRng(0, 0)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("poetry");
    }
}
