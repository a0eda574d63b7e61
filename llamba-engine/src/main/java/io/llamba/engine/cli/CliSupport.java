package io.llamba.engine.cli;

import io.llamba.engine.model.BackendKind;
import io.llamba.engine.model.LoadOptions;

/** Options shared by the commands that load a model. */
final class CliSupport {
    private CliSupport() {
    }

    static LoadOptions loadOptions(Options o) {
        BackendKind backend;
        try {
            backend = BackendKind.parse(o.string("backend", "auto"));
        } catch (IllegalArgumentException e) {
            throw new UsageException("--backend: " + e.getMessage());
        }
        int threads = o.integer("threads", 0);
        if (threads < 0) {
            throw new UsageException("--threads must be positive (or 0 for all processors), got " + threads);
        }
        return new LoadOptions(backend, threads);
    }
}
