package io.github.sgdph.optim;

import io.github.sgdph.curvature.Objective;
import io.github.sgdph.param.ParameterLayout;
import io.github.sgdph.param.ParameterVector;

/**
 * One parameter-space buffer of an optimizer (a momentum buffer, a curvature estimate, a CG
 * warm start) that can be saved to and restored from host arrays.
 *
 * <p>A restored buffer stays on the host until the next step, when the objective tells which
 * backend and layout it belongs to; so an optimizer can be restored before it has seen a model.
 */
public final class BufferSlot implements AutoCloseable {
  private final String name;
  private ParameterVector value;
  private double[][] pending;

  /**
   * An empty slot; {@code name} is its key in {@link OptimizerState#buffers()}.
   *
   * @param name the buffer's name, e.g. {@code momentum_buffer}
   */
  public BufferSlot(String name) {
    this.name = name;
  }

  /**
   * The slot's key in {@link OptimizerState#buffers()}.
   *
   * @return the name given at creation
   */
  public String name() {
    return name;
  }

  /**
   * Whether the slot holds a value (on the backend or pending on the host).
   *
   * @return {@code true} unless the slot is empty
   */
  public boolean isPresent() {
    return value != null || pending != null;
  }

  /**
   * The buffer on the objective's backend, uploading a restored value first; null if empty.
   *
   * @param objective the objective of the current step: a restored value is uploaded to its
   *     algebra, over its layout
   * @return the buffer, owned by the slot (do not close it), or null if the slot is empty
   * @throws IllegalArgumentException if a restored value does not fit the objective's layout
   */
  public ParameterVector get(Objective objective) {
    return get(objective, objective.layout());
  }

  /**
   * As {@link #get(Objective)} for a buffer over a sub-layout.
   *
   * @param objective the objective of the current step: a restored value is uploaded to its
   *     algebra
   * @param layout the (sub-)layout the buffer is over
   * @return the buffer, owned by the slot (do not close it), or null if the slot is empty
   * @throws IllegalArgumentException if a restored value does not fit {@code layout}
   */
  public ParameterVector get(Objective objective, ParameterLayout layout) {
    if (pending != null) {
      value = HostBuffers.fromHost(objective.algebra(), layout, pending, "state." + name);
      pending = null;
    }
    return value;
  }

  /**
   * Replaces the value (taking ownership of {@code v}; null empties the slot).
   *
   * @param v the new value, or null; the previous value is closed unless it is {@code v}
   */
  public void set(ParameterVector v) {
    if (value != null && value != v) {
      value.close();
    }
    value = v;
    pending = null;
  }

  /**
   * Replaces the value by {@code v} (taking ownership of it) and hands the previous value back
   * to the caller instead of closing it, so that an optimizer can reuse it as the scratch space
   * of its next step (double buffering: no allocation per step).
   *
   * @param v the new value, not null
   * @return the previous value, now owned by the caller (null if the slot was empty or held a
   *     restored value not yet uploaded)
   */
  public ParameterVector exchange(ParameterVector v) {
    java.util.Objects.requireNonNull(v, "v");
    ParameterVector old = value == v ? null : value;
    value = v;
    pending = null;
    return old;
  }

  /**
   * The value as host arrays, or null if empty.
   *
   * @return one array per block, or null; a restored value not yet uploaded is returned as given to
   *     {@link #restore}
   */
  public double[][] save() {
    if (pending != null) {
      return pending;
    }
    return HostBuffers.toHost(value);
  }

  /**
   * Replaces the value by host arrays (null empties the slot).
   *
   * @param host one array per block, or null; kept as given (not copied) until the next {@link
   *     #get}
   */
  public void restore(double[][] host) {
    set(null);
    pending = host;
  }

  @Override
  public void close() {
    set(null);
  }
}
