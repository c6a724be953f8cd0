package io.github.sgdph.cases;

import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.NamedArray;
import io.github.sgdph.optim.OptimizerSpec;
import io.github.sgdph.tensor.DType;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * One reproducible experiment ({@code sgdph-case/1}, CASES.md): a model, its initial
 * parameters, the data, the optimizer and its settings, the number of steps, an optional probe
 * vector and an optional expected trajectory. Step {@code t} uses
 * {@code batches[t mod batches.size()]}.
 *
 * <p>The constructor checks the parts against each other (parameters against the model,
 * batches against the input shape and loss, the probe vector's length), naming the field.
 *
 * @param dtype the precision the case is meant for
 * @param model the network and loss
 * @param parameters every entry of the model, trainable or not, in order
 * @param batches at least one batch
 * @param optimizer the optimizer and its hyper-parameters
 * @param steps the number of steps (0 for a probe-only case)
 * @param probeVector one number per trainable entry, or null
 * @param expected the expected trajectory, or null
 */
public record CaseFile(
    DType dtype,
    ModelSpec model,
    List<NamedArray> parameters,
    List<ArrayBatch> batches,
    OptimizerSpec optimizer,
    int steps,
    double[] probeVector,
    Trajectory expected) {

  /** The format tag of a case whose model is a list of layers (every version reads it). */
  public static final String FORMAT = "sgdph-case/1";

  /**
   * The format tag of a case whose model may be a graph of named nodes ({@code model.nodes},
   * {@link ModelSpec#graph}); a superset of {@value #FORMAT}.
   */
  public static final String FORMAT_GRAPH = "sgdph-case/2";

  /**
   * Validates the parts against each other and copies the lists and the probe vector.
   *
   * @param dtype the precision the case is meant for
   * @param model the network and loss
   * @param parameters every entry of the model, trainable or not, in order
   * @param batches at least one batch
   * @param optimizer the optimizer and its hyper-parameters
   * @param steps the number of steps, at least 0
   * @param probeVector one finite number per trainable entry, or null
   * @param expected the expected trajectory, or null
   * @throws IllegalArgumentException naming the field if a part is invalid or does not fit the
   *     model
   * @throws NullPointerException if a part other than {@code probeVector} or {@code expected} is
   *     null
   */
  public CaseFile {
    Objects.requireNonNull(dtype, "dtype");
    Objects.requireNonNull(model, "model");
    Objects.requireNonNull(parameters, "parameters");
    Objects.requireNonNull(batches, "data.batches");
    Objects.requireNonNull(optimizer, "optimizer");
    parameters = List.copyOf(parameters);
    batches = List.copyOf(batches);
    probeVector = probeVector == null ? null : probeVector.clone();
    if (steps < 0) {
      throw new IllegalArgumentException("steps: must be >= 0 but was " + steps);
    }
    model.validateParameters(parameters);
    if (batches.isEmpty()) {
      throw new IllegalArgumentException("data.batches: at least one batch is needed");
    }
    for (int i = 0; i < batches.size(); i++) {
      validateBatch(model, batches.get(i), "data.batches[" + i + "]");
    }
    if (probeVector != null && probeVector.length != model.layout().dimension()) {
      throw new IllegalArgumentException(
          "probe.vector: expected " + model.layout().dimension()
              + " values (one per trainable entry) but has " + probeVector.length);
    }
    if (probeVector != null) {
      for (int i = 0; i < probeVector.length; i++) {
        if (!Double.isFinite(probeVector[i])) {
          throw new IllegalArgumentException("probe.vector: value " + i + " is " + probeVector[i]);
        }
      }
    }
  }

  /**
   * Checks a batch against a model: input shape, target shape for the loss, label range, finite
   * values.
   *
   * @param model the model the batch is for
   * @param b the batch
   * @param where the batch's JSON path used in messages, e.g. {@code data.batches[0]}
   * @throws IllegalArgumentException naming {@code where}
   */
  public static void validateBatch(ModelSpec model, ArrayBatch b, String where) {
    int[] in = model.inputShape();
    if (!Arrays.equals(b.sampleShape(), in)) {
      throw new IllegalArgumentException(
          where + ".x.shape: expected [n, " + Arrays.toString(in).replaceAll("[\\[\\]]", "")
              + "] but was " + Arrays.toString(b.xShape()));
    }
    int k = model.outputShape()[0];
    int[] ys = b.yShape();
    double[] x = b.xView();
    for (int i = 0; i < x.length; i++) {
      if (!Double.isFinite(x[i])) {
        throw new IllegalArgumentException(where + ".x: value " + i + " is " + x[i]);
      }
    }
    double[] y = b.yView();
    switch (model.loss()) {
      case SOFTMAX_CROSS_ENTROPY -> {
        if (ys.length != 1) {
          throw new IllegalArgumentException(
              where + ".y.shape: softmax_cross_entropy takes class labels [n] but was "
                  + Arrays.toString(ys));
        }
        for (int i = 0; i < y.length; i++) {
          if (y[i] != Math.rint(y[i]) || y[i] < 0 || y[i] >= k) {
            throw new IllegalArgumentException(
                where + ".y: label " + i + " is " + y[i] + "; expected an integer in [0, " + k
                    + ")");
          }
        }
      }
      case MSE, SIGMOID_BINARY_CROSS_ENTROPY -> {
        if (ys.length != 2 || ys[1] != k) {
          throw new IllegalArgumentException(
              where + ".y.shape: " + model.loss().jsonName() + " takes targets [n, " + k
                  + "] but was " + Arrays.toString(ys));
        }
        for (int i = 0; i < y.length; i++) {
          if (!Double.isFinite(y[i])) {
            throw new IllegalArgumentException(where + ".y: value " + i + " is " + y[i]);
          }
        }
      }
    }
  }

  /**
   * The batch used by step {@code t}.
   *
   * @param t the 0-based step index
   * @return {@code batches[t mod batches.size()]}
   */
  public ArrayBatch batchForStep(int t) {
    return batches.get(t % batches.size());
  }

  /**
   * This case with another expected trajectory (null removes it).
   *
   * @param e the new expected trajectory, or null
   * @return a new case with the same other parts
   */
  public CaseFile withExpected(Trajectory e) {
    return new CaseFile(dtype, model, parameters, batches, optimizer, steps, probeVector, e);
  }

  /**
   * One number per trainable entry, flattened in parameter order, along which the probe takes its
   * products.
   *
   * @return a new copy of the probe vector, or null if the case has none
   */
  @Override
  public double[] probeVector() {
    return probeVector == null ? null : probeVector.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof CaseFile c
        && dtype == c.dtype
        && model.equals(c.model)
        && parameters.equals(c.parameters)
        && batches.equals(c.batches)
        && optimizer.equals(c.optimizer)
        && steps == c.steps
        && Arrays.equals(probeVector, c.probeVector)
        && Objects.equals(expected, c.expected);
  }

  @Override
  public int hashCode() {
    return Objects.hash(dtype, model, parameters, batches, optimizer, steps);
  }
}
