package io.github.sgdph.model;

import io.github.sgdph.tensor.DType;
import java.util.List;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.TreeSet;

/**
 * A backend that builds {@link SpecModel}s from the neutral spec. Backends register through
 * {@link ServiceLoader} ({@code META-INF/services/io.github.sgdph.model.SpecBackend}) and are
 * found by {@link #find(String)}.
 */
public interface SpecBackend {

  /**
   * The backend's name as the CLI's {@code --backend} takes it: {@code reference}, {@code djl}, ...
   *
   * @return the backend's unique registered name
   */
  String name();

  /**
   * The dtypes this backend can build models in.
   *
   * @return the supported dtypes, at least one
   */
  Set<DType> supportedDTypes();

  /**
   * Whether {@link #build} takes graph models ({@link ModelSpec#isSequential()} false: residual
   * networks and other DAGs of {@link ModelSpec.Node}s). A backend without them throws {@link
   * UnsupportedOperationException} for such a spec, and the conformance kit skips its graph
   * cases, saying so.
   *
   * @return false unless the backend overrides it
   */
  default boolean supportsGraphModels() {
    return false;
  }

  /**
   * Whether {@link #build} takes models with {@link LayerSpec.Lstm} layers (recurrent networks
   * over sequences {@code [T, F]}). A backend without them throws {@link
   * UnsupportedOperationException} for such a spec, and the conformance kit skips its LSTM
   * cases, saying so.
   *
   * @return false unless the backend overrides it
   */
  default boolean supportsRecurrentModels() {
    return false;
  }

  /**
   * Whether {@link #build} takes this spec: a graph model needs {@link #supportsGraphModels()},
   * a model with an LSTM {@link #supportsRecurrentModels()}.
   *
   * @param spec a model spec
   * @return null if the backend builds it, else the reason it does not, naming the backend
   */
  default String unsupportedReason(ModelSpec spec) {
    if (!spec.isSequential() && !supportsGraphModels()) {
      return "the " + name() + " backend does not build graph models (residual networks) yet:"
          + " SpecBackend.supportsGraphModels() is false";
    }
    if (!supportsRecurrentModels()
        && spec.layers().stream().anyMatch(l -> l instanceof LayerSpec.Lstm)) {
      return "lstm not supported by this backend yet (" + name()
          + "): SpecBackend.supportsRecurrentModels() is false";
    }
    return null;
  }

  /**
   * Throws unless {@link #build} takes this spec ({@link #unsupportedReason}).
   *
   * @param spec a model spec
   * @throws UnsupportedOperationException with the reason, naming the backend, if it does not
   */
  default void requireSupported(ModelSpec spec) {
    String reason = unsupportedReason(spec);
    if (reason != null) {
      throw new UnsupportedOperationException("spec: " + reason);
    }
  }

  /**
   * Builds the model with these initial parameters (every entry of {@link ModelSpec#entries()},
   * PyTorch layout).
   *
   * @param spec the network and loss to build
   * @param parameters the initial values of every entry of the spec, in {@link ModelSpec#entries()}
   *     order; copied into the backend
   * @param dtype the precision of the model's tensors, one of {@link #supportedDTypes()}
   * @return a new model; the caller closes it
   * @throws IllegalArgumentException naming the entry if the parameters do not match the spec,
   *     or if the dtype is not supported
   * @throws UnsupportedOperationException for a graph model if the backend does not {@linkplain
   *     #supportsGraphModels() support them}, for an LSTM if it does not {@linkplain
   *     #supportsRecurrentModels() support those} ({@link #unsupportedReason})
   */
  SpecModel build(ModelSpec spec, List<NamedArray> parameters, DType dtype);

  /**
   * What this backend runs on: framework and native library versions, devices, layers and
   * losses. May load the native library; a library that does not load throws here (an
   * {@link Error} such as {@link UnsatisfiedLinkError}, or a {@link RuntimeException}), which
   * is how a caller finds out whether the backend is usable on this machine.
   *
   * <p>The default describes an unknown framework on the CPU with every loss and every layer
   * (the {@linkplain BackendDescription#GRAPH_OPS graph ops} only if it {@linkplain
   * #supportsGraphModels() builds graph models}, the {@linkplain
   * BackendDescription#RECURRENT_LAYERS recurrent layers} only if it {@linkplain
   * #supportsRecurrentModels() builds those}).
   *
   * @return the description
   */
  default BackendDescription describe() {
    return new BackendDescription(getClass().getName(), "unknown", List.of("cpu"), "cpu",
        BackendDescription.layers(supportsGraphModels(), supportsRecurrentModels()),
        BackendDescription.ALL_LOSSES);
  }

  /**
   * The backend registered under {@code name}.
   *
   * @param name a backend's {@link #name()}, e.g. {@code reference}
   * @return the first backend of that name found by the {@link ServiceLoader} of the thread's
   *     context class loader
   * @throws IllegalArgumentException listing the available backends if there is none
   */
  static SpecBackend find(String name) {
    Set<String> names = new TreeSet<>();
    for (SpecBackend b : ServiceLoader.load(SpecBackend.class)) {
      if (b.name().equals(name)) {
        return b;
      }
      names.add(b.name());
    }
    throw new IllegalArgumentException(
        "backend: unknown '" + name + "'; available on the classpath: " + names);
  }
}
