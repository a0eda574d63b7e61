package io.llamba.service.support;

import io.llamba.engine.generate.Engine;
import io.llamba.engine.generate.EngineOptions;
import io.llamba.spring.autoconfigure.metrics.LlambaEngineMetrics;
import io.llamba.spring.testing.ScriptedModel;
import io.llamba.spring.testing.TestTokenizer;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.context.annotation.Bean;

/**
 * The service over a scripted model ({@link ServiceScripts}) instead of a loaded one: exact replies
 * and tool calls, each engine step taking {@value #STEP_MILLIS} ms so that a long reply lasts long
 * enough to be interrupted. Two state slots and one queue place make overload easy to reach.
 */
@TestConfiguration(proxyBeanMethods = false)
public class ScriptedServiceConfiguration {
    public static final long STEP_MILLIS = 2;
    public static final int MAX_SEQUENCES = 2;
    public static final int MAX_QUEUED = 1;
    /** The scripted model's name, as {@code /v1/models} gives it. */
    public static final String MODEL = "scripted";

    @Bean
    ScriptedModel scriptedModel() {
        return new ScriptedModel(TestTokenizer.load(), ServiceScripts::reply, STEP_MILLIS);
    }

    @Bean(destroyMethod = "close")
    Engine scriptedEngine(ScriptedModel model, LlambaEngineMetrics metrics) {
        return new Engine(model, TestTokenizer.load(), new EngineOptions(MAX_SEQUENCES, MAX_QUEUED, 0, 256), metrics);
    }
}
