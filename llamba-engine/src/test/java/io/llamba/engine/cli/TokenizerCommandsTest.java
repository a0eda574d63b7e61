package io.llamba.engine.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class TokenizerCommandsTest {
    private record Result(int status, String out, String err) {
    }

    private static Result tokenize(String stdin, String... args) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
        PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8);
        TokenizeCommand cmd = new TokenizeCommand(new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)));
        int status;
        try {
            status = cmd.run(Options.parse(args, Main.FLAGS), o, e);
        } catch (Exception ex) {
            e.println(Main.messageOf(ex));
            status = 1;
        }
        return new Result(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void tokenizesJsonLines() throws Exception {
        Result r = tokenize("{\"text\": \"Hello, world!\"}\n\n{\"text\": \"a<|eot_id|>\", \"id\": 7}\n{\"text\": \"\"}\n");
        assertEquals(0, r.status(), r.err());
        assertEquals("{\"ids\":[9906,11,1917,0]}\n{\"ids\":[64,27,91,68,354,851,91,29]}\n{\"ids\":[]}\n", r.out());
        Result special = tokenize("{\"text\": \"a<|eot_id|>\"}", "--allow-special");
        assertEquals("{\"ids\":[64,128009]}\n", special.out());
    }

    @Test
    void badLineIsNamed() throws Exception {
        Result r = tokenize("{\"text\": \"ok\"}\n{\"txt\": \"no\"}\n");
        assertEquals(1, r.status());
        assertEquals("{\"ids\":[564]}\n", r.out());
        assertTrue(r.err().contains("stdin line 2: missing field text"), r.err());
        r = tokenize("{\"text\": 5}\n");
        assertTrue(r.err().contains("stdin line 1: field text: expected a string"), r.err());
        r = tokenize("not json\n");
        assertTrue(r.err().contains("stdin line 1: invalid JSON"), r.err());
    }

    @Test
    void helpAndBenchmark() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
        assertEquals(0, Main.run(new String[] {"tokenize", "--help"}, o, o));
        assertTrue(out.toString(StandardCharsets.UTF_8).contains("--allow-special"));
        out.reset();
        assertEquals(0, Main.run(new String[] {"bench-tokenizer", "--mb", "0.05"}, o, o));
        String text = out.toString(StandardCharsets.UTF_8);
        assertTrue(text.contains("encode") && text.contains("MB/s") && text.contains("decode"), text);
        out.reset();
        assertEquals(2, Main.run(new String[] {"bench-tokenizer", "--mbs", "1"}, o, o));
        assertTrue(out.toString(StandardCharsets.UTF_8).contains("unknown option --mbs"));
    }
}
