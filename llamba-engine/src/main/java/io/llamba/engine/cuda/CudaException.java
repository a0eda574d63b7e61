package io.llamba.engine.cuda;

import io.llamba.engine.model.ModelException;

/** A CUDA driver, cuBLAS or kernel failure; the message names the call and the error. */
public class CudaException extends ModelException {
    public CudaException(String message) {
        super(message);
    }

    public CudaException(String message, Throwable cause) {
        super(message, cause);
    }
}
