package io.github.sgdph.benchmarks;

import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.model.LayerSpec;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.NamedArray;
import io.github.sgdph.tensor.DType;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.Nesterovs;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/**
 * Deeplearning4j's idiomatic training step: a {@link MultiLayerNetwork} configured with DL4J's
 * builders ({@code DenseLayer}, {@code ConvolutionLayer}, {@code BatchNormalization},
 * {@code ActivationLayer}, {@code SubsamplingLayer}, an {@code OutputLayer} with softmax and
 * {@code MCXENT}; {@code setInputType} adds the flattening pre-processor) and the {@link Sgd}
 * updater, or {@link Nesterovs} with momentum — DL4J has no classical-momentum updater, and
 * Nesterovs' update is the same as PyTorch's {@code SGD(nesterov=True)}; one
 * {@link MultiLayerNetwork#fit(org.nd4j.linalg.dataset.api.DataSet)} per step. DL4J divides the
 * summed gradient by the batch size ({@code miniBatch}, on by default), so the step is on the
 * mean loss, as sgdph's.
 */
final class Dl4jNativeStep implements NativeStep {
  private final MultiLayerNetwork net;
  private final DataSet data;
  private final boolean nesterov;
  /** Spec entry → DL4J parameter key; dense weights are {@code [in, out]} in DL4J. */
  private final Map<String, String> keys = new LinkedHashMap<>();
  private final Map<String, Boolean> denseWeight = new LinkedHashMap<>();
  private boolean closed;

  Dl4jNativeStep(ModelSpec spec, List<NamedArray> init, ArrayBatch batch, DType dtype,
      double lr, double momentum) {
    DataType dt = dtype == DType.FLOAT64 ? DataType.DOUBLE : DataType.FLOAT;
    this.nesterov = momentum != 0;
    IUpdater updater = momentum == 0 ? new Sgd(lr) : new Nesterovs(lr, momentum);
    NeuralNetConfiguration.ListBuilder lb = new NeuralNetConfiguration.Builder()
        .dataType(dt).seed(0).updater(updater).list();
    List<LayerSpec> layers = spec.layers();
    int m = 0;
    for (int i = 0; i < layers.size(); i++) {
      LayerSpec l = layers.get(i);
      String p = i + ".";
      if (l instanceof LayerSpec.Flatten) {
        continue; // setInputType inserts DL4J's CNN-to-dense pre-processor (NCHW, row-major)
      }
      if (l instanceof LayerSpec.Dense d) {
        if (i == layers.size() - 1) {
          lb.layer(m, new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT)
              .nOut(d.out()).hasBias(d.bias()).activation(Activation.SOFTMAX).build());
        } else {
          lb.layer(m, new DenseLayer.Builder().nOut(d.out()).hasBias(d.bias())
              .activation(Activation.IDENTITY).build());
        }
        keys.put(p + "weight", m + "_W");
        denseWeight.put(p + "weight", true);
        if (d.bias()) {
          keys.put(p + "bias", m + "_b");
        }
      } else if (l instanceof LayerSpec.Conv2d c) {
        lb.layer(m, new ConvolutionLayer.Builder(c.kernelH(), c.kernelW())
            .stride(c.strideH(), c.strideW()).padding(c.padH(), c.padW())
            .nOut(c.out()).hasBias(c.bias()).activation(Activation.IDENTITY)
            .convolutionMode(ConvolutionMode.Truncate).build());
        keys.put(p + "weight", m + "_W");
        if (c.bias()) {
          keys.put(p + "bias", m + "_b");
        }
      } else if (l instanceof LayerSpec.BatchNorm b && b.mode() == LayerSpec.Mode.TRAIN) {
        lb.layer(m, new BatchNormalization.Builder().eps(b.eps()).decay(1 - b.momentum())
            .build());
        keys.put(p + "weight", m + "_gamma");
        keys.put(p + "bias", m + "_beta");
      } else if (l instanceof LayerSpec.Activation a
          && a.kind() != LayerSpec.ActivationKind.SOFTPLUS) {
        lb.layer(m, new ActivationLayer.Builder().activation(switch (a.kind()) {
          case RELU -> Activation.RELU;
          case TANH -> Activation.TANH;
          default -> Activation.SIGMOID;
        }).build());
      } else if (l instanceof LayerSpec.Pool2d q && q.kind() == LayerSpec.PoolKind.MAX) {
        lb.layer(m, new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.MAX,
                new int[] {q.kernelH(), q.kernelW()}, new int[] {q.strideH(), q.strideW()})
            .convolutionMode(ConvolutionMode.Truncate).build());
      } else {
        throw new IllegalArgumentException(
            "layers[" + i + "]: the DL4J baseline does not build " + l);
      }
      m++;
    }
    if (!(layers.get(layers.size() - 1) instanceof LayerSpec.Dense)) {
      throw new IllegalArgumentException(
          "layers: the DL4J baseline needs a dense last layer (its OutputLayer)");
    }
    int[] in = spec.inputShape();
    lb.setInputType(in.length == 3
        ? InputType.convolutional(in[1], in[2], in[0])
        : InputType.feedForward(in[0]));
    MultiLayerNetwork network = new MultiLayerNetwork(lb.build());
    DataSet ds = null;
    try {
      network.init();
      for (NamedArray a : init) {
        String key = keys.get(a.name());
        if (key != null) {
          INDArray target = network.getParam(key);
          try (INDArray v = denseWeight.containsKey(a.name())
              // PyTorch's row-major [out, in] is DL4J's [in, out] in 'f' order
              ? create(a.valuesView(), new long[] {a.shape()[1], a.shape()[0]}, 'f', dt)
              : create(a.valuesView(), target.shape(), 'c', dt)) {
            target.assign(v);
          }
        }
      }
      int n = batch.size();
      int k = spec.outputShape()[0];
      double[] oneHot = new double[n * k];
      double[] labels = batch.yView();
      for (int i = 0; i < n; i++) {
        oneHot[i * k + (int) labels[i]] = 1;
      }
      int[] xs = batch.xShape();
      long[] xShape = new long[xs.length];
      for (int i = 0; i < xs.length; i++) {
        xShape[i] = xs[i];
      }
      ds = new DataSet(create(batch.xView(), xShape, 'c', dt),
          create(oneHot, new long[] {n, k}, 'c', dt));
    } catch (RuntimeException | Error e) {
      network.close();
      throw e;
    }
    this.net = network;
    this.data = ds;
  }

  private static INDArray create(double[] v, long[] shape, char order, DataType dt) {
    if (dt == DataType.DOUBLE) {
      return Nd4j.create(v, shape, order);
    }
    float[] f = new float[v.length];
    for (int i = 0; i < f.length; i++) {
      f[i] = (float) v[i];
    }
    return Nd4j.create(f, shape, order);
  }

  @Override
  public String description() {
    return "DL4J MultiLayerNetwork.fit(DataSet), " + (nesterov ? "Nesterovs" : "Sgd") + " updater";
  }

  @Override
  public boolean nesterov() {
    return nesterov;
  }

  @Override
  public void step() {
    net.fit(data);
  }

  @Override
  public Map<String, double[]> trainableParameters() {
    Map<String, double[]> out = new LinkedHashMap<>();
    for (Map.Entry<String, String> e : keys.entrySet()) {
      INDArray p = net.getParam(e.getValue());
      char order = denseWeight.containsKey(e.getKey()) ? 'f' : 'c';
      // a compact copy in that order: its buffer is the values in the spec's row-major layout
      try (INDArray copy = p.castTo(DataType.DOUBLE).dup(order)) {
        out.put(e.getKey(), copy.data().asDouble());
      }
    }
    return out;
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      data.getFeatures().close();
      data.getLabels().close();
    } finally {
      net.close();
    }
  }
}
