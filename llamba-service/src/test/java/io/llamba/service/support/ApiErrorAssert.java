package io.llamba.service.support;

import tools.jackson.databind.JsonNode;

import static org.assertj.core.api.Assertions.assertThat;

/** Checks an API error answer: status, OpenAI's error body with all four fields, no exception details. */
public final class ApiErrorAssert {
    private ApiErrorAssert() {
    }

    /** Checks the status and error body, and returns the error object. */
    public static JsonNode error(ApiClient.Response r, int status, String type, String param, String code) {
        assertThat(r.status()).as(r.body()).isEqualTo(status);
        assertThat(r.header("content-type")).startsWith("application/json");
        JsonNode error = r.json().get("error");
        assertThat(error).as(r.body()).isNotNull();
        assertThat(error.get("type").stringValue()).isEqualTo(type);
        assertThat(error.has("param")).isTrue();
        assertThat(error.has("code")).isTrue();
        if (param == null) {
            assertThat(error.get("param").isNull()).as(r.body()).isTrue();
        } else {
            assertThat(error.get("param").stringValue()).isEqualTo(param);
        }
        assertThat(error.get("code").stringValue()).isEqualTo(code);
        assertThat(error.get("message").stringValue()).isNotBlank().doesNotContain("Exception").doesNotContain("\tat ");
        return error;
    }
}
