package io.github.sgdph.tensorflow;

import io.github.sgdph.conformance.LeakCheck;
import io.github.sgdph.model.SpecBackend;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.types.TFloat32;

/**
 * The kit's optimizer-step leak check on the TensorFlow adapter. TensorFlow Java exposes no
 * statistics of TensorFlow's CPU allocator, and JavaCPP's {@code Pointer.totalBytes()} (the bytes
 * of native objects with a registered deallocator) does not count tensors — it stayed 0 with the
 * calibration's 2000 tensors held — so there is no exact counter here.
 */
final class TfLeakCheck extends LeakCheck {
  @Override
  protected SpecBackend backend() {
    return new TfBackend(TfDevice.CPU);
  }

  @Override
  protected AutoCloseable holdNative(int count, int bytes) {
    List<TFloat32> held = new ArrayList<>(count);
    float[] ones = new float[bytes / 4];
    Arrays.fill(ones, 1f);
    for (int i = 0; i < count; i++) {
      held.add(TFloat32.tensorOf(Shape.of(ones.length), DataBuffers.of(ones, true, false)));
    }
    return () -> held.forEach(TFloat32::close);
  }

  @Override
  protected String arrays() {
    return "TensorFlow tensors";
  }
}
