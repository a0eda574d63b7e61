package io.llamba.service;

import io.llamba.service.api.ApiResponses;
import io.llamba.service.api.ServedModel;
import io.llamba.service.api.completions.TextCompletions;
import io.llamba.service.security.ApiKeyWebFilter;
import io.llamba.service.security.RequestSizeWebFilter;
import io.llamba.service.security.SecurityHeadersWebFilter;
import io.llamba.spring.ai.LlambaChatModel;
import io.micrometer.observation.ObservationRegistry;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.http.codec.CodecCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;
import tools.jackson.databind.json.JsonMapper;

import java.util.concurrent.Executors;

/** The API's parts over the Llamba ChatModel that llamba-autoconfigure provides. */
@Configuration(proxyBeanMethods = false)
public class ServiceConfiguration {

    @Bean
    ServedModel servedModel(LlambaChatModel chatModel) {
        return new ServedModel(chatModel);
    }

    @Bean
    ApiResponses apiResponses(JsonMapper mapper) {
        return new ApiResponses(mapper);
    }

    @Bean
    TextCompletions textCompletions(LlambaChatModel chatModel, ObjectProvider<ObservationRegistry> observations) {
        return new TextCompletions(chatModel, observations.getIfUnique(() -> ObservationRegistry.NOOP));
    }

    /**
     * Where blocking ChatModel calls wait for their reply: one virtual thread each, so waiting
     * requests hold no platform thread and a client that goes away interrupts its own.
     */
    @Bean(destroyMethod = "dispose")
    Scheduler llambaCallScheduler() {
        return Schedulers.fromExecutorService(Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("llamba-call-", 0).factory()),
                "llamba-call");
    }

    @Bean
    ApiKeyWebFilter apiKeyWebFilter(ServiceProperties properties, JsonMapper mapper) {
        return new ApiKeyWebFilter(properties, mapper);
    }

    @Bean
    SecurityHeadersWebFilter securityHeadersWebFilter() {
        return new SecurityHeadersWebFilter();
    }

    @Bean
    RequestSizeWebFilter requestSizeWebFilter(ServiceProperties properties, JsonMapper mapper) {
        return new RequestSizeWebFilter(properties.getLimits().getMaxBodySize().toBytes(), mapper);
    }

    /** The codecs buffer bodies up to the same limit (their default, 256 KB, would cut in first). */
    @Bean
    CodecCustomizer llambaBodyLimit(ServiceProperties properties) {
        long max = properties.getLimits().getMaxBodySize().toBytes();
        return configurer -> configurer.defaultCodecs().maxInMemorySize((int) Math.min(Integer.MAX_VALUE, max));
    }
}
