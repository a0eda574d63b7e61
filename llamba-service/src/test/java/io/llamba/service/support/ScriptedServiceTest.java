package io.llamba.service.support;

import io.llamba.service.LlambaServiceApplication;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.context.annotation.Import;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * The service on a random port over the scripted model, with the packaged configuration. Every test
 * class with this annotation shares one application context (Spring's test context cache).
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@SpringBootTest(classes = LlambaServiceApplication.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {"spring.main.banner-mode=off", "llamba.service.limits.max-body-size=64KB",
                "llamba.service.limits.max-messages=8", "llamba.service.limits.max-tokens=2000"})
@Import(ScriptedServiceConfiguration.class)
public @interface ScriptedServiceTest {
}
