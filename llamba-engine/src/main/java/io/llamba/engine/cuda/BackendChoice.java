package io.llamba.engine.cuda;

import io.llamba.engine.model.BackendKind;
import io.llamba.engine.model.LoadOptions;
import io.llamba.engine.model.Model;
import io.llamba.engine.model.ModelException;

import java.util.function.Supplier;

/**
 * Where an architecture's model is loaded, the same rule for every plugin: CPU when asked (or when
 * the weights are quantized, which only the CPU backend holds); CUDA when asked, failing with the
 * reason where it cannot run; for AUTO the CUDA backend when {@link CudaAvailability} finds it
 * usable and the model loads there, else the CPU, saying why in the log.
 */
public final class BackendChoice {
    private static final System.Logger LOG = System.getLogger(BackendChoice.class.getName());

    private BackendChoice() {
    }

    public static Model load(String name, LoadOptions options, Supplier<Model> onCuda, Supplier<Model> onCpu) {
        BackendKind backend = options.backendToTry();
        if (backend != BackendKind.CPU) {
            CudaAvailability.Status cuda = CudaAvailability.probe();
            if (cuda.available()) {
                try {
                    return onCuda.get();
                } catch (ModelException e) {
                    if (backend == BackendKind.CUDA) {
                        throw e;
                    }
                    LOG.log(System.Logger.Level.WARNING, "CUDA backend failed to load " + name + " (" + e.getMessage() + "); using the CPU");
                }
            } else if (backend == BackendKind.CUDA) {
                throw new ModelException("backend cuda was asked for, but CUDA cannot be used here: " + cuda.reason()
                        + "; use --backend cpu or auto");
            } else {
                LOG.log(System.Logger.Level.INFO, "CUDA not used: " + cuda.reason());
            }
        }
        return onCpu.get();
    }
}
