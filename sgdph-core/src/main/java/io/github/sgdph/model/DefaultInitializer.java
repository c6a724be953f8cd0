package io.github.sgdph.model;

import io.github.sgdph.tensor.Shapes;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.random.RandomGenerator;

/**
 * PyTorch's default initialisation of the layers of a {@link ModelSpec}, drawn from a caller's
 * {@link RandomGenerator} so that the same seed gives the same parameters on every backend.
 *
 * <ul>
 *   <li>dense and conv2d weight: {@code kaiming_uniform_(a = sqrt(5))}, which is
 *       {@code U(-1/sqrt(fan_in), 1/sqrt(fan_in))} (He et al. 2015, with PyTorch's gain
 *       {@code sqrt(2 / (1 + a^2))}: {@code gain * sqrt(3 / fan_in) = 1/sqrt(fan_in)});
 *   <li>dense and conv2d bias: {@code U(-1/sqrt(fan_in), 1/sqrt(fan_in))};
 *   <li>batch norm: weight 1, bias 0, and for eval mode {@code running_mean} 0,
 *       {@code running_var} 1;
 *   <li>lstm: every weight and bias {@code U(-1/sqrt(H), 1/sqrt(H))}, {@code H} the hidden size
 *       (PyTorch's {@code nn.LSTM.reset_parameters}; PyTorch's effective bias {@code b_ih + b_hh}
 *       is the sum of two such draws, the spec's single bias one).
 * </ul>
 *
 * {@code fan_in} is {@code in} for a dense layer and {@code in·kh·kw} for a convolution. The
 * values are drawn entry by entry in {@link ModelSpec#entries()} order, row-major within an
 * entry, each as {@code bound·(2u − 1)} with {@code u = random.nextDouble()}. The numbers do
 * not reproduce PyTorch's generator, only its distribution.
 */
public final class DefaultInitializer {
  private DefaultInitializer() {}

  /**
   * Initial values for every entry of {@code spec} (trainable or not), in
   * {@link ModelSpec#entries()} order.
   *
   * @param spec the model
   * @param random the source of the uniform draws
   * @return one array per entry, trainable flags as in the spec
   */
  public static List<NamedArray> initialize(ModelSpec spec, RandomGenerator random) {
    Objects.requireNonNull(spec, "spec");
    Objects.requireNonNull(random, "random");
    List<NamedArray> out = new ArrayList<>(spec.entries().size());
    for (ModelSpec.Entry e : spec.entries()) {
      LayerSpec layer = spec.layers().get(e.layerIndex());
      int[] shape = e.shape();
      double[] v = new double[Shapes.size(shape)];
      String role = e.role();
      if (layer instanceof LayerSpec.BatchNorm) {
        Arrays.fill(v, role.equals("weight") || role.equals("running_var") ? 1.0 : 0.0);
      } else {
        double bound = 1.0 / Math.sqrt(fanIn(layer));
        for (int i = 0; i < v.length; i++) {
          v[i] = bound * (2.0 * random.nextDouble() - 1.0);
        }
      }
      out.add(new NamedArray(e.name(), shape, v, e.trainable()));
    }
    return out;
  }

  /** The fan-in of a dense or conv2d layer; an LSTM's hidden size (PyTorch's bound). */
  static int fanIn(LayerSpec layer) {
    if (layer instanceof LayerSpec.Lstm r) {
      return r.hidden();
    }
    if (layer instanceof LayerSpec.Dense d) {
      return d.in();
    }
    if (layer instanceof LayerSpec.Conv2d c) {
      return c.in() * c.kernelH() * c.kernelW();
    }
    throw new IllegalArgumentException("layer: " + layer.type() + " has no fan-in");
  }
}
