package io.llamba.service.page;

import io.llamba.engine.generate.Engine;
import io.llamba.service.support.ScriptedServiceTest;
import io.llamba.spring.testing.Scripts;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The chat page at {@code /} in headless Chromium (Debian's chromium and chromium-driver packages,
 * driven through Selenium): it finds the model, streams replies into the conversation, keeps the
 * history, and its Stop button cancels the generation on the server.
 * <p>
 * Skipped where no Chromium is installed, unless {@code LLAMBA_REQUIRE_BROWSER=1} (set by
 * {@code .ci/run}, which installs it), where its absence fails the test.
 */
@ScriptedServiceTest
class ChatPageTest {
    static WebDriver browser;

    @LocalServerPort
    int port;
    @Autowired
    Engine engine;

    static Path find(String env, String... candidates) {
        String configured = System.getenv(env);
        if (configured != null && !configured.isBlank()) {
            return Path.of(configured);
        }
        for (String c : candidates) {
            if (Files.isExecutable(Path.of(c))) {
                return Path.of(c);
            }
        }
        return null;
    }

    @BeforeAll
    static void startBrowser() {
        Path chromium = find("CHROME_BIN", "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome");
        Path driver = find("CHROMEDRIVER", "/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver");
        if (chromium == null || driver == null) {
            String missing = "Chromium or its chromedriver is not installed (apt-get install chromium chromium-driver)";
            if ("1".equals(System.getenv("LLAMBA_REQUIRE_BROWSER"))) {
                throw new IllegalStateException(missing + ", and LLAMBA_REQUIRE_BROWSER=1 requires the browser test");
            }
            Assumptions.abort(missing);
        }
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(driver.toFile()).usingAnyFreePort().build();
        ChromeOptions options = new ChromeOptions();
        options.setBinary(chromium.toFile());
        options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1200,900");
        browser = new ChromeDriver(service, options);
    }

    @AfterAll
    static void stopBrowser() {
        if (browser != null) {
            browser.quit();
        }
    }

    WebDriverWait waiting() {
        return new WebDriverWait(browser, Duration.ofSeconds(20));
    }

    List<WebElement> replies() {
        return browser.findElements(By.cssSelector(".msg.assistant"));
    }

    void send(String text) {
        WebElement prompt = browser.findElement(By.id("prompt"));
        prompt.sendKeys(text);
        browser.findElement(By.id("send")).click();
    }

    @Test
    void chatsWithTheModelStreamingEachReply() {
        browser.get("http://127.0.0.1:" + port + "/");
        waiting().until(d -> d.findElement(By.id("model")).getText().equals("scripted"));

        send("Hi");
        waiting().until(d -> "done".equals(replies().getLast().getDomAttribute("data-state")));
        assertThat(replies().getLast().getText()).isEqualTo(Scripts.HELLO);
        assertThat(browser.findElements(By.cssSelector(".meta")).getLast().getText())
                .isEqualTo("finish: stop · %d prompt + %d completion tokens", promptTokens(), Scripts.HELLO.length() + 1);

        // The page sends the whole conversation: the model sees both turns.
        send("show the roles");
        waiting().until(d -> replies().size() == 2 && "done".equals(replies().getLast().getDomAttribute("data-state")));
        assertThat(replies().getLast().getText()).isEqualTo("user,assistant,user");
    }

    private static int promptTokens() {
        // <|begin_of_text|> + user header (3 specials + "user" + "\n\n") + "Hi" + <|eot_id|> + assistant header.
        return 1 + (1 + 4 + 1 + 2) + 2 + 1 + (1 + 9 + 1 + 2);
    }

    @Test
    void stopCancelsTheGenerationOnTheServer() throws InterruptedException {
        browser.get("http://127.0.0.1:" + port + "/");
        waiting().until(d -> d.findElement(By.id("model")).getText().equals("scripted"));

        // The whole scripted reply (1200 tokens, over 2.4 s) may be asked for: it is still running when stopped.
        WebElement max = browser.findElement(By.id("max-tokens"));
        max.clear();
        max.sendKeys("2000");
        send("talk at length");
        waiting().pollingEvery(Duration.ofMillis(20)).until(d -> replies().getLast().getText().length() > 20);
        assertThat(engine.stats().running()).isEqualTo(1);
        browser.findElement(By.id("stop")).click();

        waiting().until(d -> "stopped".equals(replies().getLast().getDomAttribute("data-state")));
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (engine.stats().running() != 0 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(engine.stats().running()).as("the server stopped generating").isZero();
        assertThat(replies().getLast().getText()).isNotEqualTo(Scripts.LONG.strip());
    }

    @Test
    void showsTheServersErrorMessage() {
        browser.get("http://127.0.0.1:" + port + "/");
        waiting().until(d -> d.findElement(By.id("model")).getText().equals("scripted"));
        WebElement max = browser.findElement(By.id("max-tokens"));
        max.clear();
        max.sendKeys("999999");

        send("Hi");

        WebElement error = waiting().until(d -> d.findElements(By.cssSelector(".msg.error")).stream().findFirst().orElse(null));
        assertThat(error.getText()).isEqualTo("max_tokens is 999999, more than this server's limit of 2000 tokens per request. (HTTP 400)");
    }
}
