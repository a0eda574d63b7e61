package io.llamba.service.deploy;

import io.llamba.service.support.ApiClient;
import io.llamba.service.support.ScriptedServiceTest;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.web.server.LocalServerPort;
import tools.jackson.databind.JsonNode;

import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The Grafana dashboard asks only for series the service really exports: every metric name in its
 * queries is in the service's own /actuator/prometheus output (histogram buckets once the compose
 * file turns their histograms on).
 */
@ScriptedServiceTest
class GrafanaDashboardTest {
    /** Series names in PromQL: identifiers directly followed by '{' or '[' (functions are followed by '('). */
    private static final Pattern SERIES = Pattern.compile("\\b([a-z_][a-z0-9_]*)\\s*[{\\[]");

    @LocalServerPort
    int port;

    static JsonNode dashboard() {
        return ApiClient.parse(DeployFiles.read(DeployFiles.DEPLOY.resolve("compose/grafana/dashboards/llamba.json")));
    }

    @Test
    void everyQueriedMetricIsExportedByTheService() {
        ApiClient api = new ApiClient(port);
        // Meters appear once used: a chat, a stream, a completion and a refused request.
        api.post("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}");
        api.post("/v1/chat/completions", "{\"stream\": true, \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}");
        api.post("/v1/completions", "{\"prompt\": \"Hi\"}");
        api.post("/v1/chat/completions", "{\"messages\": []}");
        Set<String> exported = new TreeSet<>();
        for (String line : api.get("/actuator/prometheus").body().lines().toList()) {
            if (!line.startsWith("#") && !line.isBlank()) {
                exported.add(line.split("[{ ]", 2)[0]);
            }
        }

        Map<String, Object> composeEnv = DeployFiles.map(DeployFiles.document(DeployFiles.DEPLOY.resolve("compose/compose.yaml")),
                "services.llamba.environment");
        Set<String> queried = new TreeSet<>();
        for (JsonNode panel : dashboard().get("panels")) {
            assertThat(panel.get("title").stringValue()).isNotBlank();
            if (panel.get("type").stringValue().equals("row")) {
                continue;
            }
            assertThat(panel.get("datasource").get("uid").stringValue()).isEqualTo("prometheus");
            assertThat(panel.get("targets")).isNotEmpty();
            for (JsonNode target : panel.get("targets")) {
                Matcher m = SERIES.matcher(target.get("expr").stringValue());
                while (m.find()) {
                    queried.add(m.group(1));
                }
            }
        }
        assertThat(queried).hasSizeGreaterThan(15);
        for (String series : queried) {
            if (series.endsWith("_bucket")) {
                String base = series.substring(0, series.length() - "_bucket".length());
                assertThat(exported).as("histogram " + base).contains(base + "_count");
                String meter = base.replaceFirst("_seconds$", "").toUpperCase();
                assertThat(composeEnv).as("compose turns the histogram of " + base + " on")
                        .containsEntry("MANAGEMENT_METRICS_DISTRIBUTION_PERCENTILES_HISTOGRAM_" + meter, "true");
            } else {
                assertThat(exported).as(series).contains(series);
            }
        }
    }
}
