package io.llamba.service.info;

import io.llamba.engine.model.ModelInfo;
import io.llamba.service.api.ServedModel;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.actuate.info.Info;
import org.springframework.boot.actuate.info.InfoContributor;
import org.springframework.boot.info.BuildProperties;
import org.springframework.stereotype.Component;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code /actuator/info}'s {@code llamba} section: the model served, its architecture, the backend
 * and device it runs on, its size and context limit, and the service's version. Names and figures
 * only: no file path, no configuration value.
 */
@Component
public class LlambaInfoContributor implements InfoContributor {
    private final ServedModel served;
    private final @Nullable BuildProperties build;

    public LlambaInfoContributor(ServedModel served, org.springframework.beans.factory.ObjectProvider<BuildProperties> build) {
        this.served = served;
        this.build = build.getIfAvailable();
    }

    @Override
    public void contribute(Info.Builder builder) {
        ModelInfo info = served.info();
        Map<String, Object> llamba = new LinkedHashMap<>();
        llamba.put("model", served.name());
        llamba.put("architecture", info.architecture());
        llamba.put("backend", info.backend());
        llamba.put("device", info.device());
        llamba.put("parameters", info.parameters());
        llamba.put("contextLimit", served.engine().contextLimit());
        llamba.put("maxSequences", served.engine().options().maxSequences());
        String version = build != null ? build.getVersion() : LlambaInfoContributor.class.getPackage().getImplementationVersion();
        if (version != null) {
            llamba.put("version", version);
        }
        builder.withDetail("llamba", llamba);
    }
}
