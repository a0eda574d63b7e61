package io.llamba.spring.demoapp;

import org.springframework.boot.autoconfigure.SpringBootApplication;

/** An application with nothing but a ChatClient component ({@link DemoAssistant}) and no model configured. */
@SpringBootApplication
public class DemoApplication {
}
