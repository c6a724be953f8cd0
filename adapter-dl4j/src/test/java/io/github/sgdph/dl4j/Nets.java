package io.github.sgdph.dl4j;

import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.LossLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.conf.layers.recurrent.LastTimeStep;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/**
 * Small networks configured with DL4J's own builders (not from a spec), one or two per layer
 * type, and batches for them.
 */
final class Nets {
  private Nets() {}

  /** A named network and a batch for it. */
  record Case(String name, MultiLayerNetwork net, DataSet batch) {
    @Override
    public String toString() {
      return name;
    }
  }

  static NeuralNetConfiguration.ListBuilder list(DataType dt) {
    return new NeuralNetConfiguration.Builder().dataType(dt).seed(42)
        .weightInit(WeightInit.XAVIER).updater(new Sgd(0.1)).list();
  }

  static MultiLayerNetwork init(NeuralNetConfiguration.ListBuilder b) {
    MultiLayerNetwork net = new MultiLayerNetwork(b.build());
    net.init();
    return net;
  }

  /** Inputs with a fixed seed. */
  static INDArray inputs(DataType dt, long... shape) {
    Nd4j.getRandom().setSeed(7);
    return Nd4j.randn(dt, shape);
  }

  static INDArray oneHot(DataType dt, int n, int k) {
    INDArray y = Nd4j.zeros(dt, n, k);
    for (int i = 0; i < n; i++) {
      y.putScalar(i, (i * 7 + 3) % k, 1.0);
    }
    return y;
  }

  static INDArray targets(DataType dt, int n, int k, boolean binary) {
    INDArray y = Nd4j.zeros(dt, n, k);
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < k; j++) {
        double v = Math.sin(1.3 * i + 0.7 * j);
        y.putScalar(i, j, binary ? (v > 0 ? 1 : 0) : v);
      }
    }
    return y;
  }

  /** Dense tanh + OutputLayer softmax + MCXENT. */
  static Case denseSoftmax(DataType dt) {
    MultiLayerNetwork net = init(list(dt)
        .layer(new DenseLayer.Builder().nIn(5).nOut(7).activation(Activation.TANH).build())
        .layer(new OutputLayer.Builder(LossFunction.MCXENT).nIn(7).nOut(3)
            .activation(Activation.SOFTMAX).build()));
    return new Case("dense tanh + softmax/MCXENT", net,
        new DataSet(inputs(dt, 6, 5), oneHot(dt, 6, 3)));
  }

  /** Dense relu + OutputLayer identity + MSE. */
  static Case denseMse(DataType dt) {
    MultiLayerNetwork net = init(list(dt)
        .layer(new DenseLayer.Builder().nIn(4).nOut(6).activation(Activation.RELU).build())
        .layer(new OutputLayer.Builder(LossFunction.MSE).nIn(6).nOut(2)
            .activation(Activation.IDENTITY).build()));
    return new Case("dense relu + identity/MSE", net,
        new DataSet(inputs(dt, 5, 4), targets(dt, 5, 2, false)));
  }

  /** Dense sigmoid + OutputLayer sigmoid + XENT. */
  static Case denseXent(DataType dt) {
    MultiLayerNetwork net = init(list(dt)
        .layer(new DenseLayer.Builder().nIn(4).nOut(5).activation(Activation.SIGMOID).build())
        .layer(new OutputLayer.Builder(LossFunction.XENT).nIn(5).nOut(3)
            .activation(Activation.SIGMOID).build()));
    return new Case("dense sigmoid + sigmoid/XENT", net,
        new DataSet(inputs(dt, 6, 4), targets(dt, 6, 3, true)));
  }

  /** Dense identity + ActivationLayer softplus + Dense + LossLayer softmax + MCXENT. */
  static Case activationAndLossLayer(DataType dt) {
    MultiLayerNetwork net = init(list(dt)
        .layer(new DenseLayer.Builder().nIn(4).nOut(6).activation(Activation.IDENTITY).build())
        .layer(new ActivationLayer.Builder().activation(Activation.SOFTPLUS).build())
        .layer(new DenseLayer.Builder().nIn(6).nOut(3).activation(Activation.IDENTITY).build())
        .layer(new LossLayer.Builder(LossFunction.MCXENT).activation(Activation.SOFTMAX)
            .build()));
    return new Case("ActivationLayer softplus + LossLayer softmax/MCXENT", net,
        new DataSet(inputs(dt, 5, 4), oneHot(dt, 5, 3)));
  }

  /** Dense + BatchNormalization + tanh + OutputLayer softmax. */
  static Case batchNorm(DataType dt) {
    MultiLayerNetwork net = init(list(dt)
        .layer(new DenseLayer.Builder().nIn(4).nOut(6).activation(Activation.IDENTITY).build())
        .layer(new BatchNormalization.Builder().nOut(6).build())
        .layer(new ActivationLayer.Builder().activation(Activation.TANH).build())
        .layer(new OutputLayer.Builder(LossFunction.MCXENT).nIn(6).nOut(3)
            .activation(Activation.SOFTMAX).build()));
    INDArray mean = net.getLayer(1).getParam("mean");
    mean.assign(Nd4j.linspace(-0.5, 0.5, mean.length(), dt).reshape(mean.shape()));
    INDArray logStd = net.getLayer(1).getParam("log10stdev");
    logStd.assign(Nd4j.linspace(-0.3, 0.2, logStd.length(), dt).reshape(logStd.shape()));
    return new Case("BatchNormalization (dense input)", net,
        new DataSet(inputs(dt, 8, 4), oneHot(dt, 8, 3)));
  }

  /**
   * FeedForwardToCnn + ConvolutionLayer (padding, dilation, relu) + SubsamplingLayer MAX + Dense +
   * OutputLayer (CnnToFeedForward pre-processor).
   */
  static Case convMaxPool(DataType dt) {
    MultiLayerNetwork net = init(list(dt)
        .layer(new ConvolutionLayer.Builder(3, 3).stride(1, 1).padding(1, 1).dilation(2, 2)
            .nOut(3).activation(Activation.RELU).build())
        .layer(new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.MAX)
            .kernelSize(2, 2).stride(2, 2).build())
        .layer(new DenseLayer.Builder().nOut(5).activation(Activation.TANH).build())
        .layer(new OutputLayer.Builder(LossFunction.MCXENT).nOut(3)
            .activation(Activation.SOFTMAX).build())
        .setInputType(InputType.convolutionalFlat(6, 6, 2)));
    return new Case("ConvolutionLayer relu + SubsamplingLayer MAX (flat input)", net,
        new DataSet(inputs(dt, 4, 72), oneHot(dt, 4, 3)));
  }

  /**
   * ConvolutionLayer in Same mode with stride 2 (asymmetric padding) + BatchNormalization +
   * SubsamplingLayer AVG with padding (divisor without the padding) + OutputLayer MSE.
   */
  static Case convSameAvgPool(DataType dt) {
    MultiLayerNetwork net = init(list(dt)
        .layer(new ConvolutionLayer.Builder(3, 3).stride(2, 2).nOut(4)
            .convolutionMode(ConvolutionMode.Same).activation(Activation.SIGMOID).build())
        .layer(new BatchNormalization.Builder().build())
        .layer(new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.AVG)
            .kernelSize(2, 2).stride(1, 1).padding(1, 1).avgPoolIncludePadInDivisor(false)
            .build())
        .layer(new OutputLayer.Builder(LossFunction.MSE).nOut(2)
            .activation(Activation.TANH).build())
        .setInputType(InputType.convolutional(6, 5, 2)));
    return new Case("ConvolutionLayer Same + BatchNormalization (CNN) + SubsamplingLayer AVG",
        net, new DataSet(inputs(dt, 3, 2, 6, 5), targets(dt, 3, 2, false)));
  }

  /**
   * Every LSTM bias of {@code net} (DL4J's {@code "b"} of layers {@code layers}) drawn from
   * {@code U(−0.5, 0.5)}, so that no gate's bias is DL4J's constant initialisation.
   */
  static void randomLstmBiases(MultiLayerNetwork net, int... layers) {
    Nd4j.getRandom().setSeed(3);
    for (int l : layers) {
      INDArray b = net.getLayer(l).getParam("b");
      b.assign(Nd4j.rand(b.dataType(), b.shape()).subi(0.5));
    }
  }

  /** Sequences {@code [n, k, T]} of one-hot targets per time step. */
  static INDArray oneHotSequences(DataType dt, int n, int k, int steps) {
    INDArray y = Nd4j.zeros(dt, n, k, steps);
    for (int i = 0; i < n; i++) {
      for (int t = 0; t < steps; t++) {
        y.putScalar(new int[] {i, (i * 7 + t * 5 + 3) % k, t}, 1.0);
      }
    }
    return y;
  }

  /**
   * LSTM (3 → 4, whole sequence) + LastTimeStep(LSTM 4 → 5) + Dense tanh + OutputLayer softmax
   * + MCXENT, on sequences {@code [6, 3, 5]}.
   */
  static Case lstmLastStep(DataType dt) {
    MultiLayerNetwork net = init(list(dt)
        .layer(new LSTM.Builder().nIn(3).nOut(4).activation(Activation.TANH).build())
        .layer(new LastTimeStep(new LSTM.Builder().nIn(4).nOut(5)
            .activation(Activation.TANH).build()))
        .layer(new DenseLayer.Builder().nIn(5).nOut(4).activation(Activation.TANH).build())
        .layer(new OutputLayer.Builder(LossFunction.MCXENT).nIn(4).nOut(3)
            .activation(Activation.SOFTMAX).build()));
    randomLstmBiases(net, 0, 1);
    return new Case("LSTM + LastTimeStep(LSTM) + softmax/MCXENT", net,
        new DataSet(inputs(dt, 6, 3, 5), oneHot(dt, 6, 3)));
  }

  /** LSTM (3 → 4) + RnnOutputLayer softmax + MCXENT per time step, on {@code [5, 3, 4]}. */
  static Case lstmSequence(DataType dt) {
    MultiLayerNetwork net = init(list(dt)
        .layer(new LSTM.Builder().nIn(3).nOut(4).activation(Activation.TANH).build())
        .layer(new RnnOutputLayer.Builder(LossFunction.MCXENT).nIn(4).nOut(3)
            .activation(Activation.SOFTMAX).build()));
    randomLstmBiases(net, 0);
    return new Case("LSTM + RnnOutputLayer softmax/MCXENT", net,
        new DataSet(inputs(dt, 5, 3, 4), oneHotSequences(dt, 5, 3, 4)));
  }

  /** LSTM (2 → 3) + LSTM (3 → 3) + RnnOutputLayer tanh + MSE, on {@code [4, 2, 6]}. */
  static Case lstmSequenceMse(DataType dt) {
    MultiLayerNetwork net = init(list(dt)
        .layer(new LSTM.Builder().nIn(2).nOut(3).activation(Activation.TANH).build())
        .layer(new LSTM.Builder().nIn(3).nOut(3).activation(Activation.TANH).build())
        .layer(new RnnOutputLayer.Builder(LossFunction.MSE).nIn(3).nOut(2)
            .activation(Activation.TANH).build()));
    randomLstmBiases(net, 0, 1);
    return new Case("LSTM + LSTM + RnnOutputLayer tanh/MSE", net,
        new DataSet(inputs(dt, 4, 2, 6), Nd4j.rand(dt, 4, 2, 6).subi(0.5)));
  }
}
