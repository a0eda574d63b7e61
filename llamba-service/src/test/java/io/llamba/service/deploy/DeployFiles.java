package io.llamba.service.deploy;

import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/** The repository's deploy/ and config/ files, read as the tools that use them would. */
final class DeployFiles {
    /** Tests run in llamba-service/; the repository root is its parent. */
    static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    static final Path DEPLOY = ROOT.resolve("deploy");
    static final Path CONFIG = ROOT.resolve("config");

    private DeployFiles() {
    }

    static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Every YAML document of a file (multi-document files included), with SnakeYAML's safe loader. */
    static List<Map<String, Object>> documents(Path p) {
        List<Map<String, Object>> docs = new ArrayList<>();
        for (Object doc : new Yaml(new SafeConstructor(new LoaderOptions())).loadAll(read(p))) {
            if (doc != null) {
                docs.add(asMap(doc, p.toString()));
            }
        }
        return docs;
    }

    static Map<String, Object> document(Path p) {
        List<Map<String, Object>> docs = documents(p);
        if (docs.size() != 1) {
            throw new AssertionError(p + " holds " + docs.size() + " documents, expected one");
        }
        return docs.getFirst();
    }

    static List<Path> yamlFiles(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(p -> p.toString().endsWith(".yaml") || p.toString().endsWith(".yml")).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> asMap(Object o, String what) {
        if (!(o instanceof Map<?, ?> m)) {
            throw new AssertionError(what + " is not a mapping: " + o);
        }
        return (Map<String, Object>) m;
    }

    @SuppressWarnings("unchecked")
    static List<Object> asList(Object o, String what) {
        if (!(o instanceof List<?> l)) {
            throw new AssertionError(what + " is not a list: " + o);
        }
        return (List<Object>) l;
    }

    /** A value by dotted path ("spec.template.spec"); list elements by index ("containers.0"). */
    static Object at(Object root, String path) {
        Object o = root;
        for (String key : path.split("\\.")) {
            if (o instanceof Map<?, ?> m) {
                o = m.get(key);
            } else if (o instanceof List<?> l && key.chars().allMatch(Character::isDigit)) {
                o = l.get(Integer.parseInt(key));
            } else {
                throw new AssertionError("no " + path + " (stopped at " + key + ") in " + root);
            }
            if (o == null) {
                throw new AssertionError("no " + path + " (missing " + key + ")");
            }
        }
        return o;
    }

    static Map<String, Object> map(Object root, String path) {
        return asMap(at(root, path), path);
    }

    static List<Object> list(Object root, String path) {
        return asList(at(root, path), path);
    }

    static String string(Object root, String path) {
        return String.valueOf(at(root, path));
    }

    /** The project version, from the parent pom (the image tags follow it). */
    static String projectVersion() {
        String pom = read(ROOT.resolve("pom.xml"));
        int start = pom.indexOf("<version>", pom.indexOf("<artifactId>llamba-parent</artifactId>"));
        return pom.substring(start + "<version>".length(), pom.indexOf("</version>", start));
    }
}
