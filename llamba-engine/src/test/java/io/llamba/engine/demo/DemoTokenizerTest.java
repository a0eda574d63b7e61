package io.llamba.engine.demo;

import io.llamba.engine.json.JsonObject;
import io.llamba.engine.tokenizer.Tokenizer;
import io.llamba.engine.tokenizer.Tokenizers;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The demo tokenizer (trained by tools/demo-model/bpe.py) in the Java engine: the same ids as Python. */
class DemoTokenizerTest {
    static final Tokenizer TOKENIZER = DemoSamples.tokenizer();

    @Test
    void encodesLikeThePythonTrainer() {
        List<JsonObject> items = DemoSamples.read("tokenizer-sample.json").getObjectList("items");
        assertThat(items).hasSizeGreaterThan(250);
        for (JsonObject item : items) {
            String text = item.getString("text");
            assertThat(TOKENIZER.encode(text)).as("ids of %s", item.getString("text")).containsExactly(DemoSamples.ints(item.getArray("ids")));
        }
    }

    @Test
    void decodesBackToTheText() {
        for (JsonObject item : DemoSamples.read("tokenizer-sample.json").getObjectList("items")) {
            String text = item.getString("text");
            assertThat(TOKENIZER.decode(TOKENIZER.encode(text))).isEqualTo(text);
        }
    }

    @Test
    void hasTheLlama3SpecialTokensAtTheEnd() {
        List<String> names = Tokenizers.llama3SpecialTokens();
        assertThat(TOKENIZER.vocabSize()).isEqualTo(1024 + 256);
        for (int i = 0; i < names.size(); i++) {
            assertThat(TOKENIZER.specialId(names.get(i))).as(names.get(i)).hasValue(1024 + i);
        }
        assertThat(TOKENIZER.endOfTurn()).isEqualTo(1024 + 9);
        assertThat(TOKENIZER.beginOfText()).isEqualTo(1024);
    }

    @Test
    void writesNumbersDigitByDigit() {
        // The trainer never merges digits, so arithmetic is digit-wise for the model.
        int[] ids = TOKENIZER.encode("1234567890");
        assertThat(ids).hasSize(10);
        assertThat(TOKENIZER.decode(new int[] {ids[0]})).isEqualTo("1");
    }
}
