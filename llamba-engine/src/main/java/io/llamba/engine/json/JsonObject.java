package io.llamba.engine.json;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A parsed JSON object with typed getters whose errors name the file and the field path,
 * e.g. {@code config.json: field ssm_cfg.d_state: expected an integer, got "64"}.
 */
public final class JsonObject {
    private final Map<String, Object> map;
    private final String origin;
    private final String path;

    private JsonObject(Map<String, Object> map, String origin, String path) {
        this.map = map;
        this.origin = origin;
        this.path = path;
    }

    @SuppressWarnings("unchecked")
    static JsonObject wrap(Object v, String origin, String path) {
        return new JsonObject((Map<String, Object>) v, origin, path);
    }

    public Map<String, Object> asMap() {
        return Collections.unmodifiableMap(map);
    }

    public Set<String> keys() {
        return map.keySet();
    }

    public boolean has(String key) {
        return map.containsKey(key) && map.get(key) != null;
    }

    public Object raw(String key) {
        return map.get(key);
    }

    public String origin() {
        return origin;
    }

    private String field(String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    public JsonException error(String key, String message) {
        return new JsonException(origin + ": field " + field(key) + ": " + message);
    }

    private Object required(String key) {
        Object v = map.get(key);
        if (v == null) {
            throw new JsonException(origin + ": missing field " + field(key));
        }
        return v;
    }

    public String getString(String key) {
        Object v = required(key);
        if (v instanceof String s) {
            return s;
        }
        throw error(key, "expected a string, got " + describe(v));
    }

    public String optString(String key, String def) {
        return has(key) ? getString(key) : def;
    }

    public long getLong(String key) {
        Object v = required(key);
        if (v instanceof Long l) {
            return l;
        }
        if (v instanceof Double d && d == Math.rint(d) && Math.abs(d) < 9.0e15) {
            return d.longValue(); // 64.0 is an integer too
        }
        throw error(key, "expected an integer, got " + describe(v));
    }

    public int getInt(String key) {
        long l = getLong(key);
        if (l < Integer.MIN_VALUE || l > Integer.MAX_VALUE) {
            throw error(key, "integer " + l + " out of range");
        }
        return (int) l;
    }

    public int optInt(String key, int def) {
        return has(key) ? getInt(key) : def;
    }

    public long optLong(String key, long def) {
        return has(key) ? getLong(key) : def;
    }

    public double getDouble(String key) {
        Object v = required(key);
        if (v instanceof Number n && !(v instanceof BigInteger)) {
            return n.doubleValue();
        }
        throw error(key, "expected a number, got " + describe(v));
    }

    public double optDouble(String key, double def) {
        return has(key) ? getDouble(key) : def;
    }

    public boolean getBoolean(String key) {
        Object v = required(key);
        if (v instanceof Boolean b) {
            return b;
        }
        throw error(key, "expected true or false, got " + describe(v));
    }

    public boolean optBoolean(String key, boolean def) {
        return has(key) ? getBoolean(key) : def;
    }

    public JsonObject getObject(String key) {
        Object v = required(key);
        if (v instanceof Map<?, ?>) {
            return wrap(v, origin, field(key));
        }
        throw error(key, "expected an object, got " + describe(v));
    }

    /** The nested object, or an empty one when absent, so defaults apply field by field. */
    public JsonObject optObject(String key) {
        return has(key) ? getObject(key) : new JsonObject(Map.of(), origin, field(key));
    }

    @SuppressWarnings("unchecked")
    public List<Object> getArray(String key) {
        Object v = required(key);
        if (v instanceof List<?> l) {
            return (List<Object>) l;
        }
        throw error(key, "expected an array, got " + describe(v));
    }

    /** An array of objects, each wrapped with its path ({@code key[i]}) so errors point into it. */
    public List<JsonObject> getObjectList(String key) {
        List<Object> list = getArray(key);
        List<JsonObject> out = new ArrayList<>(list.size());
        for (int i = 0; i < list.size(); i++) {
            Object v = list.get(i);
            if (!(v instanceof Map<?, ?>)) {
                throw new JsonException(origin + ": field " + field(key) + "[" + i + "]: expected an object, got "
                        + describe(v));
            }
            out.add(wrap(v, origin, field(key) + "[" + i + "]"));
        }
        return out;
    }

    public static String describe(Object v) {
        return switch (v) {
            case null -> "null";
            case String s -> "string \"" + (s.length() > 40 ? s.substring(0, 40) + "..." : s) + "\"";
            case Map<?, ?> m -> "an object";
            case List<?> l -> "an array";
            case Boolean b -> b.toString();
            default -> v.toString();
        };
    }

    @Override
    public String toString() {
        return Json.write(map);
    }
}
