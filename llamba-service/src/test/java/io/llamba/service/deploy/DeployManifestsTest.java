package io.llamba.service.deploy;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.lang.module.ModuleFinder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static io.llamba.service.deploy.DeployFiles.CONFIG;
import static io.llamba.service.deploy.DeployFiles.DEPLOY;
import static io.llamba.service.deploy.DeployFiles.ROOT;
import static io.llamba.service.deploy.DeployFiles.at;
import static io.llamba.service.deploy.DeployFiles.document;
import static io.llamba.service.deploy.DeployFiles.documents;
import static io.llamba.service.deploy.DeployFiles.list;
import static io.llamba.service.deploy.DeployFiles.map;
import static io.llamba.service.deploy.DeployFiles.read;
import static io.llamba.service.deploy.DeployFiles.string;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * No Docker engine or cluster here: the container images, the compose file and the Kubernetes
 * manifests are parsed and checked against the application's own configuration (config/): ports,
 * probe paths, profiles, images, resources, secrets, volumes, the autoscaling metric.
 */
class DeployManifestsTest {
    static Map<String, Object> config;
    static int port;
    static String version;

    @BeforeAll
    static void readConfig() {
        config = document(CONFIG.resolve("application.yml"));
        port = (Integer) at(config, "server.port");
        version = DeployFiles.projectVersion();
    }

    // ------------------------------------------------------------------ the application's configuration

    @Test
    void theApplicationExposesWhatTheDeploymentsProbe() {
        assertThat(string(config, "server.shutdown")).isEqualTo("graceful");
        assertThat(at(config, "management.endpoint.health.probes.enabled")).isEqualTo(true);
        assertThat(Arrays.stream(string(config, "management.endpoints.web.exposure.include").split(",")).map(String::strip))
                .containsExactlyInAnyOrder("health", "info", "prometheus");
        for (String profile : List.of("cpu", "gpu", "prod")) {
            assertThat(CONFIG.resolve("application-" + profile + ".yml")).exists();
            document(CONFIG.resolve("application-" + profile + ".yml"));
        }
        assertThat(at(document(CONFIG.resolve("application-prod.yml")), "llamba.service.security.require-api-key")).isEqualTo(true);
        assertThat(string(document(CONFIG.resolve("application-prod.yml")), "llamba.service.security.api-keys")).contains("LLAMBA_API_KEYS");
        assertThat(string(document(CONFIG.resolve("application-gpu.yml")), "spring.ai.llamba.backend")).isEqualTo("cuda");
        assertThat(string(document(CONFIG.resolve("application-cpu.yml")), "spring.ai.llamba.backend")).isEqualTo("cpu");
    }

    /** The longest a stop may take: the web server's drain phase, then the engine's grace period. */
    static Duration longestShutdown() {
        return Duration.parse("PT" + string(config, "spring.lifecycle.timeout-per-shutdown-phase").toUpperCase())
                .plus(Duration.parse("PT" + string(config, "spring.ai.llamba.shutdown-grace-period").toUpperCase()));
    }

    // ------------------------------------------------------------------ images

    record Dockerfile(String text, List<String> instructions) {
        static Dockerfile read(Path p) {
            String text = DeployFiles.read(p).replace("\\\n", " ");
            List<String> lines = text.lines().map(String::strip).filter(l -> !l.isEmpty() && !l.startsWith("#")).toList();
            return new Dockerfile(text, lines);
        }

        List<String> all(String instruction) {
            return instructions.stream().filter(l -> l.startsWith(instruction + " ")).map(l -> l.substring(instruction.length() + 1).strip())
                    .toList();
        }

        String last(String instruction) {
            List<String> all = all(instruction);
            assertThat(all).as(instruction).isNotEmpty();
            return all.getLast();
        }
    }

    static void checkImage(Dockerfile d, String runtimeBase) {
        List<String> froms = d.all("FROM");
        assertThat(froms).as("multi-stage: a build stage and a runtime stage").hasSize(2);
        assertThat(froms.getFirst()).startsWith("eclipse-temurin:25-jdk");
        assertThat(froms.getLast()).startsWith(runtimeBase);
        assertThat(d.last("EXPOSE")).isEqualTo(String.valueOf(port));
        assertThat(d.text()).contains("SERVER_PORT=" + port);
        assertThat(d.last("USER")).isEqualTo("10001:10001");
        assertThat(d.last("HEALTHCHECK")).contains("/actuator/health/readiness");
        String entrypoint = d.last("ENTRYPOINT");
        assertThat(entrypoint).contains("\"--add-modules\", \"jdk.incubator.vector\"").contains("--enable-native-access=ALL-UNNAMED")
                .contains("\"-jar\", \"/app/llamba-service.jar\"");
        assertThat(d.text()).contains("COPY --from=build /src/llamba-service/target/llamba-service.jar /app/llamba-service.jar");
        // The runtime: jlink of modules that exist in Java 25, the Vector API among them.
        Matcher jlink = Pattern.compile("jlink --add-modules ([a-z.,]+)").matcher(d.text());
        assertThat(jlink.find()).isTrue();
        List<String> modules = List.of(jlink.group(1).split(","));
        assertThat(modules).contains("java.base", "jdk.incubator.vector", "java.net.http", "jdk.unsupported", "java.management");
        for (String m : modules) {
            assertThat(ModuleFinder.ofSystem().find(m)).as("module " + m).isPresent();
        }
        assertThat(d.last("VOLUME")).isEqualTo("/models");
        assertThat(d.text()).contains("HF_HOME=/models/huggingface").contains("LLAMBA_CACHE_DIR=/models/llamba");
        // Every path the build copies exists in the repository.
        for (String copy : d.all("COPY")) {
            if (!copy.startsWith("--from")) {
                for (String src : copy.split("\\s+")) {
                    if (!src.equals(copy.split("\\s+")[copy.split("\\s+").length - 1])) {
                        assertThat(ROOT.resolve(src)).as("COPY " + src).exists();
                    }
                }
            }
        }
    }

    @Test
    void theCpuImage() {
        checkImage(Dockerfile.read(DEPLOY.resolve("Dockerfile")), "debian:bookworm-slim");
    }

    @Test
    void theCudaImage() {
        Dockerfile d = Dockerfile.read(DEPLOY.resolve("Dockerfile.cuda"));
        checkImage(d, "nvidia/cuda:12.");
        assertThat(d.text()).contains("SPRING_PROFILES_ACTIVE=gpu");
    }

    // ------------------------------------------------------------------ compose

    @Test
    void composeRunsTheServiceWithPrometheusAndGrafana() {
        Path dir = DEPLOY.resolve("compose");
        Map<String, Object> compose = document(dir.resolve("compose.yaml"));
        for (String name : List.of("llamba", "llamba-gpu")) {
            Map<String, Object> s = map(compose, "services." + name);
            assertThat(list(s, "ports")).containsExactly("8080:" + port);
            assertThat(ROOT.resolve(string(s, "build.dockerfile"))).exists();
            assertThat(dir.resolve(string(s, "build.context")).normalize()).isEqualTo(ROOT);
            assertThat(string(s, "image")).startsWith("llamba-service:" + version);
            Map<String, Object> env = map(s, "environment");
            assertThat(String.valueOf(env.get("SPRING_PROFILES_ACTIVE"))).contains("prod");
            assertThat(String.valueOf(env.get("LLAMBA_API_KEYS"))).startsWith("${LLAMBA_API_KEYS:?");
            assertThat(list(s, "volumes")).contains("models:/models");
            assertThat(Duration.parse("PT" + string(s, "stop_grace_period").toUpperCase())).isGreaterThan(longestShutdown());
        }
        assertThat(list(compose, "services.llamba-gpu.deploy.resources.reservations.devices.0.capabilities")).containsExactly("gpu");

        Map<String, Object> prometheus = document(dir.resolve("prometheus/prometheus.yml"));
        Map<String, Object> job = map(prometheus, "scrape_configs.0");
        assertThat(string(job, "job_name")).isEqualTo("llamba");
        assertThat(string(job, "metrics_path")).isEqualTo("/actuator/prometheus");
        assertThat(list(job, "static_configs.0.targets")).contains("llamba:" + port, "llamba-gpu:" + port);
        assertThat(list(map(compose, "services.prometheus"), "volumes")).contains("./prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro");

        Map<String, Object> datasource = map(document(dir.resolve("grafana/provisioning/datasources/prometheus.yml")), "datasources.0");
        assertThat(string(datasource, "url")).isEqualTo("http://prometheus:9090");
        assertThat(string(document(dir.resolve("grafana/provisioning/dashboards/llamba.yml")), "providers.0.options.path"))
                .isEqualTo("/var/lib/grafana/dashboards");
        for (Object volume : list(map(compose, "services.grafana"), "volumes")) {
            String v = String.valueOf(volume);
            if (v.startsWith("./")) {
                assertThat(dir.resolve(v.substring(2, v.indexOf(':')))).exists();
            }
        }
        assertThat(GrafanaDashboardTest.dashboard().get("panels").size()).isGreaterThan(10);
    }

    // ------------------------------------------------------------------ Kubernetes

    static Map<String, Map<String, Object>> kubernetes(Path dir) {
        Map<String, Map<String, Object>> byKind = new LinkedHashMap<>();
        Map<String, Object> kustomization = document(dir.resolve("kustomization.yaml"));
        assertThat(string(kustomization, "kind")).isEqualTo("Kustomization");
        for (Object resource : list(kustomization, "resources")) {
            Path file = dir.resolve(String.valueOf(resource));
            assertThat(file).exists();
            if (Files.isDirectory(file)) {
                continue;
            }
            for (Map<String, Object> doc : documents(file)) {
                assertThat(doc).containsKeys("apiVersion", "kind", "metadata");
                byKind.put(string(doc, "kind"), doc);
            }
        }
        return byKind;
    }

    @Test
    void everyManifestParses() {
        List<Path> files = DeployFiles.yamlFiles(DEPLOY.resolve("kubernetes"));
        assertThat(files).hasSizeGreaterThanOrEqualTo(8);
        for (Path f : files) {
            assertThat(documents(f)).as(f.toString()).isNotEmpty();
        }
    }

    @Test
    void theDeploymentMatchesTheApplication() {
        Map<String, Map<String, Object>> k = kubernetes(DEPLOY.resolve("kubernetes/base"));
        assertThat(k).containsKeys("Deployment", "Service", "PersistentVolumeClaim", "HorizontalPodAutoscaler", "PodDisruptionBudget");
        Map<String, Object> deployment = k.get("Deployment");
        Map<String, Object> pod = map(deployment, "spec.template.spec");
        Map<String, Object> container = map(pod, "containers.0");

        assertThat(string(container, "image")).isEqualTo("llamba-service:" + version);
        Map<String, Object> containerPort = map(container, "ports.0");
        assertThat(containerPort.get("containerPort")).isEqualTo(port);
        assertThat(containerPort.get("name")).isEqualTo("http");
        assertThat(string(container, "startupProbe.httpGet.path")).isEqualTo("/actuator/health/liveness");
        assertThat(string(container, "livenessProbe.httpGet.path")).isEqualTo("/actuator/health/liveness");
        assertThat(string(container, "readinessProbe.httpGet.path")).isEqualTo("/actuator/health/readiness");
        for (String probe : List.of("startupProbe", "livenessProbe", "readinessProbe")) {
            assertThat(string(container, probe + ".httpGet.port")).isEqualTo("http");
        }
        assertThat(map(container, "resources.requests")).containsKeys("cpu", "memory");
        assertThat(map(container, "resources.limits")).containsKey("memory");

        Map<String, Object> env = env(container);
        assertThat(String.valueOf(env.get("SPRING_PROFILES_ACTIVE"))).startsWith("prod");
        assertThat(String.valueOf(env.get("SERVER_PORT"))).isEqualTo(String.valueOf(port));
        assertThat(string(env.get("LLAMBA_API_KEYS"), "secretKeyRef.name")).isEqualTo("llamba-api-keys");
        String hfHome = String.valueOf(env.get("HF_HOME"));
        String claim = string(k.get("PersistentVolumeClaim"), "metadata.name");
        String modelsMount = null;
        for (Object m : list(container, "volumeMounts")) {
            String volume = string(m, "name");
            for (Object v : list(pod, "volumes")) {
                if (string(v, "name").equals(volume) && DeployFiles.asMap(v, "volume").containsKey("persistentVolumeClaim")) {
                    assertThat(string(v, "persistentVolumeClaim.claimName")).isEqualTo(claim);
                    modelsMount = string(m, "mountPath");
                }
            }
        }
        assertThat(modelsMount).isNotNull();
        assertThat(hfHome).startsWith(modelsMount + "/");
        assertThat(String.valueOf(env.get("LLAMBA_CACHE_DIR"))).startsWith(modelsMount + "/");
        assertThat(list(k.get("PersistentVolumeClaim"), "spec.accessModes")).containsExactly("ReadWriteMany");

        assertThat(at(container, "securityContext.readOnlyRootFilesystem")).isEqualTo(true);
        assertThat(list(container, "volumeMounts").stream().map(m -> string(m, "mountPath"))).contains("/tmp");
        assertThat(at(pod, "securityContext.runAsNonRoot")).isEqualTo(true);
        assertThat(at(pod, "securityContext.runAsUser")).isEqualTo(10001);
        assertThat(Duration.ofSeconds((Integer) at(pod, "terminationGracePeriodSeconds"))).isGreaterThan(longestShutdown());

        Map<String, Object> labels = map(deployment, "spec.template.metadata.labels");
        assertThat(map(deployment, "spec.selector.matchLabels")).isEqualTo(labels);
        Map<String, Object> service = k.get("Service");
        assertThat(map(service, "spec.selector")).isEqualTo(labels);
        assertThat(string(service, "spec.ports.0.targetPort")).isEqualTo("http");
        assertThat(map(k.get("PodDisruptionBudget"), "spec.selector.matchLabels")).isEqualTo(labels);
        assertThat((Integer) at(k.get("PodDisruptionBudget"), "spec.minAvailable"))
                .isLessThan((Integer) at(k.get("HorizontalPodAutoscaler"), "spec.minReplicas"));
        assertThat(map(deployment, "spec.template.metadata.annotations").get("prometheus.io/path")).isEqualTo("/actuator/prometheus");
        assertThat(map(deployment, "spec.template.metadata.annotations").get("prometheus.io/port")).isEqualTo(String.valueOf(port));
    }

    static Map<String, Object> env(Map<String, Object> container) {
        Map<String, Object> env = new LinkedHashMap<>();
        for (Object e : list(container, "env")) {
            Map<String, Object> m = DeployFiles.asMap(e, "env");
            env.put(String.valueOf(m.get("name")), m.containsKey("value") ? m.get("value") : m.get("valueFrom"));
        }
        return env;
    }

    @Test
    void theAutoscalerScalesTheDeploymentOnWaitingRequestsThroughTheAdapter() {
        Map<String, Map<String, Object>> k = kubernetes(DEPLOY.resolve("kubernetes/base"));
        Map<String, Object> hpa = k.get("HorizontalPodAutoscaler");
        assertThat(string(hpa, "spec.scaleTargetRef.kind")).isEqualTo("Deployment");
        assertThat(string(hpa, "spec.scaleTargetRef.name")).isEqualTo(string(k.get("Deployment"), "metadata.name"));
        Map<String, Object> metric = map(hpa, "spec.metrics.0");
        assertThat(string(metric, "type")).isEqualTo("Pods");
        String name = string(metric, "pods.metric.name");
        // The engine's gauge llamba.requests.waiting, as Prometheus names it.
        assertThat(name).isEqualTo("llamba.requests.waiting".replace('.', '_'));

        Map<String, Object> rule = map(document(DEPLOY.resolve("kubernetes/prometheus-adapter/values.yaml")), "rules.custom.0");
        assertThat(string(rule, "seriesQuery")).startsWith(name + "{");
        assertThat(string(rule, "name.as")).isEqualTo(name);
        assertThat(map(rule, "resources.overrides")).containsKeys("namespace", "pod");
    }

    @Test
    void theGpuVariantAsksForAGpuAndRunsTheGpuProfile() {
        Path dir = DEPLOY.resolve("kubernetes/gpu");
        Map<String, Object> kustomization = document(dir.resolve("kustomization.yaml"));
        assertThat(list(kustomization, "resources")).containsExactly("../base");
        assertThat(string(kustomization, "images.0.name")).isEqualTo("llamba-service");
        assertThat(string(kustomization, "images.0.newTag")).isEqualTo(version + "-cuda");
        Map<String, Object> patch = document(dir.resolve(string(kustomization, "patches.0.path")));
        assertThat(string(patch, "metadata.name")).isEqualTo(string(kubernetes(DEPLOY.resolve("kubernetes/base")).get("Deployment"),
                "metadata.name"));
        Map<String, Object> container = map(patch, "spec.template.spec.containers.0");
        assertThat(String.valueOf(map(container, "resources.limits").get("nvidia.com/gpu"))).isEqualTo("1");
        assertThat(String.valueOf(env(container).get("SPRING_PROFILES_ACTIVE"))).isEqualTo("prod,gpu");
    }
}
