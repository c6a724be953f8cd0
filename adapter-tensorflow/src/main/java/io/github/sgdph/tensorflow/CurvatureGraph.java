package io.github.sgdph.tensorflow;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.tensorflow.Graph;
import org.tensorflow.GraphOperation;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.family.TFloating;

/**
 * The subgraphs of the gradient and the curvature products, added once to the graph of a
 * model's forward pass: for parameters {@code θ} (placeholders), network outputs {@code z} and
 * the scalar mean loss {@code ℓ(z)},
 *
 * <ul>
 *   <li>gradient {@code g = ∇ℓ} (the first backward pass, seeded with a constant 1: TensorFlow's
 *       default seed {@code OnesLike(ℓ)} would make the second backward pass differentiate
 *       {@code OnesLike});
 *   <li>Hessian-vector product {@code H v = ∇(gᵀv)} with {@code v} fed per block (Pearlmutter
 *       1994, "Fast exact multiplication by the Hessian", eq. 3: the Hessian-vector product is
 *       the gradient of the directional derivative);
 *   <li>transposed-Jacobian product {@code Jᵀu}, the backward pass from {@code z} seeded with
 *       {@code u}, a placeholder of the shape of {@code z} that defaults to zeros ({@link
 *       TfCurvature#vjp} feeds it);
 *   <li>Jacobian-vector product {@code J v} by double backward: {@code Jᵀu} is linear in {@code
 *       u}, so {@code J v = ∇_u (Jᵀu)ᵀv} exactly, whatever {@code u} (the default zeros);
 *   <li>the output gradient {@code ∂ℓ/∂z};
 *   <li>generalized-Gauss-Newton-vector product {@code G v = Jᵀ H_L J v} (Schraudolph 2002,
 *       "Fast curvature matrix-vector products for second-order gradient descent", eq. 7): {@code
 *       H_L J v = ∇_z (∇_zℓ)ᵀ stop(J v)}, then one backward pass from {@code z} seeded with
 *       {@code stop(H_L J v)}.
 * </ul>
 *
 * <p>The second backward passes differentiate TensorFlow's backprop ops, which needs {@link
 * SecondOrderGradients#register()}. A parameter that does not reach the loss gets zero
 * gradients and products.
 *
 * <p>The per-term gradients ({@link PerTerm}) are added on first use, for a chunk of terms at a
 * time.
 */
final class CurvatureGraph {
  final Output<?> loss;
  final Output<?> outputs;
  final List<Output<?>> params;
  final List<Output<?>> gradient;
  final List<Output<?>> directions;
  final List<Output<?>> hvp;
  final Output<?> jvp;
  final List<Output<?>> ggnvp;
  /** {@code ∂ℓ/∂z}, of the shape of {@code z} (zeros where {@code ℓ} does not depend on it). */
  final Output<?> outputGradient;
  /** The seed {@code u} of {@link #jtu}: a placeholder of {@code z}'s shape, zeros if not fed. */
  final Output<?> u;
  /** {@code Jᵀu} per parameter. */
  final List<Output<?>> jtu;

  private final Graph graph;
  private final Ops tf;
  private final Map<Integer, PerTerm> perTerm = new HashMap<>();

  @SuppressWarnings({"unchecked", "rawtypes"})
  CurvatureGraph(Graph g, Ops tf, List<Output<?>> params, Output<?> outputs, Output<?> loss) {
    SecondOrderGradients.register();
    this.graph = g;
    this.tf = tf;
    this.loss = loss;
    this.outputs = outputs;
    this.params = List.copyOf(params);
    Operand<TFloating> l = (Operand) loss;
    Operand<TFloating> z = (Operand) outputs;
    Class<TFloating> type = (Class) loss.type();
    Output<?> one = tf.withName("sgdph_seed").constantOfSameType(l, 1.0).asOutput();
    Output<?>[] theta = params.toArray(new Output<?>[0]);

    this.gradient = completed(tf, add(g, "sgdph_gradient", loss, theta, one), params);

    List<Output<?>> v = new ArrayList<>();
    for (int i = 0; i < theta.length; i++) {
      v.add(tf.withName("sgdph_v_" + i).placeholder(type, Placeholder.shape(theta[i].shape()))
          .output());
    }
    this.directions = List.copyOf(v);
    Output<?> gv = innerProduct(tf, gradient, v, type);
    this.hvp = completed(tf, add(g, "sgdph_hvp", gv, theta, one), params);

    Output<?> u =
        tf.withName("sgdph_u").placeholderWithDefault(tf.zerosLike(z), outputs.shape()).asOutput();
    this.u = u;
    this.jtu =
        completed(tf, g.addGradients("sgdph_jtu", new Output<?>[] {outputs}, theta,
            new Output<?>[] {u}), params);
    SecondOrderGradients.rethrowFailure("the transposed Jacobian");
    Output<?> s = innerProduct(tf, jtu, v, type);
    Output<?>[] jv = add(g, "sgdph_jvp", s, new Output<?>[] {u}, one);
    this.jvp = present(jv[0]) ? jv[0] : tf.zerosLike(z).asOutput();

    Output<?>[] dz = add(g, "sgdph_dloss", loss, new Output<?>[] {outputs}, one);
    Operand<TFloating> gz = present(dz[0]) ? (Operand) dz[0] : tf.zerosLike(z);
    this.outputGradient = gz.asOutput();
    Operand<TFloating> jvStopped = tf.stopGradient((Operand<TFloating>) (Operand) jvp);
    Output<?> quad = sumAll(tf, tf.math.mul(gz, jvStopped)).asOutput();
    Output<?>[] hl = add(g, "sgdph_lossHessian", quad, new Output<?>[] {outputs}, one);
    Operand<TFloating> hlj = present(hl[0]) ? (Operand) hl[0] : tf.zerosLike(z);
    Output<?> seed = tf.stopGradient(hlj).asOutput();
    this.ggnvp =
        completed(tf, g.addGradients("sgdph_ggn", new Output<?>[] {outputs}, theta,
            new Output<?>[] {seed}), params);
    SecondOrderGradients.rethrowFailure("the Gauss-Newton product");
  }

  /**
   * The per-term subgraph for chunks of {@code chunk} terms, added to the graph on first use and
   * kept with it.
   *
   * @param chunk the number of terms one run computes, at least 1
   */
  PerTerm perTerm(int chunk) {
    if (chunk < 1) {
      throw new IllegalArgumentException("chunk: must be at least 1 but was " + chunk);
    }
    return perTerm.computeIfAbsent(chunk, c -> new PerTerm(c));
  }

  /**
   * The per-term gradients {@code g_i = ∂ℓ_i/∂θ = Jᵀ u_i} of {@code ℓ = (1/n) Σ_i ℓ_i} for the
   * terms {@code start, ..., start + chunk − 1}, with {@code u_i} row {@code i} of {@code n ∂ℓ/∂z}
   * and zeros elsewhere: {@code chunk} backward passes from {@code z}, each seeded in the graph
   * (gather row {@code i} of {@code n ∂ℓ/∂z}, scatter it into zeros of {@code z}'s shape), all
   * sharing the one forward pass of a {@code Session.run}. Only the fetched terms run, so a last,
   * shorter chunk fetches fewer.
   */
  final class PerTerm {
    /** The index of the chunk's first term (an {@code int32} scalar placeholder). */
    final Output<TInt32> start;
    /** {@code terms.get(c).get(b)}: block {@code b} of term {@code start + c}. */
    final List<List<Output<?>>> terms;

    @SuppressWarnings({"unchecked", "rawtypes"})
    private PerTerm(int chunk) {
      Ops s = tf.withSubScope("sgdph_perterm" + chunk);
      Class<TFloating> type = (Class) loss.type();
      Output<?>[] theta = params.toArray(new Output<?>[0]);
      this.start =
          s.withName("start").placeholder(TInt32.class, Placeholder.shape(Shape.scalar())).output();
      Operand<TFloating> z = (Operand) outputs;
      Operand<TInt32> shape = s.shape(z);
      Operand<TInt32> n = s.gather(shape, s.constant(new int[] {0}), s.constant(0));
      Operand<TFloating> scaled =
          s.math.mul((Operand<TFloating>) (Operand) outputGradient, s.dtypes.cast(n, type));
      List<List<Output<?>>> out = new ArrayList<>(chunk);
      for (int c = 0; c < chunk; c++) {
        Operand<TInt32> i = s.math.add(start, s.constant(new int[] {c}));
        Operand<TFloating> row = s.gather(scaled, i, s.constant(0));
        Operand<TInt32> at = s.reshape(i, s.constant(new int[] {1, 1}));
        Output<?> seed = s.scatterNd(at, row, shape).asOutput();
        String prefix = "sgdph_perterm" + chunk + "_" + c;
        Output<?>[] g = graph.addGradients(prefix, new Output<?>[] {outputs}, theta,
            new Output<?>[] {seed});
        SecondOrderGradients.rethrowFailure(prefix);
        out.add(completed(tf, g, params));
      }
      this.terms = List.copyOf(out);
    }
  }

  private static Output<?>[] add(Graph g, String prefix, Output<?> y, Output<?>[] x, Output<?> seed) {
    Output<?>[] out = g.addGradients(prefix, new Output<?>[] {y}, x, new Output<?>[] {seed});
    SecondOrderGradients.rethrowFailure(prefix);
    return out;
  }

  /**
   * Whether {@code Graph.addGradients} returned a gradient: where the differentiated value does
   * not depend on an input (a loss linear in the outputs has no second derivative), TensorFlow
   * Java returns an output without an operation.
   */
  static boolean present(Output<?> o) {
    return o != null && o.op() instanceof GraphOperation op
        && !op.getUnsafeNativeHandle().isNull();
  }

  /** The gradients, with zeros for parameters that the differentiated value does not reach. */
  private static List<Output<?>> completed(Ops tf, Output<?>[] grads, List<Output<?>> params) {
    List<Output<?>> out = new ArrayList<>(grads.length);
    for (int i = 0; i < grads.length; i++) {
      out.add(present(grads[i]) ? grads[i] : tf.zerosLike(params.get(i)).asOutput());
    }
    return out;
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  static Operand<TFloating> sumAll(Ops tf, Operand<TFloating> x) {
    return tf.reduceSum(tf.reshape(x, tf.constant(new int[] {-1})), tf.constant(0));
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  private static Output<?> innerProduct(
      Ops tf, List<Output<?>> a, List<Output<?>> b, Class<TFloating> type) {
    Operand<TFloating> s = null;
    for (int i = 0; i < a.size(); i++) {
      Operand<TFloating> t = sumAll(tf, tf.math.mul((Operand) a.get(i), (Operand) b.get(i)));
      s = s == null ? t : tf.math.add(s, t);
    }
    return s == null ? tf.zeros(tf.constant(new int[0]), type).asOutput() : s.asOutput();
  }
}
