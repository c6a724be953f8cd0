package io.github.sgdph.djl;

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
 * The {@link SpecBackend} {@code djl}: builds {@link DjlSpecModel}s on DJL's PyTorch engine, in
 * float32 or float64, on the device of its {@link DjlOptions} (CPU unless the system property
 * {@value DjlOptions#DEVICE_PROPERTY} names another). Registered through
 * {@code META-INF/services}.
 */
public final class DjlBackend implements SpecBackend {
  private static final Logger LOG = LoggerFactory.getLogger(DjlBackend.class);

  /** The name under which the backend registers. */
  public static final String NAME = DjlAlgebra.NAME;

  private final DjlOptions options;

  /** For {@link java.util.ServiceLoader}: the {@linkplain DjlOptions#defaults() default options}. */
  public DjlBackend() {
    this(DjlOptions.defaults());
  }

  /**
   * A backend with these options.
   *
   * @param options the device and gradient graph of the models it builds
   */
  public DjlBackend(DjlOptions options) {
    this.options = Objects.requireNonNull(options, "options");
  }

  @Override
  public String name() {
    return NAME;
  }

  /**
   * DJL's and libtorch's versions and the CUDA devices PyTorch sees; loads the engine.
   *
   * @return the description
   * @throws IllegalStateException if no PyTorch natives are on the classpath
   */
  @Override
  public BackendDescription describe() {
    ai.djl.engine.Engine e = PyTorchRuntime.engine();
    List<String> devices = new ArrayList<>();
    devices.add("cpu");
    for (int i = 0; i < e.getGpuCount(); i++) {
      devices.add("gpu" + i);
    }
    String natives = "libtorch " + e.getVersion();
    try (java.io.InputStream in = DjlBackend.class.getClassLoader()
        .getResourceAsStream("native/lib/pytorch.properties")) {
      if (in != null) {
        java.util.Properties p = new java.util.Properties();
        p.load(in);
        natives += " (" + p.getProperty("flavor", "?") + ", " + p.getProperty("classifier", "?")
            + ")";
      }
    } catch (java.io.IOException ex) {
      LOG.debug("cannot read pytorch.properties: {}", ex.toString());
    }
    return new BackendDescription(
        "DJL " + ai.djl.engine.Engine.getDjlVersion() + " (PyTorch engine)", natives, devices,
        options.device().isGpu() ? "gpu" + options.device().getDeviceId() : "cpu",
        BackendDescription.layers(supportsGraphModels(), supportsRecurrentModels()),
        BackendDescription.ALL_LOSSES);
  }

  @Override
  public Set<DType> supportedDTypes() {
    return Set.of(DType.FLOAT32, DType.FLOAT64);
  }

  /**
   * The options of the models this backend builds.
   *
   * @return the options
   */
  public DjlOptions options() {
    return options;
  }

  /**
   * Graph models: one DJL block evaluating the spec's nodes ({@code SpecBlocks.GraphBlock}),
   * differentiated by PyTorch's autograd like any block.
   *
   * @return true
   */
  @Override
  public boolean supportsGraphModels() {
    return true;
  }

  /**
   * Recurrent models: a spec {@code lstm} is unrolled through time with ordinary PyTorch
   * operations ({@code SpecLstm}), never DJL's fused {@code LSTM} block, whose kernel on a GPU
   * (cuDNN's) has no double backward; autograd then differentiates it twice like any block.
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
  public DjlSpecModel build(ModelSpec spec, List<NamedArray> parameters, DType dtype) {
    Objects.requireNonNull(spec, "spec");
    Objects.requireNonNull(parameters, "parameters");
    Objects.requireNonNull(dtype, "dtype");
    spec.validateParameters(parameters);
    requireSupported(spec);
    DjlSpecModel m = new DjlSpecModel(spec, parameters, dtype, options);
    LOG.debug("built {} ({} trainable entries) on {}", spec, m.layout().dimension(),
        options.device());
    return m;
  }
}
