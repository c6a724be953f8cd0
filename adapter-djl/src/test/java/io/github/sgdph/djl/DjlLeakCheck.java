package io.github.sgdph.djl;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.github.sgdph.conformance.LeakCheck;
import io.github.sgdph.model.SpecBackend;

/**
 * The kit's optimizer-step leak check on the DJL adapter. DJL exposes no PyTorch CPU allocator
 * statistics (PyTorch keeps them only for CUDA), so there is no exact counter here.
 */
final class DjlLeakCheck extends LeakCheck {
  @Override
  protected SpecBackend backend() {
    return new DjlBackend();
  }

  @Override
  protected AutoCloseable holdNative(int count, int bytes) {
    NDManager manager = NDManager.newBaseManager(Device.cpu(), "PyTorch");
    for (int i = 0; i < count; i++) {
      manager.ones(new Shape(bytes / 4)); // the manager holds it
    }
    return manager::close;
  }

  @Override
  protected String arrays() {
    return "PyTorch arrays";
  }
}
