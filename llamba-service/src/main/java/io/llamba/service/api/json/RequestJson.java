package io.llamba.service.api.json;

import io.llamba.service.api.error.ApiException;
import org.jspecify.annotations.Nullable;
import tools.jackson.core.JacksonException;
import tools.jackson.core.TokenStreamLocation;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * One JSON object of a request, read field by field with the checks a client needs to hear about:
 * every error is a 400 naming the field by its path ({@code messages[2].content}) and saying what was
 * expected. JSON {@code null} counts as absent, as OpenAI's clients send it for unset options.
 */
public final class RequestJson {
    private final JsonNode node;
    private final String path;

    private RequestJson(JsonNode node, String path) {
        this.node = node;
        this.path = path;
    }

    /** The request body as a JSON object. */
    public static RequestJson parse(@Nullable String body, JsonMapper mapper) {
        if (body == null || body.isBlank()) {
            throw ApiException.invalid(null, "invalid_json", "The request body is empty; send a JSON object.");
        }
        JsonNode root;
        try {
            root = mapper.readTree(body);
        } catch (JacksonException e) {
            TokenStreamLocation at = e.getLocation();
            String where = at == null ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr();
            throw ApiException.invalid(null, "invalid_json", "The request body is not valid JSON" + where + ": " + reason(e));
        }
        if (root == null || !root.isObject()) {
            throw ApiException.invalid(null, "invalid_json", "The request body must be a JSON object.");
        }
        return new RequestJson(root, "");
    }

    /** Jackson's own words, without its notes on where the source is (always "REDACTED" here). */
    private static String reason(JacksonException e) {
        String m = String.valueOf(e.getOriginalMessage());
        int cut = m.indexOf(" (start marker at");
        if (cut < 0) {
            cut = m.indexOf('\n');
        }
        return cut < 0 ? m : m.substring(0, cut);
    }

    /** A field's path from the request root, for messages. */
    public String path(String field) {
        return path.isEmpty() ? field : path + "." + field;
    }

    public String path() {
        return path;
    }

    public boolean has(String field) {
        JsonNode v = node.get(field);
        return v != null && !v.isNull();
    }

    public @Nullable JsonNode raw(String field) {
        JsonNode v = node.get(field);
        return v == null || v.isNull() ? null : v;
    }

    public Optional<String> string(String field) {
        JsonNode v = raw(field);
        if (v == null) {
            return Optional.empty();
        }
        if (!v.isString()) {
            throw wrongType(field, "a string", v);
        }
        return Optional.of(v.stringValue());
    }

    public String requiredString(String field) {
        return string(field).orElseThrow(() -> missing(field));
    }

    public Optional<Boolean> bool(String field) {
        JsonNode v = raw(field);
        if (v == null) {
            return Optional.empty();
        }
        if (!v.isBoolean()) {
            throw wrongType(field, "true or false", v);
        }
        return Optional.of(v.booleanValue());
    }

    public Optional<Double> number(String field) {
        JsonNode v = raw(field);
        if (v == null) {
            return Optional.empty();
        }
        if (!v.isNumber()) {
            throw wrongType(field, "a number", v);
        }
        double d = v.doubleValue();
        if (!Double.isFinite(d)) {
            throw ApiException.invalid(path(field), "invalid_value", path(field) + " must be a finite number.");
        }
        return Optional.of(d);
    }

    public Optional<Long> integer(String field) {
        JsonNode v = raw(field);
        if (v == null) {
            return Optional.empty();
        }
        // 3.0 is an integer too (some clients write every number as a float).
        if (!v.isNumber() || (v.isFloatingPointNumber() && v.doubleValue() != Math.rint(v.doubleValue()))) {
            throw wrongType(field, "an integer", v);
        }
        if (!v.canConvertToLong() && !(v.isFloatingPointNumber() && Math.abs(v.doubleValue()) < 9.0e18)) {
            throw ApiException.invalid(path(field), "invalid_value", path(field) + " is out of range.");
        }
        return Optional.of(v.isFloatingPointNumber() ? (long) v.doubleValue() : v.longValue());
    }

    /** An integer within [min, max]; the message gives the bounds. */
    public Optional<Integer> integer(String field, long min, long max) {
        Optional<Long> v = integer(field);
        if (v.isPresent() && (v.get() < min || v.get() > max)) {
            throw ApiException.invalid(path(field), "invalid_value", path(field) + " must be between " + min + " and " + max
                    + ", got " + v.get() + ".");
        }
        return v.map(Long::intValue);
    }

    public Optional<RequestJson> object(String field) {
        JsonNode v = raw(field);
        if (v == null) {
            return Optional.empty();
        }
        if (!v.isObject()) {
            throw wrongType(field, "an object", v);
        }
        return Optional.of(new RequestJson(v, path(field)));
    }

    /** An array of objects, each with its indexed path. */
    public Optional<List<RequestJson>> objects(String field) {
        JsonNode v = raw(field);
        if (v == null) {
            return Optional.empty();
        }
        if (!v.isArray()) {
            throw wrongType(field, "an array", v);
        }
        List<RequestJson> out = new ArrayList<>(v.size());
        for (int i = 0; i < v.size(); i++) {
            JsonNode e = v.get(i);
            String p = path(field) + "[" + i + "]";
            if (e == null || !e.isObject()) {
                throw ApiException.invalid(p, "invalid_type", p + " must be an object, got " + kind(e) + ".");
            }
            out.add(new RequestJson(e, p));
        }
        return Optional.of(out);
    }

    /** A string, or an array of strings (as {@code stop} may be). */
    public Optional<List<String>> stringOrStrings(String field) {
        JsonNode v = raw(field);
        if (v == null) {
            return Optional.empty();
        }
        if (v.isString()) {
            return Optional.of(List.of(v.stringValue()));
        }
        if (!v.isArray()) {
            throw wrongType(field, "a string or an array of strings", v);
        }
        List<String> out = new ArrayList<>(v.size());
        for (int i = 0; i < v.size(); i++) {
            JsonNode e = v.get(i);
            if (e == null || !e.isString()) {
                String p = path(field) + "[" + i + "]";
                throw ApiException.invalid(p, "invalid_type", p + " must be a string, got " + kind(e) + ".");
            }
            out.add(e.stringValue());
        }
        return Optional.of(out);
    }

    public ApiException missing(String field) {
        return ApiException.invalid(path(field), "missing_required_parameter", "Missing required parameter: " + path(field) + ".");
    }

    public ApiException wrongType(String field, String expected, JsonNode got) {
        return ApiException.invalid(path(field), "invalid_type", path(field) + " must be " + expected + ", got " + kind(got) + ".");
    }

    /** A field this server does not support with the value given. */
    public ApiException unsupported(String field, String message) {
        return ApiException.invalid(path(field), "unsupported_value", message);
    }

    private static String kind(@Nullable JsonNode v) {
        if (v == null || v.isNull()) {
            return "null";
        }
        if (v.isString()) {
            return "a string";
        }
        if (v.isNumber()) {
            return "a number";
        }
        if (v.isBoolean()) {
            return "a boolean";
        }
        if (v.isArray()) {
            return "an array";
        }
        return v.isObject() ? "an object" : v.getNodeType().toString().toLowerCase(java.util.Locale.ROOT);
    }
}
