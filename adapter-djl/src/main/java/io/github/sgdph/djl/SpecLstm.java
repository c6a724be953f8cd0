package io.github.sgdph.djl;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Activation;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.Initializer;
import ai.djl.util.PairList;
import io.github.sgdph.model.LayerSpec;
import java.util.Map;

/**
 * A spec {@code lstm} layer ({@link LayerSpec.Lstm}; docs/CASE-FORMAT.md, "LSTM and sequence
 * data") unrolled through time with ordinary PyTorch operations — {@code matmul}, {@code add},
 * {@code mul}, {@code sigmoid}, {@code tanh}, {@code split} and {@code stack} — so that autograd
 * differentiates the recurrence twice and the Hessian-, Gauss-Newton- and Jacobian-vector products
 * of {@link DjlCurvature} are exact through time (Pearlmutter, "Fast exact multiplication by the
 * Hessian", Neural Computation 6(1), 1994, §4; Hochreiter and Schmidhuber 1997 for the cell).
 * DJL's fused {@code ai.djl.nn.recurrent.LSTM} block is deliberately not used: it calls PyTorch's
 * {@code lstm}, which runs as cuDNN's fused kernel on a GPU, and that has no double backward
 * (the CPU form is composed of differentiable operations); its two biases per layer are not the
 * spec's one either.
 *
 * <p>The parameters are the spec's own, in its layout (which is PyTorch's {@code nn.LSTM} with one
 * bias): per stacked layer {@code k}, {@code weight_ih_lk [4H, F_k]}, {@code weight_hh_lk [4H,
 * H]} and {@code bias_lk [4H]}, the rows the gates {@code i, f, g, o} in that order, so no
 * mapping is needed. Each step computes {@code z = x_t W_ihᵀ + h_{t−1} W_hhᵀ + b}, {@code i =
 * σ(z_i), f = σ(z_f), g = tanh(z_g), o = σ(z_o)}, {@code c_t = f ∘ c_{t−1} + i ∘ g}, {@code h_t =
 * o ∘ tanh(c_t)}, from zero initial states; the first step, where {@code h_0 = c_0 = 0}, computes
 * {@code z = x_1 W_ihᵀ + b} and {@code c_1 = i ∘ g} (the same function and derivatives, without
 * products by zero). The input products of all steps are one {@code matmul} of the {@code [N, T,
 * F_k]} sequence. Input {@code [N, T, F]}; output {@code [N, H]} ({@code h_T} of the top layer)
 * or {@code [N, T, H]} with {@code return_sequences}.
 */
final class SpecLstm extends AbstractBlock {
  private final LayerSpec.Lstm spec;
  private final Parameter[] weightIh;
  private final Parameter[] weightHh;
  private final Parameter[] bias;

  /**
   * The block of one spec layer; its parameters are registered under {@code prefix + role}
   * ({@code "<name>.weight_ih_lk"}, ...) in {@code params}.
   */
  SpecLstm(LayerSpec.Lstm spec, String prefix, Map<String, Parameter> params) {
    this.spec = spec;
    int stack = spec.numLayers();
    long gates = 4L * spec.hidden();
    weightIh = new Parameter[stack];
    weightHh = new Parameter[stack];
    bias = new Parameter[stack];
    for (int k = 0; k < stack; k++) {
      weightIh[k] = parameter("weight_ih_l" + k, Parameter.Type.WEIGHT,
          new Shape(gates, spec.inputSizeOf(k)), prefix, params);
      weightHh[k] = parameter("weight_hh_l" + k, Parameter.Type.WEIGHT,
          new Shape(gates, spec.hidden()), prefix, params);
      bias[k] = parameter("bias_l" + k, Parameter.Type.BIAS, new Shape(gates), prefix, params);
    }
  }

  private Parameter parameter(String role, Parameter.Type type, Shape shape, String prefix,
      Map<String, Parameter> params) {
    Parameter p = addParameter(
        Parameter.builder().setName(role).setType(type).optShape(shape)
            // the values are the spec's, imported after the block is built
            .optInitializer(Initializer.ZEROS).build());
    params.put(prefix + role, p);
    return p;
  }

  @Override
  protected NDList forwardInternal(
      ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
    NDArray x = inputs.singletonOrThrow();
    Shape s = x.getShape();
    if (s.dimension() != 3 || s.get(2) != spec.in()) {
      throw new IllegalArgumentException(
          "x: lstm expects sequences [N, T, " + spec.in() + "] but gets " + s);
    }
    Device d = x.getDevice();
    int steps = Math.toIntExact(s.get(1));
    NDArray seq = x;
    NDArray[] h = null;
    for (int k = 0; k < spec.numLayers(); k++) {
      NDArray wih = store.getValue(weightIh[k], d, training);
      NDArray whhT = store.getValue(weightHh[k], d, training).transpose();
      NDArray b = store.getValue(bias[k], d, training);
      // [N, T, 4H]: the input products and the bias of every step, split into steps [N, 1, 4H]
      NDList in = seq.matMul(wih.transpose()).add(b).split(steps, 1);
      h = new NDArray[steps];
      NDArray c = null;
      for (int t = 0; t < steps; t++) {
        NDArray z = in.get(t).squeeze(1);
        if (t > 0) {
          z = z.add(h[t - 1].matMul(whhT));
        }
        NDList gates = z.split(4, 1);
        NDArray i = Activation.sigmoid(gates.get(0));
        NDArray g = gates.get(2).tanh();
        NDArray o = Activation.sigmoid(gates.get(3));
        NDArray ig = i.mul(g);
        c = t == 0 ? ig : Activation.sigmoid(gates.get(1)).mul(c).add(ig);
        h[t] = o.mul(c.tanh());
      }
      if (k + 1 < spec.numLayers()) {
        seq = NDArrays.stack(new NDList(h), 1);
      }
    }
    return new NDList(spec.returnSequences() ? NDArrays.stack(new NDList(h), 1) : h[steps - 1]);
  }

  @Override
  public Shape[] getOutputShapes(Shape[] inputShapes) {
    Shape s = inputShapes[0];
    return new Shape[] {
      spec.returnSequences()
          ? new Shape(s.get(0), s.get(1), spec.hidden())
          : new Shape(s.get(0), spec.hidden())
    };
  }

  @Override
  protected void initializeChildBlocks(
      NDManager manager, DataType dataType, Shape... inputShapes) {
    // no child blocks: the parameters have their shapes from the spec
  }
}
