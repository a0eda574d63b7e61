package io.llamba.service.security;

import io.llamba.service.ServiceProperties;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.json.JsonMapper;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class ApiKeyWebFilterTest {
    ApiKeyWebFilter filter(String... keys) {
        ServiceProperties p = new ServiceProperties();
        p.getSecurity().setApiKeys(List.of(keys));
        return new ApiKeyWebFilter(p, JsonMapper.builder().build());
    }

    @Test
    void matchesOnlyAConfiguredKeyExactly() {
        ApiKeyWebFilter f = filter("sk-aaaaaaaaaaaaaaaa", "sk-bbbbbbbbbbbbbbbb");
        assertThat(f.isEnabled()).isTrue();
        assertThat(f.matches("sk-aaaaaaaaaaaaaaaa")).isTrue();
        assertThat(f.matches("sk-bbbbbbbbbbbbbbbb")).isTrue();
        assertThat(f.matches("sk-aaaaaaaaaaaaaaab")).isFalse();
        assertThat(f.matches("sk-aaaaaaaaaaaaaaa")).isFalse();
        assertThat(f.matches("sk-aaaaaaaaaaaaaaaaa")).isFalse();
        assertThat(f.matches("")).isFalse();
    }

    @Test
    void withoutKeysTheFilterIsOff() {
        assertThat(filter().isEnabled()).isFalse();
    }
}
