package io.github.sgdph.conformance;

import io.github.sgdph.model.LayerSpec;
import io.github.sgdph.model.LossKind;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.ModelSpec.Node;
import java.util.List;
import java.util.stream.Stream;

/**
 * Small spec LSTMs ({@link LayerSpec.Lstm}, issue 20) that an adapter's tests check beyond the
 * bundled {@code lstm-fashion-rows-*} cases (a two-layer LSTM returning its last hidden state,
 * then a dense head), which the kit replays: each exercises a part of the LSTM's exact R-operator
 * through time that those cases do not.
 */
public final class LstmSpecs {
  private LstmSpecs() {}

  /**
   * A whole returned sequence through {@code flatten}: one LSTM layer of 5 units over 4 steps of
   * 3 features returning every step, flattened into a dense head of 2, mse.
   *
   * @return the spec
   */
  public static ModelSpec returnedSequence() {
    return new ModelSpec(new int[] {4, 3}, List.of(
        new LayerSpec.Lstm(3, 5, 1, true),
        new LayerSpec.Flatten(),
        new LayerSpec.Dense(20, 2, true)), LossKind.MSE);
  }

  /**
   * An LSTM node in a graph: a one-layer LSTM of 3 units over 5 steps of 3 features returning its
   * sequence, a residual add of that sequence and the input, feeding a stacked two-layer LSTM of 4
   * units returning its last step, then a dense head of 3, softmax cross-entropy.
   *
   * @return the spec
   */
  public static ModelSpec residualGraph() {
    return ModelSpec.graph(new int[] {5, 3}, List.of(
        Node.of("rnn", new LayerSpec.Lstm(3, 3, 1, true), ModelSpec.INPUT),
        Node.of("sum", new LayerSpec.Add(), "rnn", ModelSpec.INPUT),
        Node.of("top", new LayerSpec.Lstm(3, 4, 2, false)),
        Node.of("head", new LayerSpec.Dense(4, 3, true))), LossKind.SOFTMAX_CROSS_ENTROPY);
  }

  /**
   * A single time step: a three-layer LSTM of 3 units over one step of 2 features, then a dense
   * head of 2, softmax cross-entropy.
   *
   * @return the spec
   */
  public static ModelSpec singleStep() {
    return new ModelSpec(new int[] {1, 2}, List.of(
        new LayerSpec.Lstm(2, 3, 3, false),
        new LayerSpec.Dense(3, 2, true)), LossKind.SOFTMAX_CROSS_ENTROPY);
  }

  /**
   * The three specs, in the order {@link #returnedSequence}, {@link #residualGraph},
   * {@link #singleStep}: a {@code @MethodSource} for parameterized tests.
   *
   * @return a new stream of the three specs
   */
  public static Stream<ModelSpec> all() {
    return Stream.of(returnedSequence(), residualGraph(), singleStep());
  }
}
