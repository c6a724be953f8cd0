package io.github.sgdph.reference;

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
 * The {@link SpecBackend} {@code reference}: builds {@link ReferenceModel}s, pure Java, float64
 * only, no native library. Registered through {@code META-INF/services}.
 */
public final class ReferenceBackend implements SpecBackend {
  private static final Logger LOG = LoggerFactory.getLogger(ReferenceBackend.class);

  /** The name under which the backend registers. */
  public static final String NAME = "reference";

  /** For {@link java.util.ServiceLoader}. */
  public ReferenceBackend() {}

  @Override
  public String name() {
    return NAME;
  }

  /**
   * Pure Java in float64 on the CPU: every layer and loss, no native library.
   *
   * @return the description
   */
  @Override
  public BackendDescription describe() {
    return new BackendDescription("sgdph reference (pure Java, exact R-operator)", "none",
        List.of("cpu"), "cpu", BackendDescription.ALL_LAYERS, BackendDescription.ALL_LOSSES);
  }

  @Override
  public Set<DType> supportedDTypes() {
    return Set.of(DType.FLOAT64);
  }

  /**
   * Graph models (residual networks) are built with the exact R-operator on the graph.
   *
   * @return true
   */
  @Override
  public boolean supportsGraphModels() {
    return true;
  }

  /**
   * LSTM layers are built with back-propagation and the exact R-operator through time.
   *
   * @return true
   */
  @Override
  public boolean supportsRecurrentModels() {
    return true;
  }

  /**
   * @throws IllegalArgumentException naming {@code dtype} for anything but float64, or naming
   *     the entry for parameters that do not match the spec
   */
  @Override
  public ReferenceModel build(ModelSpec spec, List<NamedArray> parameters, DType dtype) {
    Objects.requireNonNull(spec, "spec");
    Objects.requireNonNull(parameters, "parameters");
    Objects.requireNonNull(dtype, "dtype");
    if (dtype != DType.FLOAT64) {
      throw new IllegalArgumentException(
          "dtype: the reference backend computes in float64 only but " + dtype.jsonName()
              + " was requested");
    }
    spec.validateParameters(parameters);
    ReferenceModel m = new ReferenceModel(spec, parameters);
    LOG.debug("built {} with {} trainable entries", spec, m.layout().dimension());
    return m;
  }
}
