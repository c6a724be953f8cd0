package io.github.sgdph.kfac;

import io.github.sgdph.curvature.FactoredLayer;
import io.github.sgdph.model.LayerSpec;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.param.ParameterLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The Kronecker-factor SPI's layer list and layer inputs of a spec-built model, stated once for
 * every backend that builds the neutral spec (the reference keeps them from its own forward pass;
 * DJL and TensorFlow record the layers' inputs in theirs and unfold them here).
 *
 * <p>The factored layers are the spec's dense and 2-D convolution layers, in the spec's node
 * order (the order of a forward pass), each with its weight block {@code "<node>.weight"} and
 * bias block {@code "<node>.bias"} (if any) in {@link ModelSpec#layout()}. A dense layer's input
 * {@code a} is its input features ({@code positions = 1}); a convolution's is KFC's expanded
 * input (Grosse and Martens 2016, §3.1): the im2col patch at output position {@code t = oy·ow +
 * ox}, entry {@code (c·kh + i)·kw + j} being {@code x[c][oy·sh + i − ph][ox·sw + j − pw]} (zero
 * in the padding), the order of the flattened weight {@code [out, C, kh, kw]}.
 */
public final class SpecFactoring {
  private SpecFactoring() {}

  /**
   * The factored layers of a spec's model, as {@link
   * io.github.sgdph.curvature.Curvature#factoredLayers()} lists them.
   *
   * @param spec the model's spec
   * @return the dense and convolution layers, in node order
   */
  public static List<FactoredLayer> factoredLayers(ModelSpec spec) {
    Objects.requireNonNull(spec, "spec");
    ParameterLayout layout = spec.layout();
    List<FactoredLayer> out = new ArrayList<>();
    for (int i : layerIndices(spec)) {
      String node = spec.nodes().get(i).name();
      int w = layout.indexOf(node + ".weight");
      int b = layout.indexOf(node + ".bias");
      String name = layout.block(w).name();
      LayerSpec l = spec.layers().get(i);
      if (l instanceof LayerSpec.Dense d) {
        out.add(new FactoredLayer(FactoredLayer.Kind.DENSE, name, w, b, d.in(), d.out(), 1));
      } else {
        LayerSpec.Conv2d c = (LayerSpec.Conv2d) l;
        int[] o = spec.outputShapeOf(i);
        out.add(new FactoredLayer(FactoredLayer.Kind.CONV2D, name, w, b,
            c.in() * c.kernelH() * c.kernelW(), c.out(), o[1] * o[2]));
      }
    }
    return List.copyOf(out);
  }

  /**
   * The spec layer (node) index of each factored layer.
   *
   * @param spec the model's spec
   * @return indices into {@link ModelSpec#layers()}, one per entry of {@link #factoredLayers}
   */
  public static int[] layerIndices(ModelSpec spec) {
    Objects.requireNonNull(spec, "spec");
    List<Integer> at = new ArrayList<>();
    for (int i = 0; i < spec.layers().size(); i++) {
      LayerSpec l = spec.layers().get(i);
      if (l instanceof LayerSpec.Dense || l instanceof LayerSpec.Conv2d) {
        at.add(i);
      }
    }
    return at.stream().mapToInt(Integer::intValue).toArray();
  }

  /**
   * The inputs {@code a_it} of a factored layer from its input {@code x}: {@code x} itself for a
   * dense layer, the im2col patches for a convolution (see the class).
   *
   * @param spec the model's spec
   * @param layer the spec layer index of a dense or convolution layer
   * @param x the layer's input, row-major {@code [n, features]} or NCHW {@code [n, C, H, W]}
   * @param n the number of samples
   * @return a new array {@code [n, inputDim, positions]}, row-major
   * @throws IllegalArgumentException if {@code layer} is not a dense or convolution layer or
   *     {@code x} does not hold {@code n} of its inputs
   */
  public static double[] layerInputs(ModelSpec spec, int layer, double[] x, int n) {
    Objects.requireNonNull(spec, "spec");
    Objects.requireNonNull(x, "x");
    Objects.checkIndex(layer, spec.layers().size());
    int[] in = spec.shapeBefore(layer);
    long size = n;
    for (int d : in) {
      size *= d;
    }
    if (n < 1 || x.length != size) {
      throw new IllegalArgumentException("x: " + x.length + " values are not " + n
          + " inputs of shape " + java.util.Arrays.toString(in));
    }
    LayerSpec l = spec.layers().get(layer);
    if (l instanceof LayerSpec.Dense) {
      return x.clone();
    }
    if (!(l instanceof LayerSpec.Conv2d c)) {
      throw new IllegalArgumentException(
          "layer: " + layer + " is a " + l.type() + " layer, not dense or conv2d");
    }
    int[] o = spec.outputShapeOf(layer);
    return unfold(x, n, in[0], in[1], in[2], c.kernelH(), c.kernelW(), c.strideH(), c.strideW(),
        c.padH(), c.padW(), o[1], o[2]);
  }

  /** im2col of {@code n} NCHW samples: {@code [n, C·kh·kw, oh·ow]}. */
  private static double[] unfold(double[] x, int n, int channels, int h, int w, int kh, int kw,
      int sh, int sw, int ph, int pw, int oh, int ow) {
    int pos = oh * ow;
    int patch = channels * kh * kw;
    double[] cols = new double[n * patch * pos];
    for (int s = 0; s < n; s++) {
      int xOff = s * channels * h * w;
      int cOff = s * patch * pos;
      for (int c = 0; c < channels; c++) {
        for (int i = 0; i < kh; i++) {
          for (int j = 0; j < kw; j++) {
            int row = cOff + ((c * kh + i) * kw + j) * pos;
            for (int oy = 0; oy < oh; oy++) {
              int y = oy * sh + i - ph;
              if (y < 0 || y >= h) {
                continue;
              }
              int src = xOff + (c * h + y) * w;
              for (int ox = 0; ox < ow; ox++) {
                int xx = ox * sw + j - pw;
                if (xx >= 0 && xx < w) {
                  cols[row + oy * ow + ox] = x[src + xx];
                }
              }
            }
          }
        }
      }
    }
    return cols;
  }
}
