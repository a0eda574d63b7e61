package io.llamba.engine.cli;

import io.llamba.engine.json.Json;
import io.llamba.engine.json.JsonObject;
import io.llamba.engine.tokenizer.Tokenizer;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/** {@code tokenize}: JSON lines of text on stdin to JSON lines of token ids on stdout. */
public final class TokenizeCommand implements Command {
    private final InputStream in;

    public TokenizeCommand() {
        this(System.in);
    }

    TokenizeCommand(InputStream in) {
        this.in = in;
    }

    @Override
    public String name() {
        return "tokenize";
    }

    @Override
    public String summary() {
        return "encode JSON lines {\"text\": ...} from stdin to {\"ids\": [...]} on stdout";
    }

    @Override
    public String help() {
        return """
                Usage: tokenize [--tokenizer FILE] [--allow-special] < texts.jsonl

                Reads one JSON object per line from standard input, each with a string field "text",
                and writes one line {"ids": [...]} per input line to standard output, in order.
                No <|begin_of_text|> is added. Blank input lines are skipped.

                Options:
                %s
                  --allow-special    recognise special-token text such as <|eot_id|> as special tokens;
                                     without it, such text is encoded as plain text (the safe choice
                                     for user input)
                  --help             show this text

                A line that is not a JSON object with a string "text" stops the command with exit
                status 1 and a message naming the line; lines before it have been written.

                Example:
                  echo '{"text": "Hello, world!"}' | java --add-modules jdk.incubator.vector -jar llamba-engine.jar tokenize
                  {"ids":[9906,11,1917,0]}""".formatted(TokenizerOption.HELP);
    }

    @Override
    public int run(Options options, PrintStream out, PrintStream err) throws Exception {
        boolean allowSpecial = options.flag("allow-special");
        Tokenizer tokenizer = TokenizerOption.load(options, err);
        options.checkAllUsed();
        BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8), 1 << 16);
        StringBuilder sb = new StringBuilder();
        String line;
        int lineNo = 0;
        try {
            while ((line = reader.readLine()) != null) {
                lineNo++;
                if (line.isBlank()) {
                    continue;
                }
                JsonObject o = Json.parseObject(line, "stdin line " + lineNo);
                String text = o.getString("text");
                int[] ids = allowSpecial ? tokenizer.encodeWithSpecials(text) : tokenizer.encode(text);
                sb.setLength(0);
                sb.append("{\"ids\":");
                Json.write(ids, sb);
                out.append(sb).append('}').append('\n');
            }
        } finally {
            out.flush();
        }
        return 0;
    }
}
