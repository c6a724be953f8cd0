package io.github.sgdph.dl4j;

import io.github.sgdph.model.BackendDescription;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.NamedArray;
import io.github.sgdph.model.SpecBackend;
import io.github.sgdph.tensor.DType;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link SpecBackend} {@code dl4j}: builds {@link Dl4jSpecModel}s, Deeplearning4j
 * {@code MultiLayerNetwork}s (sequential specs) or {@code ComputationGraph}s (graph specs) on
 * ND4J's current backend, in float32 or float64. Registered through {@code META-INF/services}.
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

  /**
   * Deeplearning4j's and ND4J's versions, ND4J's backend and BLAS, and its devices; loads
   * ND4J's native library.
   *
   * @return the description
   */
  @Override
  public BackendDescription describe() {
    org.nd4j.linalg.factory.Nd4jBackend b = org.nd4j.linalg.factory.Nd4j.getBackend();
    String kind = b.getClass().getSimpleName();
    boolean cuda = kind.toLowerCase(java.util.Locale.ROOT).contains("cu");
    List<String> devices = new ArrayList<>();
    devices.add("cpu");
    if (cuda) {
      int n = org.nd4j.linalg.factory.Nd4j.getAffinityManager().getNumberOfDevices();
      for (int i = 0; i < n; i++) {
        devices.add("gpu" + i);
      }
    }
    Object blas = org.nd4j.linalg.factory.Nd4j.getExecutioner().getEnvironmentInformation()
        .get("blas.vendor");
    Class<?> anchor = org.nd4j.linalg.factory.Nd4j.class;
    String natives = "ND4J " + kind + (blas == null ? "" : ", BLAS " + blas)
        + (cuda ? "" : " (openblas "
            + BackendDescription.mavenVersion(anchor, "org.bytedeco", "openblas") + ")")
        + ", JavaCPP " + BackendDescription.mavenVersion(anchor, "org.bytedeco", "javacpp");
    return new BackendDescription(
        "Deeplearning4j " + BackendDescription.mavenVersion(
            org.deeplearning4j.nn.multilayer.MultiLayerNetwork.class, "org.deeplearning4j",
            "deeplearning4j-nn") + " / ND4J "
            + BackendDescription.mavenVersion(anchor, "org.nd4j", "nd4j-api"),
        natives, devices, cuda ? "gpu0" : "cpu",
        BackendDescription.layers(supportsGraphModels(), supportsRecurrentModels()),
        BackendDescription.ALL_LOSSES);
  }

  /**
   * True: a graph spec builds as a {@code ComputationGraph}, through which the adapter's
   * R-operator runs.
   *
   * @return true
   */
  @Override
  public boolean supportsGraphModels() {
    return true;
  }

  /**
   * True: an {@code lstm} builds as DL4J {@code LSTM} layers (one per stacked layer, the top one
   * in {@code LastTimeStep} unless it returns the sequence; {@link SpecNetworks}), whose exact
   * R-operator through time the adapter computes ({@code LstmOp}).
   *
   * @return true
   */
  @Override
  public boolean supportsRecurrentModels() {
    return true;
  }

  /**
   * {@inheritDoc}
   *
   * <p>Besides, a {@code flatten} of a sequence (an {@code lstm}'s {@code [T, H]} output): DL4J
   * has no pre-processor that flattens {@code [n, T, H]} to {@code [n, T·H]}.
   */
  @Override
  public String unsupportedReason(ModelSpec spec) {
    String reason = SpecBackend.super.unsupportedReason(spec);
    if (reason != null) {
      return reason;
    }
    return SpecNetworks.unflattenable(spec);
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
    spec.validateParameters(parameters);
    requireSupported(spec);
    SpecNetworks.Built built = SpecNetworks.build(spec, Nd4jAlgebra.nd4jType(dtype));
    Dl4jSpecModel m = new Dl4jSpecModel(spec, parameters, built);
    LOG.debug("built {} in {} with {} trainable entries", spec, dtype.jsonName(),
        m.layout().dimension());
    return m;
  }
}
