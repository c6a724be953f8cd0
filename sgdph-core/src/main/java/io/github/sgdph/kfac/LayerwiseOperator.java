package io.github.sgdph.kfac;

import io.github.sgdph.linalg.LinearOperator;
import io.github.sgdph.param.ParameterLayout;
import io.github.sgdph.param.ParameterVector;
import java.util.Objects;

/**
 * A block-diagonal operator over the factored layers (one dense matrix map per layer, acting on
 * {@code V = [W | b]}) and a diagonal over the other blocks: what KFAC, EKFAC and their damped
 * inverses share.
 */
abstract class LayerwiseOperator implements LinearOperator {
  final KroneckerFactors factors;
  final LayerView view;

  LayerwiseOperator(KroneckerFactors factors, LayerView view) {
    this.factors = factors;
    this.view = view;
  }

  @Override
  public final ParameterLayout domain() {
    return view.domain;
  }

  /** The map of one layer's part: a new {@code [out × |cols|]} matrix. */
  abstract double[][] layer(LayerView.Part p, double[][] v);

  /** The map of one entry {@code d} of the diagonal of a non-factored block. */
  abstract double diagonal(double d, double x);

  @Override
  public final ParameterVector apply(ParameterVector v) {
    Objects.requireNonNull(v, "v");
    if (!v.layout().sameBlocksAs(view.domain)) {
      throw new IllegalArgumentException(
          "v: layout " + v.layout() + " is not the operator's domain " + view.domain);
    }
    double[][] in = view.host(v);
    double[][] out = view.zeros();
    for (LayerView.Part p : view.parts) {
      LayerView.scatter(p, layer(p, LayerView.gather(p, in)), out);
    }
    for (int o = 0; o < view.otherPos.length; o++) {
      int pos = view.otherPos[o];
      double[] d = factors.diag(view.otherRoot[o]);
      for (int j = 0; j < d.length; j++) {
        out[pos][j] = diagonal(d[j], in[pos][j]);
      }
    }
    return view.vector(factors.algebra(), out);
  }

  /** The sum of the diagonal blocks' entries. */
  final double diagonalTrace() {
    double t = 0;
    for (int root : view.otherRoot) {
      for (double v : factors.diag(root)) {
        t += v;
      }
    }
    return t;
  }

  /** Checks a damping {@code λ > 0}. */
  static double requireDamping(double lambda) {
    if (!(lambda > 0) || !Double.isFinite(lambda)) {
      throw new IllegalArgumentException("lambda: the damping must be > 0 and finite but was "
          + lambda);
    }
    return lambda;
  }
}
