package io.github.sgdph.dl4j;

import io.github.sgdph.conformance.LeakCheck;
import io.github.sgdph.model.SpecBackend;
import java.util.ArrayList;
import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.AllocationsTracker;
import org.nd4j.linalg.api.memory.enums.AllocationKind;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The kit's optimizer-step leak check on the DL4J adapter, with ND4J's exact count of its
 * workspaces and constants; 2000 steps of each optimizer, as on every adapter (an SGN step costs
 * ~50 ms here, so this suite takes about 2.5 minutes).
 */
final class Dl4jLeakCheck extends LeakCheck {
  @Override
  protected SpecBackend backend() {
    return new Dl4jBackend();
  }

  @Override
  protected AutoCloseable holdNative(int count, int bytes) {
    List<INDArray> held = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      held.add(Nd4j.ones(DataType.FLOAT, bytes / 4));
    }
    return () -> held.forEach(INDArray::close);
  }

  @Override
  protected String arrays() {
    return "ND4J arrays";
  }

  /**
   * ND4J's {@code AllocationsTracker} on device 0 (the CPU), which counts workspaces (the
   * adapter's pass workspaces), constant buffers and the memory manager's allocations, exactly.
   * It does not count an ordinary array's buffer, which ND4J 1.0.0-M2.1 allocates in libnd4j
   * ({@code OpaqueDataBuffer}): it stayed put with the calibration's 2000 arrays held, and so did
   * JavaCPP's {@code Pointer.totalBytes()} (16 bytes an array), so the resident measure is the one
   * that sees them.
   */
  @Override
  public String counterName() {
    return "ND4J's AllocationsTracker";
  }

  @Override
  protected long counterBytes() {
    AllocationsTracker t = AllocationsTracker.getInstance();
    long bytes = 0;
    for (AllocationKind k : AllocationKind.values()) {
      bytes += t.bytesOnDevice(k, 0);
    }
    return bytes;
  }
}
