package io.llamba.spring.testing;

/** The replies the scripted model gives in these tests, chosen by what the prompt holds. */
public final class Scripts {
    public static final String HELLO = "Hello from Llamba!";
    public static final String WEATHER_CALL = "{\"name\": \"weather\", \"parameters\": {\"city\": \"Paris\"}}";
    public static final String MALFORMED_CALL = "{\"name\": \"weather\", \"parameters\": {\"city\": ";
    public static final String LONG = "la ".repeat(400);

    private Scripts() {
    }

    public static String reply(String prompt) {
        String ipython = "<|start_header_id|>ipython<|end_header_id|>\n\n";
        int result = prompt.lastIndexOf(ipython);
        if (result >= 0) {
            int start = result + ipython.length();
            return "Paris: " + prompt.substring(start, prompt.indexOf("<|eot_id|>", start)) + ".";
        }
        if (prompt.contains("break the call")) {
            return MALFORMED_CALL;
        }
        if (prompt.contains("Environment: ipython")) {
            return WEATHER_CALL;
        }
        if (prompt.contains("talk at length")) {
            return LONG;
        }
        return HELLO;
    }
}
