package io.github.sgdph.dl4j;

/**
 * A network has a layer (or a layer setting, pre-processor, vertex, activation or loss) for which
 * this adapter has no exact R-operator. The message names the layer (by its index in a
 * {@code MultiLayerNetwork}, by its vertex name in a {@code ComputationGraph}) and lists what is
 * supported ({@link #SUPPORTED}).
 */
public final class UnsupportedLayerException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  /** What the adapter supports, as the exception messages list it. */
  public static final String SUPPORTED =
      "DenseLayer; OutputLayer and LossLayer with softmax + MCXENT (or NEGATIVELOGLIKELIHOOD), "
          + "sigmoid + XENT, or identity/relu/tanh/sigmoid/softplus + MSE (or L2), without loss "
          + "weights; BatchNormalization (train and inference); ConvolutionLayer (2-D, NCHW, "
          + "Truncate/Strict/Same mode); SubsamplingLayer (MAX, AVG; NCHW); ActivationLayer; "
          + "activations identity, relu, tanh, sigmoid, softplus (softmax only before MCXENT); "
          + "GlobalPoolingLayer (AVG over height and width; NCHW); "
          + "LSTM (sigmoid gates, tanh activation; NCW or NWC), alone or in LastTimeStep; "
          + "RnnOutputLayer (NCW) with those activations and losses; "
          + "pre-processors CnnToFeedForwardPreProcessor (NCHW) and FeedForwardToCnnPreProcessor; "
          + "no dropout and no weight noise; in a ComputationGraph of one input and one output: "
          + "LayerVertex of those layers, ElementWiseVertex(Add), MergeVertex (dimension 1), "
          + "PreprocessorVertex of those pre-processors";

  /** The index of the offending layer in the network. */
  private final int layerIndex;
  /** The name of the offending vertex in a graph, or null. */
  private final String vertexName;

  /**
   * An exception naming what is not supported and listing what is.
   *
   * @param layerIndex the index of the offending layer in the network
   * @param what what is not supported, e.g. {@code "layer 3 (LSTM)"}
   */
  public UnsupportedLayerException(int layerIndex, String what) {
    super(what + " is not supported by the sgdph Deeplearning4j adapter's exact curvature "
        + "products. Supported: " + SUPPORTED + ".");
    this.layerIndex = layerIndex;
    this.vertexName = null;
  }

  /**
   * An exception naming a vertex of a {@code ComputationGraph} that is not supported and listing
   * what is.
   *
   * @param vertexName the name of the offending vertex in the graph
   * @param what what is not supported, e.g. {@code "vertex 'b' (LSTM)"}
   */
  public UnsupportedLayerException(String vertexName, String what) {
    super(what + " is not supported by the sgdph Deeplearning4j adapter's exact curvature "
        + "products. Supported: " + SUPPORTED + ".");
    this.layerIndex = -1;
    this.vertexName = vertexName;
  }

  /**
   * The index of the offending layer in the network.
   *
   * @return the layer index in a {@code MultiLayerNetwork}; -1 for a vertex of a
   *     {@code ComputationGraph}
   */
  public int layerIndex() {
    return layerIndex;
  }

  /**
   * The name of the offending vertex of a {@code ComputationGraph}.
   *
   * @return the vertex name, or null for a layer of a {@code MultiLayerNetwork}
   */
  public String vertexName() {
    return vertexName;
  }
}
