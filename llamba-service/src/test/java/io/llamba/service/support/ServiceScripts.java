package io.llamba.service.support;

import io.llamba.spring.testing.Scripts;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What the scripted model answers in the service's tests: the autoconfigure tests' script
 * ({@link Scripts}: a greeting, a weather tool call when tools are offered, an answer quoting a
 * tool result, a long reply on "talk at length"), plus "show the roles", answered with the roles
 * of the rendered prompt's messages in order, which shows how API messages were mapped.
 */
public final class ServiceScripts {
    private static final Pattern HEADER = Pattern.compile("<\\|start_header_id\\|>([a-z]+)<\\|end_header_id\\|>");

    private ServiceScripts() {
    }

    public static String reply(String prompt) {
        String lastUser = lastUserMessage(prompt);
        if (lastUser.contains("show the roles")) {
            List<String> roles = new ArrayList<>();
            Matcher m = HEADER.matcher(prompt);
            while (m.find()) {
                roles.add(m.group(1));
            }
            return String.join(",", roles.subList(0, roles.size() - 1)); // the last header is the reply's own
        }
        return Scripts.reply(prompt);
    }

    private static String lastUserMessage(String prompt) {
        String user = "<|start_header_id|>user<|end_header_id|>\n\n";
        int at = prompt.lastIndexOf(user);
        if (at < 0) {
            return "";
        }
        int start = at + user.length();
        int end = prompt.indexOf("<|eot_id|>", start);
        return end < 0 ? prompt.substring(start) : prompt.substring(start, end);
    }
}
