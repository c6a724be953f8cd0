package io.github.sgdph.dl4j;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.graph.MergeVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/** Small {@code ComputationGraph}s configured with DL4J's own graph builder, as a user would. */
final class Graphs {
  private Graphs() {}

  static ComputationGraphConfiguration.GraphBuilder builder(DataType dt) {
    return new NeuralNetConfiguration.Builder().dataType(dt).seed(42)
        .weightInit(WeightInit.RELU).updater(new Sgd(0.1)).graphBuilder();
  }

  static ComputationGraph init(ComputationGraphConfiguration.GraphBuilder b) {
    ComputationGraph g = new ComputationGraph(b.build());
    g.init();
    return g;
  }

  private static ConvolutionLayer conv(int in, int out, int kernel, int stride) {
    return new ConvolutionLayer.Builder(kernel, kernel).stride(stride, stride)
        .padding(kernel / 2, kernel / 2).nIn(in).nOut(out).hasBias(false)
        .activation(Activation.IDENTITY).build();
  }

  private static ActivationLayer relu() {
    return new ActivationLayer.Builder().activation(Activation.RELU).build();
  }

  /**
   * A basic residual block (He et al., CVPR 2016, fig. 2): {@code relu(bn2(conv2(relu(bn1(
   * conv1(x))))) + s(x))}, {@code s} the identity or, when the block downsamples, the projection
   * shortcut {@code bn(conv1×1 stride 2 (x))} (their eq. 2).
   */
  private static String block(
      ComputationGraphConfiguration.GraphBuilder b, String name, String x, int in, int out,
      int stride) {
    b.addLayer(name + ".conv1", conv(in, out, 3, stride), x)
        .addLayer(name + ".bn1", new BatchNormalization.Builder().nOut(out).build(),
            name + ".conv1")
        .addLayer(name + ".relu1", relu(), name + ".bn1")
        .addLayer(name + ".conv2", conv(out, out, 3, 1), name + ".relu1")
        .addLayer(name + ".bn2", new BatchNormalization.Builder().nOut(out).build(),
            name + ".conv2");
    String shortcut = x;
    if (stride != 1 || in != out) {
      b.addLayer(name + ".proj", conv(in, out, 1, stride), x)
          .addLayer(name + ".projbn", new BatchNormalization.Builder().nOut(out).build(),
              name + ".proj");
      shortcut = name + ".projbn";
    }
    b.addVertex(name + ".add", new ElementWiseVertex(ElementWiseVertex.Op.Add),
            name + ".bn2", shortcut)
        .addLayer(name + ".relu2", relu(), name + ".add");
    return name + ".relu2";
  }

  /**
   * A small ResNet for {@code [n, 1, 8, 8]} images and 3 classes: a stem (3×3 convolution to 4
   * channels, batch norm, relu), a basic block with the identity shortcut, a basic block that
   * downsamples to 8 channels at 4×4 with the projection shortcut, global average pooling and a
   * dense softmax head (MCXENT); 1,319 parameters. Every batch norm's scale and shift are moved
   * off their initial 1 and 0 (seeded), so that no product is special there.
   */
  static ComputationGraph resnet(DataType dt) {
    ComputationGraphConfiguration.GraphBuilder b = builder(dt).addInputs("image")
        .addLayer("conv1", conv(1, 4, 3, 1), "image")
        .addLayer("bn1", new BatchNormalization.Builder().nOut(4).build(), "conv1")
        .addLayer("relu", relu(), "bn1");
    String x = block(b, "layer1", "relu", 4, 4, 1);
    x = block(b, "layer2", x, 4, 8, 2);
    b.addLayer("pool", new GlobalPoolingLayer.Builder(PoolingType.AVG).build(), x)
        .addLayer("fc", new OutputLayer.Builder(LossFunction.MCXENT).nIn(8).nOut(3)
            .activation(Activation.SOFTMAX).build(), "pool")
        .setOutputs("fc")
        .setInputTypes(InputType.convolutional(8, 8, 1));
    ComputationGraph g = init(b);
    Nd4j.getRandom().setSeed(5);
    g.paramTable().forEach((k, v) -> {
      if (k.endsWith("_gamma")) {
        v.assign(Nd4j.rand(dt, v.shape()).muli(0.6).addi(0.7));
      } else if (k.endsWith("_beta")) {
        v.assign(Nd4j.randn(dt, v.shape()).muli(0.2));
      }
    });
    return g;
  }

  /**
   * A dense graph with every kind of join, MSE: {@code h = tanh(x W1 + b1)} read by two
   * branches, {@code a = softplus(h W2 + b2)} and {@code c = sigmoid(h W3 + b3)}, merged
   * ({@code MergeVertex}, 6 + 4 features), then {@code s = m + m} (one array added to itself)
   * before the output {@code z = s W4 + b4}; 5 inputs, 2 outputs, 112 parameters.
   */
  static ComputationGraph joins(DataType dt) {
    ComputationGraphConfiguration.GraphBuilder b = builder(dt).addInputs("x")
        .addLayer("h", dense(5, 5, Activation.TANH), "x")
        .addLayer("a", dense(5, 6, Activation.SOFTPLUS), "h")
        .addLayer("c", dense(5, 4, Activation.SIGMOID), "h")
        .addVertex("m", new MergeVertex(), "a", "c")
        .addVertex("s", new ElementWiseVertex(ElementWiseVertex.Op.Add), "m", "m")
        .addLayer("z", new OutputLayer.Builder(LossFunction.MSE).nIn(10).nOut(2)
            .activation(Activation.IDENTITY).build(), "s")
        .setOutputs("z")
        .setInputTypes(InputType.feedForward(5));
    return init(b);
  }

  /**
   * Two convolution branches of the input (3×3 to 2 channels with tanh, 1×1 to 3 channels with
   * softplus) concatenated along the channels ({@code MergeVertex} on NCHW), then global
   * average pooling and a softmax head: for {@code [n, 1, 8, 8]} images, 3 classes, 44
   * parameters.
   */
  static ComputationGraph inception(DataType dt) {
    ComputationGraphConfiguration.GraphBuilder b = builder(dt).addInputs("image")
        .addLayer("a", new ConvolutionLayer.Builder(3, 3).padding(1, 1).nIn(1).nOut(2)
            .activation(Activation.TANH).build(), "image")
        .addLayer("b", new ConvolutionLayer.Builder(1, 1).nIn(1).nOut(3)
            .activation(Activation.SOFTPLUS).build(), "image")
        .addVertex("cat", new MergeVertex(), "a", "b")
        .addLayer("pool", new GlobalPoolingLayer.Builder(PoolingType.AVG).build(), "cat")
        .addLayer("fc", new OutputLayer.Builder(LossFunction.MCXENT).nIn(5).nOut(3)
            .activation(Activation.SOFTMAX).build(), "pool")
        .setOutputs("fc")
        .setInputTypes(InputType.convolutional(8, 8, 1));
    return init(b);
  }

  private static DenseLayer dense(int in, int out, Activation a) {
    return new DenseLayer.Builder().nIn(in).nOut(out).activation(a).build();
  }

  /** Images with a fixed seed. */
  static INDArray images(DataType dt, int n) {
    return Nets.inputs(dt, n, 1, 8, 8);
  }
}
