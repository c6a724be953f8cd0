package io.github.sgdph.tensorflow;

import io.github.sgdph.model.BackendDescription;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.NamedArray;
import io.github.sgdph.model.SpecBackend;
import io.github.sgdph.tensor.DType;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link SpecBackend} {@code tensorflow}: builds {@link TfSpecModel}s in float32 or float64
 * with TensorFlow Java in graph mode. Registered through {@code META-INF/services}; the
 * no-argument constructor (used by {@link java.util.ServiceLoader}) runs on the device named by
 * the system property {@value TfDevice#PROPERTY}.
 */
public final class TfBackend implements SpecBackend {
  private static final Logger LOG = LoggerFactory.getLogger(TfBackend.class);

  /** The name under which the backend registers. */
  public static final String NAME = "tensorflow";

  private final TfDevice device;

  /** A backend on the device of the system property {@value TfDevice#PROPERTY} (default auto). */
  public TfBackend() {
    this(TfDevice.fromSystemProperty());
  }

  /**
   * A backend whose models run on {@code device}.
   *
   * @param device where the graphs run
   */
  public TfBackend(TfDevice device) {
    this.device = Objects.requireNonNull(device, "device");
  }

  @Override
  public String name() {
    return NAME;
  }

  /**
   * TensorFlow Java's and the native TensorFlow's versions, and whether a GPU runs a graph;
   * loads the native library.
   *
   * @return the description
   */
  @Override
  public BackendDescription describe() {
    String nativeVersion = org.tensorflow.TensorFlow.version();
    List<String> devices = TfDevice.gpuAvailable() ? List.of("cpu", "gpu0") : List.of("cpu");
    return new BackendDescription(
        "TensorFlow Java " + BackendDescription.mavenVersion(org.tensorflow.TensorFlow.class,
            "org.tensorflow", "tensorflow-core-api") + " (graph mode)",
        "TensorFlow " + nativeVersion, devices, device.toString(),
        BackendDescription.layers(supportsGraphModels(), supportsRecurrentModels()),
        BackendDescription.ALL_LOSSES);
  }

  @Override
  public Set<DType> supportedDTypes() {
    return Set.of(DType.FLOAT32, DType.FLOAT64);
  }

  /**
   * The device this backend's models run on.
   *
   * @return the device given at construction (or read from {@code sgdph.tensorflow.device})
   */
  public TfDevice device() {
    return device;
  }

  /**
   * Graph models: the spec's nodes as one TensorFlow graph, an add node an {@code Add} of its
   * inputs' tensors ({@code SpecGraph}), differentiated twice by TensorFlow like any graph.
   *
   * @return true
   */
  @Override
  public boolean supportsGraphModels() {
    return true;
  }

  /**
   * Recurrent models: a spec {@code lstm} is unrolled through time with ordinary TensorFlow ops
   * ({@code MatMul}, {@code Sigmoid}, {@code Tanh}, {@code Mul}, {@code AddV2}, {@code Split},
   * {@code Unpack}, {@code Pack}; {@code TfLstm}), never TensorFlow's fused LSTM kernels
   * ({@code LSTMBlockCell}, {@code BlockLSTM}, {@code CudnnRNN}), whose gradient ops have no
   * gradient; TensorFlow's symbolic gradients then differentiate it twice like any graph.
   *
   * @return true
   */
  @Override
  public boolean supportsRecurrentModels() {
    return true;
  }

  /**
   * @throws IllegalArgumentException naming the entry for parameters that do not match the spec
   */
  @Override
  public TfSpecModel build(ModelSpec spec, List<NamedArray> parameters, DType dtype) {
    Objects.requireNonNull(spec, "spec");
    Objects.requireNonNull(parameters, "parameters");
    Objects.requireNonNull(dtype, "dtype");
    spec.validateParameters(parameters);
    requireSupported(spec);
    TfSpecModel m = TfSpecModel.build(spec, parameters, TfAlgebra.of(dtype), device);
    LOG.debug("built {} on {} with {} trainable entries", spec, device, m.layout().dimension());
    return m;
  }

  @Override
  public String toString() {
    return "TfBackend[" + device + "]";
  }
}
