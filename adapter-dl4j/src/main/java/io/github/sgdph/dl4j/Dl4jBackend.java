package io.github.sgdph.dl4j;

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
 * The {@link SpecBackend} {@code dl4j}: builds {@link Dl4jSpecModel}s, Deeplearning4j
 * {@code MultiLayerNetwork}s on ND4J's current backend, in float32 or float64. Registered through
 * {@code META-INF/services}.
 */
public final class Dl4jBackend implements SpecBackend {
  private static final Logger LOG = LoggerFactory.getLogger(Dl4jBackend.class);

  /** The name under which the backend registers. */
  public static final String NAME = "dl4j";

  /** For {@link java.util.ServiceLoader}. */
  public Dl4jBackend() {}

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public Set<DType> supportedDTypes() {
    return Set.of(DType.FLOAT32, DType.FLOAT64);
  }

  /**
   * @throws IllegalArgumentException naming the entry for parameters that do not match the spec
   */
  @Override
  public Dl4jSpecModel build(ModelSpec spec, List<NamedArray> parameters, DType dtype) {
    Objects.requireNonNull(spec, "spec");
    Objects.requireNonNull(parameters, "parameters");
    Objects.requireNonNull(dtype, "dtype");
    if (!spec.isSequential()) {
      throw new UnsupportedOperationException(
          "spec: the dl4j backend builds sequential models only, not graph"
              + " models");
    }
    spec.validateParameters(parameters);
    SpecNetworks.Built built = SpecNetworks.build(spec, Nd4jAlgebra.nd4jType(dtype));
    Dl4jSpecModel m = new Dl4jSpecModel(spec, parameters, built);
    LOG.debug("built {} in {} with {} trainable entries", spec, dtype.jsonName(),
        m.layout().dimension());
    return m;
  }
}
