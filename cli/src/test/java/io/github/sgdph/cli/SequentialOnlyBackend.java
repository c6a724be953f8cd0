package io.github.sgdph.cli;

import io.github.sgdph.model.BackendDescription;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.NamedArray;
import io.github.sgdph.model.SpecBackend;
import io.github.sgdph.model.SpecModel;
import io.github.sgdph.reference.ReferenceBackend;
import io.github.sgdph.tensor.DType;
import java.util.List;
import java.util.Set;

/**
 * The reference backend describing itself as one that builds sequential models only, without
 * LSTMs (registered for the tests only): what {@code compare} does with a case a backend does not
 * build, independently of which real adapters build graph models.
 */
public final class SequentialOnlyBackend implements SpecBackend {
  static final String NAME = "sequential-only";
  private final ReferenceBackend reference = new ReferenceBackend();

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public Set<DType> supportedDTypes() {
    return reference.supportedDTypes();
  }

  @Override
  public BackendDescription describe() {
    BackendDescription d = reference.describe();
    return new BackendDescription("sequential-only (the reference, for tests)",
        d.nativeLibrary(), d.devices(), d.device(), BackendDescription.SEQUENTIAL_LAYERS,
        d.losses());
  }

  @Override
  public SpecModel build(ModelSpec spec, List<NamedArray> parameters, DType dtype) {
    if (!spec.isSequential()) {
      throw new IllegalArgumentException("spec: " + NAME + " builds sequential models only");
    }
    requireSupported(spec); // no LSTMs either, as a backend without them refuses to build one
    return reference.build(spec, parameters, dtype);
  }
}
