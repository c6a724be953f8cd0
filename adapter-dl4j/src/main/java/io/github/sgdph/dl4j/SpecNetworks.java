package io.github.sgdph.dl4j;

import io.github.sgdph.model.LayerSpec;
import io.github.sgdph.model.LossKind;
import io.github.sgdph.model.ModelSpec;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.graph.PreprocessorVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.LossLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.conf.layers.recurrent.LastTimeStep;
import org.deeplearning4j.nn.conf.preprocessor.CnnToFeedForwardPreProcessor;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.lossfunctions.ILossFunction;
import org.nd4j.linalg.lossfunctions.impl.LossBinaryXENT;
import org.nd4j.linalg.lossfunctions.impl.LossMCXENT;
import org.nd4j.linalg.lossfunctions.impl.LossMSE;

/**
 * Builds the Deeplearning4j network of a neutral {@link ModelSpec}: a {@link MultiLayerNetwork}
 * for a {@linkplain ModelSpec#isSequential() sequential} spec, a {@link ComputationGraph} for a
 * graph spec (one vertex per node, named as the node; the input vertex {@value #INPUT}).
 * <ul>
 *   <li>{@code dense} → {@code DenseLayer} with identity activation, or the {@code OutputLayer}
 *       when it is the last node;
 *   <li>{@code conv2d} → {@code ConvolutionLayer} (identity activation, {@code Truncate} mode,
 *       symmetric padding: PyTorch's output size);
 *   <li>{@code batchnorm} → {@code BatchNormalization} ({@code eps}; {@code decay = 1 − momentum};
 *       variance stored as such, not as log10 std);
 *   <li>activations → {@code ActivationLayer}; {@code maxpool2d}/{@code avgpool2d} →
 *       {@code SubsamplingLayer} without padding; {@code global_avgpool2d} →
 *       {@code GlobalPoolingLayer(AVG)} ({@code [n, C]});
 *   <li>{@code flatten} → a {@code CnnToFeedForwardPreProcessor} (NCHW, row-major as
 *       {@code torch.flatten}): on the next layer in a chain, a {@code PreprocessorVertex} in a
 *       graph;
 *   <li>{@code identity} → an identity {@code ActivationLayer} in a chain; no vertex in a graph
 *       (its consumers read its input);
 *   <li>{@code add} → {@code ElementWiseVertex(Add)};
 *   <li>{@code lstm} → one DL4J {@code LSTM} per stacked layer (sigmoid gates, tanh, {@code NWC}
 *       data: the case format's {@code [n, T, F]} as it is), the top one wrapped in
 *       {@code LastTimeStep} unless {@code return_sequences}; in a chain consecutive layers, in a
 *       graph vertices {@code <node>-l<k>} below the top one, which is named as the node (the
 *       entries' gate order and layout are mapped by {@link NetworkCore.Mapping#LSTM_GATES});
 *   <li>the loss → the {@code OutputLayer}'s (or an appended {@code LossLayer}'s, vertex
 *       {@value #LOSS}) softmax + {@code MCXENT}, identity + {@code MSE}, or sigmoid +
 *       {@code XENT}.
 * </ul>
 * The network stores the parameters; the adapter's own R-operator code computes with them in
 * the spec's semantics (CASES.md), which differ from DL4J's own in one place: the spec's sigmoid
 * binary cross-entropy is the mean over all elements, DL4J's {@code XENT} sums over the outputs.
 */
final class SpecNetworks {
  /** The name of a graph's input vertex (no node's name: {@link ModelSpec#INPUT}). */
  static final String INPUT = ModelSpec.INPUT;
  /** The name of an appended loss layer's vertex (no node's name: node names have no dash). */
  static final String LOSS = "sgdph-loss";

  private SpecNetworks() {}

  /**
   * A built network.
   *
   * @param net the {@code MultiLayerNetwork} or {@code ComputationGraph}
   * @param layerId per spec node, the id of its DL4J layer (the prefix of its parameters' keys:
   *     a layer index or a vertex name), null for a node without one (flatten, identity, add)
   * @param stackIds per spec node, the ids of its stacked DL4J {@code LSTM} layers (bottom to
   *     top), null for a node that is no {@code lstm}
   * @param trainModeBatchNorm the ids of the train-mode batch norms
   */
  record Built(
      Model net, String[] layerId, String[][] stackIds, Set<String> trainModeBatchNorm) {
    /** The DL4J layer of an id. */
    Layer layer(String id) {
      return net instanceof ComputationGraph g
          ? g.getLayer(id) : ((MultiLayerNetwork) net).getLayer(Integer.parseInt(id));
    }
  }

  static Built build(ModelSpec spec, DataType dt) {
    return spec.isSequential() ? chain(spec, dt) : graph(spec, dt);
  }

  private static NeuralNetConfiguration.Builder base(DataType dt) {
    return new NeuralNetConfiguration.Builder().dataType(dt).updater(new NoOp()).seed(0);
  }

  private static InputType inputType(ModelSpec spec) {
    int[] in = spec.inputShape();
    return switch (in.length) {
      case 3 -> InputType.convolutional(in[1], in[2], in[0]);
      case 2 -> InputType.recurrent(in[1], in[0], RNNFormat.NWC);
      default -> InputType.feedForward(in[0]);
    };
  }

  /**
   * Stacked layer {@code k} of an {@code lstm} op: DL4J's {@code LSTM} over {@code NWC} data,
   * in {@code LastTimeStep} if it is the top one of an op that returns the last hidden state.
   */
  private static org.deeplearning4j.nn.conf.layers.Layer lstmLayer(LayerSpec.Lstm l, int k) {
    LSTM lstm = new LSTM.Builder().nIn(l.inputSizeOf(k)).nOut(l.hidden())
        .activation(Activation.TANH).gateActivationFunction(Activation.SIGMOID)
        .dataFormat(RNNFormat.NWC).build();
    return k == l.numLayers() - 1 && !l.returnSequences() ? new LastTimeStep(lstm) : lstm;
  }

  /**
   * Why the backend does not build a spec's {@code flatten} of a sequence (no DL4J pre-processor
   * reshapes {@code [n, T, H]} to {@code [n, T·H]}), or null if every flatten takes an image.
   */
  static String unflattenable(ModelSpec spec) {
    List<LayerSpec> layers = spec.layers();
    for (int i = 0; i < layers.size(); i++) {
      int[] shape = spec.shapeBefore(i);
      if (layers.get(i) instanceof LayerSpec.Flatten && shape.length != 3) {
        return "node " + i + " (flatten): the dl4j backend flattens images [C, H, W] only, not "
            + java.util.Arrays.toString(shape) + " (a sequence)";
      }
    }
    return null;
  }

  /**
   * The DL4J layer of a spec op with parameters or an activation, pooling or identity ({@code
   * last}: the network's last node, a dense one becoming the {@code OutputLayer}); null for
   * flatten and add, which are no layers.
   */
  private static org.deeplearning4j.nn.conf.layers.Layer layer(
      LayerSpec l, boolean last, LossKind loss, String where) {
    if (l instanceof LayerSpec.Dense d) {
      return last
          ? new OutputLayer.Builder(lossFunction(loss)).nIn(d.in()).nOut(d.out())
              .hasBias(d.bias()).activation(outputActivation(loss)).build()
          : new DenseLayer.Builder().nIn(d.in()).nOut(d.out()).hasBias(d.bias())
              .activation(Activation.IDENTITY).build();
    }
    if (l instanceof LayerSpec.Conv2d c) {
      return new ConvolutionLayer.Builder(c.kernelH(), c.kernelW())
          .stride(c.strideH(), c.strideW()).padding(c.padH(), c.padW())
          .nIn(c.in()).nOut(c.out()).hasBias(c.bias()).activation(Activation.IDENTITY)
          .convolutionMode(ConvolutionMode.Truncate).build();
    }
    if (l instanceof LayerSpec.BatchNorm b) {
      return new BatchNormalization.Builder().nIn(b.features()).nOut(b.features())
          .eps(b.eps()).decay(1 - b.momentum()).useLogStd(false).build();
    }
    if (l instanceof LayerSpec.Activation a) {
      return new ActivationLayer.Builder().activation(activation(a.kind())).build();
    }
    if (l instanceof LayerSpec.Identity) {
      return new ActivationLayer.Builder().activation(Activation.IDENTITY).build();
    }
    if (l instanceof LayerSpec.Pool2d p) {
      return new SubsamplingLayer.Builder(
              p.kind() == LayerSpec.PoolKind.MAX
                  ? SubsamplingLayer.PoolingType.MAX : SubsamplingLayer.PoolingType.AVG,
              new int[] {p.kernelH(), p.kernelW()}, new int[] {p.strideH(), p.strideW()})
          .padding(0, 0).convolutionMode(ConvolutionMode.Truncate).build();
    }
    if (l instanceof LayerSpec.GlobalAvgPool) {
      return new GlobalPoolingLayer.Builder(PoolingType.AVG).poolingDimensions(2, 3)
          .collapseDimensions(true).build();
    }
    throw new IllegalArgumentException(where + ": the dl4j backend has no layer for " + l);
  }

  private static LossLayer lossLayer(LossKind loss) {
    return new LossLayer.Builder(lossFunction(loss)).activation(outputActivation(loss)).build();
  }

  private static Built chain(ModelSpec spec, DataType dt) {
    List<LayerSpec> layers = spec.layers();
    int last = layers.size() - 1;
    boolean outputIsDense = layers.get(last) instanceof LayerSpec.Dense;
    NeuralNetConfiguration.ListBuilder lb = base(dt).list();
    String[] ids = new String[layers.size()];
    String[][] stacks = new String[layers.size()][];
    Set<String> train = new HashSet<>();
    int m = 0;
    int[] pendingFlatten = null;
    for (int i = 0; i < layers.size(); i++) {
      LayerSpec l = layers.get(i);
      if (l instanceof LayerSpec.Flatten) {
        pendingFlatten = spec.shapeBefore(i);
        continue;
      }
      if (pendingFlatten != null) {
        lb.inputPreProcessor(m, flatten(pendingFlatten));
        pendingFlatten = null;
      }
      if (l instanceof LayerSpec.Lstm r) {
        stacks[i] = new String[r.numLayers()];
        for (int k = 0; k < r.numLayers(); k++) {
          stacks[i][k] = Integer.toString(m);
          lb.layer(m, lstmLayer(r, k));
          m++;
        }
        ids[i] = stacks[i][r.numLayers() - 1];
        continue;
      }
      ids[i] = Integer.toString(m);
      lb.layer(m, layer(l, i == last, spec.loss(), "layers[" + i + "]"));
      if (l instanceof LayerSpec.BatchNorm b && b.mode() == LayerSpec.Mode.TRAIN) {
        train.add(ids[i]);
      }
      m++;
    }
    if (!outputIsDense) {
      if (pendingFlatten != null) {
        lb.inputPreProcessor(m, flatten(pendingFlatten));
      }
      lb.layer(m, lossLayer(spec.loss()));
    }
    lb.setInputType(inputType(spec));
    lb.validateOutputLayerConfig(false);
    MultiLayerNetwork net = new MultiLayerNetwork(lb.build());
    net.init();
    return new Built(net, ids, stacks, Set.copyOf(train));
  }

  private static Built graph(ModelSpec spec, DataType dt) {
    List<ModelSpec.Node> nodes = spec.nodes();
    int last = nodes.size() - 1;
    ComputationGraphConfiguration.GraphBuilder gb = base(dt).graphBuilder().addInputs(INPUT);
    String[] ids = new String[nodes.size()];
    String[][] stacks = new String[nodes.size()][];
    Set<String> train = new HashSet<>();
    // the vertex whose output is each node's (an identity node's is its input's)
    Map<String, String> vertexOf = new HashMap<>();
    vertexOf.put(ModelSpec.INPUT, INPUT);
    for (int i = 0; i <= last; i++) {
      ModelSpec.Node node = nodes.get(i);
      String name = node.name();
      String[] in = node.inputs().stream().map(vertexOf::get).toArray(String[]::new);
      LayerSpec l = node.op();
      if (l instanceof LayerSpec.Identity) {
        vertexOf.put(name, in[0]);
        continue;
      }
      if (l instanceof LayerSpec.Add) {
        gb.addVertex(name, new ElementWiseVertex(ElementWiseVertex.Op.Add), in);
      } else if (l instanceof LayerSpec.Flatten) {
        gb.addVertex(name, new PreprocessorVertex(flatten(spec.shapeBefore(i))), in);
      } else if (l instanceof LayerSpec.Lstm r) {
        stacks[i] = new String[r.numLayers()];
        String[] below = in;
        for (int k = 0; k < r.numLayers(); k++) {
          stacks[i][k] = k == r.numLayers() - 1 ? name : name + "-l" + k;
          gb.addLayer(stacks[i][k], lstmLayer(r, k), below);
          below = new String[] {stacks[i][k]};
        }
        ids[i] = name;
      } else {
        gb.addLayer(name,
            layer(l, i == last, spec.loss(), "nodes[" + i + "] (" + name + ")"), in);
        ids[i] = name;
        if (l instanceof LayerSpec.BatchNorm b && b.mode() == LayerSpec.Mode.TRAIN) {
          train.add(name);
        }
      }
      vertexOf.put(name, name);
    }
    String output = vertexOf.get(nodes.get(last).name());
    if (!(nodes.get(last).op() instanceof LayerSpec.Dense)) {
      gb.addLayer(LOSS, lossLayer(spec.loss()), output);
      output = LOSS;
    }
    gb.setOutputs(output);
    gb.setInputTypes(inputType(spec));
    gb.validateOutputLayerConfig(false);
    ComputationGraph g = new ComputationGraph(gb.build());
    g.init();
    return new Built(g, ids, stacks, Set.copyOf(train));
  }

  private static CnnToFeedForwardPreProcessor flatten(int[] chw) {
    return new CnnToFeedForwardPreProcessor(chw[1], chw[2], chw[0]);
  }

  private static Activation activation(LayerSpec.ActivationKind k) {
    return switch (k) {
      case RELU -> Activation.RELU;
      case TANH -> Activation.TANH;
      case SIGMOID -> Activation.SIGMOID;
      case SOFTPLUS -> Activation.SOFTPLUS;
    };
  }

  private static Activation outputActivation(LossKind loss) {
    return switch (loss) {
      case SOFTMAX_CROSS_ENTROPY -> Activation.SOFTMAX;
      case MSE -> Activation.IDENTITY;
      case SIGMOID_BINARY_CROSS_ENTROPY -> Activation.SIGMOID;
    };
  }

  private static ILossFunction lossFunction(LossKind loss) {
    return switch (loss) {
      case SOFTMAX_CROSS_ENTROPY -> new LossMCXENT();
      case MSE -> new LossMSE();
      case SIGMOID_BINARY_CROSS_ENTROPY -> new LossBinaryXENT();
    };
  }
}
