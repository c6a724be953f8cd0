package io.github.sgdph.curvature;

import io.github.sgdph.param.ParameterLayout;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.tensor.TensorAlgebra;
import java.util.ArrayList;
import java.util.List;

/**
 * A model's mean loss on one fixed batch, as a function of the model's parameters: what a
 * second-order optimizer steps against. It is the closure of {@code torch.optim.LBFGS.step}:
 * methods that must re-evaluate the loss (line searches, trust regions) call it again.
 *
 * <p>An objective reads and updates the parameters of its model; it is not thread-safe.
 */
public interface Objective {

  /**
   * The layout of the trainable parameters.
   *
   * @return the root layout of the model's trainable parameters
   */
  ParameterLayout layout();

  /**
   * The algebra of the model's tensors.
   *
   * @return the algebra (backend and dtype) of the model's tensors
   */
  TensorAlgebra algebra();

  /**
   * What the backend declares about its products.
   *
   * @return the backend's declared dtype, exactness and tolerance
   */
  Capabilities capabilities();

  /**
   * The number of samples in the batch.
   *
   * @return the number of samples, at least 1
   */
  int batchSize();

  /**
   * The loss, gradient and curvature products at the current parameters. The caller closes
   * it; it becomes stale when the parameters change.
   *
   * @return a new curvature object at the current parameters
   */
  Curvature curvature();

  /**
   * The mean loss at the current parameters (a forward pass only).
   *
   * @return the loss averaged over the batch's samples
   */
  double loss();

  /**
   * The mean loss at {@code θ + alpha·direction} without changing the parameters (for line
   * searches and trust-region ratios).
   *
   * @param direction the direction, over the model's layout or a selection of it; not modified
   * @param alpha the step length along {@code direction}
   * @return the mean loss at the displaced parameters
   */
  double lossAt(ParameterVector direction, double alpha);

  /**
   * {@code θ ← θ + alpha·delta}, on the blocks of {@code delta}'s layout.
   *
   * @param delta the update, over the model's layout or a selection of it; not modified
   * @param alpha the factor of {@code delta}
   * @throws IllegalArgumentException naming the block if {@code delta} has a NaN or infinite
   *     entry or {@code alpha} is not finite; the parameters are then left untouched
   */
  void applyUpdate(ParameterVector delta, double alpha);

  /**
   * A copy of the current parameters.
   *
   * @return a new vector over {@link #layout()}; the caller closes it
   */
  ParameterVector parameters();

  /**
   * The same model on the samples {@code indices} of this batch (for curvature mini-batches
   * and {@linkplain #isolatedSampleGradients() isolated-sample gradients}).
   *
   * @param indices distinct sample indices into this batch, from 0 to {@code batchSize() - 1}
   * @return an objective on the same model (sharing its parameters) whose batch holds those
   *     samples, in the given order
   * @throws IllegalArgumentException for an empty, out-of-range or duplicated index list
   */
  Objective subBatch(int... indices);

  /**
   * Folds this objective's batch statistics, at the model's current parameters, into the model's
   * running statistics, as one training-mode forward pass of PyTorch's {@code BatchNorm} does:
   * for every train-mode batch norm, {@code running_mean ← (1 − m) running_mean + m μ_B} and
   * {@code running_var ← (1 − m) running_var + m σ²_B M/(M − 1)}, with {@code m} the layer's
   * momentum, {@code μ_B} and {@code σ²_B} the batch mean and (biased) variance of each channel
   * over its {@code M = N·H·W} values — the running variance is the unbiased estimate, as
   * PyTorch's. A training loop calls it once per step, before the optimizer's step on this
   * objective (PyTorch updates them in the step's forward pass, at the step's starting
   * parameters); line searches and curvature products never update them. The trainable
   * parameters and this objective's loss are unchanged.
   *
   * <p>The default refuses: a backend that tracks running statistics overrides it (a model
   * without train-mode batch norm has nothing to update, and its backends may return at once).
   *
   * @throws IllegalArgumentException if a channel has a single value in the batch ({@code M =
   *     1}), whose unbiased variance is undefined; nothing changes
   * @throws ArithmeticException if a batch statistic is not finite; nothing changes
   * @throws UnsupportedOperationException if the backend does not track running statistics
   */
  default void updateRunningStatistics() {
    throw new UnsupportedOperationException(
        getClass().getName() + ": running statistics are not tracked");
  }

  /**
   * The per-term gradients {@code g_i = ∂ℓ_i/∂θ} of this batch's loss {@code L = (1/n) Σ_i ℓ_i},
   * in one forward pass of the whole batch ({@link Curvature#perTermGradients()}): with
   * train-mode batch norm each term depends on the batch statistics, and {@code (1/n) Σ_i g_i}
   * is the batch gradient. This is what the gradient second moment, Martens' preconditioner and
   * the analysis mean by per-sample gradients.
   *
   * @return {@link #batchSize()} new vectors over {@link #layout()}, in sample order; the caller
   *     closes them
   * @throws UnsupportedOperationException naming the backend, if it cannot compute them
   */
  default List<ParameterVector> perTermGradients() {
    try (Curvature c = curvature()) {
      return c.perTermGradients();
    }
  }

  /**
   * The gradient of each sample's loss <em>evaluated alone</em>, as a one-sample batch: another
   * quantity than {@link #perTermGradients()} wherever samples interact (train-mode batch norm,
   * where a one-sample batch normalises with its own statistics and some backends refuse it).
   * Equal to the per-term gradients for networks whose samples do not interact.
   *
   * @return {@link #batchSize()} new vectors over {@link #layout()}, in sample order; the caller
   *     closes them
   */
  default List<ParameterVector> isolatedSampleGradients() {
    List<ParameterVector> out = new ArrayList<>(batchSize());
    try {
      for (int i = 0; i < batchSize(); i++) {
        try (Curvature c = subBatch(i).curvature()) {
          out.add(c.gradient());
        }
      }
    } catch (RuntimeException | Error e) {
      out.forEach(ParameterVector::close);
      throw e;
    }
    return out;
  }
}
