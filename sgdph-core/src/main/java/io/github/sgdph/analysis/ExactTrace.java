package io.github.sgdph.analysis;

import io.github.sgdph.linalg.LinearOperator;
import io.github.sgdph.param.ParameterLayout;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.tensor.Tensor;
import io.github.sgdph.tensor.TensorAlgebra;

/**
 * The exact trace {@code Σ_i e_iᵀ A e_i} from {@code n} products with the basis vectors: what a
 * trace estimator does instead of sampling once its budget reaches the dimension {@code n}.
 */
final class ExactTrace {
  private ExactTrace() {}

  /**
   * The exact trace of {@code op}.
   *
   * @param op the operator, of dimension at most {@link Integer#MAX_VALUE}
   * @param algebra the backend of the basis vectors
   * @param listener receives a report after every product
   * @param task the task name of the reports
   * @param limit the limit the reports give (the estimator's budget)
   * @return the trace, with standard error 0, {@code n} samples and {@code n} products
   * @throws ArithmeticException if a diagonal entry is NaN or infinite
   */
  static TraceEstimate of(LinearOperator op, TensorAlgebra algebra, AnalysisListener listener,
      String task, int limit) {
    ParameterLayout layout = op.domain();
    int n = Math.toIntExact(layout.dimension());
    double sum = 0;
    int i = 0;
    for (int b = 0; b < layout.blockCount(); b++) {
      int size = layout.block(b).size();
      for (int j = 0; j < size; j++, i++) {
        double aii;
        try (ParameterVector e = basis(algebra, layout, b, j); ParameterVector ae = op.apply(e)) {
          aii = e.dot(ae);
        }
        if (!Double.isFinite(aii)) {
          throw new ArithmeticException(task + ": diagonal entry " + i + " is " + aii);
        }
        sum += aii;
        listener.onProgress(new AnalysisProgress(task, i + 1, limit, i + 1, sum));
      }
    }
    return new TraceEstimate(sum, 0, n, n, true);
  }

  /** The basis vector of entry {@code j} of block {@code b}. */
  private static ParameterVector basis(TensorAlgebra algebra, ParameterLayout layout, int b,
      int j) {
    Tensor[] t = new Tensor[layout.blockCount()];
    for (int k = 0; k < t.length; k++) {
      int[] shape = layout.block(k).shape();
      if (k == b) {
        double[] v = new double[layout.block(k).size()];
        v[j] = 1;
        t[k] = algebra.fromArray(v, shape);
      } else {
        t[k] = algebra.zeros(shape);
      }
    }
    return ParameterVector.of(layout, t);
  }
}
