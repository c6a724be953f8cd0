package io.github.sgdph.cli;

import io.github.sgdph.model.BackendDescription;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.NamedArray;
import io.github.sgdph.model.SpecBackend;
import io.github.sgdph.model.SpecModel;
import io.github.sgdph.tensor.DType;
import java.util.List;
import java.util.Set;

/**
 * A backend whose native library does not load (registered for the tests only): what the CLI
 * does when a framework's natives are missing or broken.
 */
public final class BrokenBackend implements SpecBackend {
  static final String NAME = "broken";
  static final String WHY = "no jnibroken in java.library.path: /usr/java/packages/lib";

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public Set<DType> supportedDTypes() {
    return Set.of(DType.FLOAT32, DType.FLOAT64);
  }

  @Override
  public BackendDescription describe() {
    throw new UnsatisfiedLinkError(WHY);
  }

  @Override
  public SpecModel build(ModelSpec spec, List<NamedArray> parameters, DType dtype) {
    throw new UnsatisfiedLinkError(WHY);
  }
}
