package io.llamba.engine.json;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small, strict JSON (RFC 8259) reader and writer. The engine is a plain library with no
 * dependencies, and the JSON it reads (config.json, safetensors headers, tokenizer.json) is
 * ordinary, so a few hundred lines here beat pulling a JSON stack into every embedding application.
 *
 * <p>Values map to: object {@code Map<String,Object>} (insertion ordered), array {@code List<Object>},
 * string {@code String}, number {@code Long} when integral and fitting, else {@code BigInteger} or
 * {@code Double}, {@code Boolean}, and {@code null}.
 */
public final class Json {
    private final String src;
    private final String origin;
    private int pos;

    private Json(String src, String origin) {
        this.src = src;
        this.origin = origin;
    }

    /** Parses one JSON value; {@code origin} (a file name, say) prefixes every error message. */
    public static Object parse(String text, String origin) {
        Json p = new Json(text, origin);
        p.skipWs();
        Object v = p.value(0);
        p.skipWs();
        if (p.pos != text.length()) {
            throw p.error("unexpected content after the JSON value");
        }
        return v;
    }

    public static Object parse(String text) {
        return parse(text, "JSON");
    }

    /** Parses a JSON object and wraps it for typed, path-aware access. */
    public static JsonObject parseObject(String text, String origin) {
        Object v = parse(text, origin);
        if (!(v instanceof Map<?, ?>)) {
            throw new JsonException(origin + ": expected a JSON object at the top level");
        }
        return JsonObject.wrap(v, origin, "");
    }

    private static final int MAX_DEPTH = 512;

    private Object value(int depth) {
        if (depth > MAX_DEPTH) {
            throw error("nesting deeper than " + MAX_DEPTH);
        }
        if (pos >= src.length()) {
            throw error("unexpected end of input");
        }
        char c = src.charAt(pos);
        return switch (c) {
            case '{' -> object(depth);
            case '[' -> array(depth);
            case '"' -> string();
            case 't' -> literal("true", Boolean.TRUE);
            case 'f' -> literal("false", Boolean.FALSE);
            case 'n' -> literal("null", null);
            default -> {
                if (c == '-' || (c >= '0' && c <= '9')) {
                    yield number();
                }
                throw error("unexpected character '" + printable(c) + "'");
            }
        };
    }

    private Map<String, Object> object(int depth) {
        pos++; // {
        Map<String, Object> map = new LinkedHashMap<>();
        skipWs();
        if (peek() == '}') {
            pos++;
            return map;
        }
        while (true) {
            skipWs();
            if (peek() != '"') {
                throw error("expected a string key");
            }
            String key = string();
            skipWs();
            expect(':');
            skipWs();
            Object v = value(depth + 1);
            if (map.containsKey(key)) {
                throw error("duplicate key \"" + key + "\"");
            }
            map.put(key, v);
            skipWs();
            char c = peek();
            pos++;
            if (c == '}') {
                return map;
            }
            if (c != ',') {
                pos--;
                throw error("expected ',' or '}' in an object");
            }
        }
    }

    private List<Object> array(int depth) {
        pos++; // [
        List<Object> list = new ArrayList<>();
        skipWs();
        if (peek() == ']') {
            pos++;
            return list;
        }
        while (true) {
            skipWs();
            list.add(value(depth + 1));
            skipWs();
            char c = peek();
            pos++;
            if (c == ']') {
                return list;
            }
            if (c != ',') {
                pos--;
                throw error("expected ',' or ']' in an array");
            }
        }
    }

    private String string() {
        pos++; // opening quote
        int start = pos;
        // Fast path: no escapes.
        while (pos < src.length()) {
            char c = src.charAt(pos);
            if (c == '"') {
                return src.substring(start, pos++);
            }
            if (c == '\\' || c < 0x20) {
                break;
            }
            pos++;
        }
        StringBuilder sb = new StringBuilder().append(src, start, pos);
        while (true) {
            if (pos >= src.length()) {
                throw error("unterminated string");
            }
            char c = src.charAt(pos++);
            if (c == '"') {
                return sb.toString();
            }
            if (c < 0x20) {
                pos--;
                throw error("control character in a string");
            }
            if (c != '\\') {
                sb.append(c);
                continue;
            }
            if (pos >= src.length()) {
                throw error("unterminated escape");
            }
            char e = src.charAt(pos++);
            switch (e) {
                case '"' -> sb.append('"');
                case '\\' -> sb.append('\\');
                case '/' -> sb.append('/');
                case 'b' -> sb.append('\b');
                case 'f' -> sb.append('\f');
                case 'n' -> sb.append('\n');
                case 'r' -> sb.append('\r');
                case 't' -> sb.append('\t');
                case 'u' -> {
                    if (pos + 4 > src.length()) {
                        throw error("truncated \\u escape");
                    }
                    int cp = 0;
                    for (int i = 0; i < 4; i++) {
                        int d = Character.digit(src.charAt(pos++), 16);
                        if (d < 0) {
                            pos--;
                            throw error("invalid hex digit in a \\u escape");
                        }
                        cp = cp * 16 + d;
                    }
                    sb.append((char) cp);
                }
                default -> {
                    pos--;
                    throw error("invalid escape '\\" + printable(e) + "'");
                }
            }
        }
    }

    private Object number() {
        int start = pos;
        if (peek() == '-') {
            pos++;
        }
        if (peek() == '0') {
            pos++;
        } else if (isDigit(peek())) {
            while (isDigit(peek())) {
                pos++;
            }
        } else {
            throw error("invalid number");
        }
        boolean integral = true;
        if (peek() == '.') {
            integral = false;
            pos++;
            if (!isDigit(peek())) {
                throw error("invalid number: digits expected after '.'");
            }
            while (isDigit(peek())) {
                pos++;
            }
        }
        if (peek() == 'e' || peek() == 'E') {
            integral = false;
            pos++;
            if (peek() == '+' || peek() == '-') {
                pos++;
            }
            if (!isDigit(peek())) {
                throw error("invalid number: digits expected in the exponent");
            }
            while (isDigit(peek())) {
                pos++;
            }
        }
        String s = src.substring(start, pos);
        if (integral) {
            if (s.length() < 19) {
                return Long.parseLong(s);
            }
            BigInteger big = new BigInteger(s);
            return big.bitLength() < 64 ? (Object) big.longValue() : big;
        }
        return Double.parseDouble(s);
    }

    private Object literal(String word, Object v) {
        if (!src.startsWith(word, pos)) {
            throw error("invalid literal");
        }
        pos += word.length();
        return v;
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }

    private char peek() {
        return pos < src.length() ? src.charAt(pos) : '\0';
    }

    private void expect(char c) {
        if (peek() != c) {
            throw error("expected '" + c + "'");
        }
        pos++;
    }

    private void skipWs() {
        while (pos < src.length()) {
            char c = src.charAt(pos);
            if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
                pos++;
            } else {
                return;
            }
        }
    }

    private JsonException error(String what) {
        int line = 1;
        int col = 1;
        for (int i = 0; i < Math.min(pos, src.length()); i++) {
            if (src.charAt(i) == '\n') {
                line++;
                col = 1;
            } else {
                col++;
            }
        }
        return new JsonException(origin + ": invalid JSON at line " + line + ", column " + col + ": " + what);
    }

    private static String printable(char c) {
        return c < 0x20 ? String.format("\\u%04x", (int) c) : String.valueOf(c);
    }

    // ---------------------------------------------------------------- writing

    /** Writes a value (Map, List/array, String, Number, Boolean, null) as compact JSON. */
    public static String write(Object value) {
        StringBuilder sb = new StringBuilder();
        write(value, sb);
        return sb.toString();
    }

    public static void write(Object value, StringBuilder sb) {
        write(value, sb, ",", ":");
    }

    /** Single-line JSON with Python's default separators ({@code ", "} and {@code ": "}), as {@code json.dumps(value)}. */
    public static String writeSpaced(Object value) {
        StringBuilder sb = new StringBuilder();
        write(value, sb, ", ", ": ");
        return sb.toString();
    }

    private static void write(Object value, StringBuilder sb, String itemSep, String keySep) {
        switch (value) {
            case null -> sb.append("null");
            case String s -> quote(s, sb);
            case Boolean b -> sb.append(b);
            case Float f -> writeFloat(f, sb);
            case Double d -> writeDouble(d, sb);
            case BigDecimal bd -> sb.append(bd.toPlainString());
            case Number n -> sb.append(n);
            case JsonObject o -> write(o.asMap(), sb, itemSep, keySep);
            case Map<?, ?> m -> {
                sb.append('{');
                boolean first = true;
                for (Map.Entry<?, ?> e : m.entrySet()) {
                    if (!first) {
                        sb.append(itemSep);
                    }
                    first = false;
                    quote(String.valueOf(e.getKey()), sb);
                    sb.append(keySep);
                    write(e.getValue(), sb, itemSep, keySep);
                }
                sb.append('}');
            }
            case Iterable<?> it -> {
                sb.append('[');
                boolean first = true;
                for (Object o : it) {
                    if (!first) {
                        sb.append(itemSep);
                    }
                    first = false;
                    write(o, sb, itemSep, keySep);
                }
                sb.append(']');
            }
            case int[] a -> {
                sb.append('[');
                for (int i = 0; i < a.length; i++) {
                    if (i > 0) {
                        sb.append(itemSep);
                    }
                    sb.append(a[i]);
                }
                sb.append(']');
            }
            case float[] a -> {
                sb.append('[');
                for (int i = 0; i < a.length; i++) {
                    if (i > 0) {
                        sb.append(itemSep);
                    }
                    writeFloat(a[i], sb);
                }
                sb.append(']');
            }
            case Object[] a -> write(List.of(a), sb, itemSep, keySep);
            default -> throw new IllegalArgumentException("cannot write " + value.getClass().getName() + " as JSON");
        }
    }

    private static void writeFloat(float f, StringBuilder sb) {
        if (Float.isNaN(f) || Float.isInfinite(f)) {
            sb.append("null"); // JSON has no NaN/Infinity
        } else {
            sb.append(f); // shortest repr that round-trips to the same float
        }
    }

    private static void writeDouble(double d, StringBuilder sb) {
        if (Double.isNaN(d) || Double.isInfinite(d)) {
            sb.append("null");
        } else if (d == Math.rint(d) && Math.abs(d) < 1e15) {
            sb.append((long) d);
        } else {
            sb.append(d);
        }
    }

    /**
     * Writes a value indented like Python's {@code json.dumps(value, indent=4, ensure_ascii=False)}
     * (and Jinja's {@code tojson(indent=4)}), so prompts rendered here match those of Python tools.
     */
    public static String writeIndented(Object value) {
        StringBuilder sb = new StringBuilder();
        writeIndented(value, sb, 0);
        return sb.toString();
    }

    private static void writeIndented(Object value, StringBuilder sb, int depth) {
        if (value instanceof JsonObject o) {
            value = o.asMap();
        }
        if (value instanceof Map<?, ?> m && !m.isEmpty()) {
            sb.append("{\n");
            int i = 0;
            for (Map.Entry<?, ?> e : m.entrySet()) {
                sb.append("    ".repeat(depth + 1));
                quote(String.valueOf(e.getKey()), sb);
                sb.append(": ");
                writeIndented(e.getValue(), sb, depth + 1);
                sb.append(++i < m.size() ? ",\n" : "\n");
            }
            sb.append("    ".repeat(depth)).append('}');
        } else if (value instanceof List<?> l && !l.isEmpty()) {
            sb.append("[\n");
            for (int i = 0; i < l.size(); i++) {
                sb.append("    ".repeat(depth + 1));
                writeIndented(l.get(i), sb, depth + 1);
                sb.append(i + 1 < l.size() ? ",\n" : "\n");
            }
            sb.append("    ".repeat(depth)).append(']');
        } else {
            write(value, sb);
        }
    }

    public static String quote(String s) {
        StringBuilder sb = new StringBuilder(s.length() + 2);
        quote(s, sb);
        return sb.toString();
    }

    public static void quote(String s, StringBuilder sb) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                default -> {
                    if (c < 0x20 || (Character.isSurrogate(c) && !validSurrogateAt(s, i))) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }

    private static boolean validSurrogateAt(String s, int i) {
        char c = s.charAt(i);
        if (Character.isHighSurrogate(c)) {
            return i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1));
        }
        return i > 0 && Character.isHighSurrogate(s.charAt(i - 1));
    }
}
