package io.llamba.engine.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Parsed {@code --name value} / {@code --flag} options and positional arguments. Every option a
 * command reads is recorded, so {@link #checkAllUsed()} rejects misspelled ones instead of ignoring them.
 */
public final class Options {
    private final Map<String, String> values = new LinkedHashMap<>();
    private final List<String> positional = new ArrayList<>();
    private final Set<String> used = new HashSet<>();
    private final Set<String> flags;
    private Map<String, String> environment = System.getenv();

    /**
     * @param flags option names (without dashes) that take no value
     */
    public static Options parse(String[] args, Set<String> flags) {
        Options o = new Options(flags);
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.startsWith("--") && a.length() > 2) {
                String name = a.substring(2);
                String value;
                int eq = name.indexOf('=');
                if (eq >= 0) {
                    value = name.substring(eq + 1);
                    name = name.substring(0, eq);
                } else if (flags.contains(name)) {
                    value = "true";
                } else {
                    if (i + 1 >= args.length) {
                        throw new UsageException("option --" + name + " needs a value");
                    }
                    value = args[++i];
                }
                if (o.values.put(name, value) != null) {
                    throw new UsageException("option --" + name + " given twice");
                }
            } else {
                o.positional.add(a);
            }
        }
        return o;
    }

    private Options(Set<String> flags) {
        this.flags = flags;
    }

    public boolean flag(String name) {
        used.add(name);
        String v = values.get(name);
        if (v == null) {
            return false;
        }
        if (v.equals("true") || v.equals("false")) {
            return Boolean.parseBoolean(v);
        }
        throw new UsageException("option --" + name + " takes no value (got '" + v + "')");
    }

    public String string(String name, String def) {
        used.add(name);
        return values.getOrDefault(name, def);
    }

    public String required(String name) {
        used.add(name);
        String v = values.get(name);
        if (v == null) {
            throw new UsageException("missing required option --" + name);
        }
        return v;
    }

    public Path path(String name) {
        return Path.of(required(name));
    }

    public int integer(String name, int def) {
        String v = string(name, null);
        if (v == null) {
            return def;
        }
        try {
            return Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw new UsageException("option --" + name + ": expected an integer, got '" + v + "'");
        }
    }

    public long longValue(String name, long def) {
        String v = string(name, null);
        if (v == null) {
            return def;
        }
        try {
            return Long.parseLong(v.trim());
        } catch (NumberFormatException e) {
            throw new UsageException("option --" + name + ": expected an integer, got '" + v + "'");
        }
    }

    public double number(String name, double def) {
        String v = string(name, null);
        if (v == null) {
            return def;
        }
        try {
            double d = Double.parseDouble(v.trim());
            if (!Double.isFinite(d)) {
                throw new NumberFormatException();
            }
            return d;
        } catch (NumberFormatException e) {
            throw new UsageException("option --" + name + ": expected a number, got '" + v + "'");
        }
    }

    /** A comma-separated list of integers, e.g. {@code --ids 1,2,3}. */
    public int[] intList(String name) {
        String v = required(name);
        String[] parts = v.split(",");
        int[] out = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                out[i] = Integer.parseInt(parts[i].trim());
            } catch (NumberFormatException e) {
                throw new UsageException("option --" + name + ": '" + parts[i] + "' is not an integer");
            }
        }
        return out;
    }

    public boolean has(String name) {
        return values.containsKey(name);
    }

    public List<String> positional() {
        return positional;
    }

    /** Call after reading every option: an option the command never asked for is a mistake. */
    public void checkAllUsed() {
        for (String name : values.keySet()) {
            if (!used.contains(name)) {
                throw new UsageException("unknown option --" + name);
            }
        }
    }

    /** The environment variables commands read (HF_TOKEN, HF_HUB_CACHE, ...): the process's, unless a test gives others. */
    public Map<String, String> environment() {
        return environment;
    }

    public Options withEnvironment(Map<String, String> env) {
        this.environment = Map.copyOf(env);
        return this;
    }

    boolean isFlag(String name) {
        return flags.contains(name);
    }
}
