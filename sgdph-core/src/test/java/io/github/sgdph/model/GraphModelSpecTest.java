package io.github.sgdph.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.model.LayerSpec.ActivationKind;
import io.github.sgdph.model.ModelSpec.Node;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Graph model specs (issue 16): validation, entries, and sequential specs as graphs. */
class GraphModelSpecTest {
  private static final LayerSpec TANH = new LayerSpec.Activation(ActivationKind.TANH);

  private static ModelSpec graph(Node... nodes) {
    return ModelSpec.graph(new int[] {4}, List.of(nodes), LossKind.MSE);
  }

  private static String error(Node... nodes) {
    return assertThrows(IllegalArgumentException.class, () -> graph(nodes)).getMessage();
  }

  @Test
  void aSequentialSpecIsTheGraphOfItsChain() {
    List<LayerSpec> layers = List.of(new LayerSpec.Dense(4, 3, true), TANH,
        new LayerSpec.Dense(3, 2, false));
    ModelSpec seq = new ModelSpec(new int[] {4}, layers, LossKind.MSE);
    assertTrue(seq.isSequential());
    assertEquals(List.of("0", "1", "2"), seq.nodes().stream().map(Node::name).toList());
    assertEquals(List.of("input"), seq.nodes().get(0).inputs());
    assertEquals(List.of("1"), seq.nodes().get(2).inputs());
    ModelSpec same = graph(Node.of("0", layers.get(0), "input"), Node.of("1", TANH),
        Node.of("2", layers.get(2), "1"));
    assertTrue(same.isSequential());
    assertEquals(seq, same);
    assertEquals(seq.hashCode(), same.hashCode());
    assertEquals(seq.entries(), same.entries());
    assertArrayEquals(new int[] {3}, seq.shapeBefore(2));
    assertArrayEquals(new int[] {2}, seq.shapeBefore(3));
  }

  @Test
  void residualGraphHasNamedEntriesInNodeOrderAndAFanOut() {
    ModelSpec m = graph(
        Node.of("fc1", new LayerSpec.Dense(4, 4, true), "input"),
        Node.of("act", TANH),
        Node.of("sum", new LayerSpec.Add(), "act", "input", "fc1"),
        Node.of("head.fc", new LayerSpec.Dense(4, 2, false)));
    assertFalse(m.isSequential());
    assertEquals(List.of("fc1.weight", "fc1.bias", "head.fc.weight"),
        m.entries().stream().map(ModelSpec.Entry::name).toList());
    assertEquals("bias", m.entries().get(1).role());
    assertEquals(3, m.entries().get(2).layerIndex());
    assertArrayEquals(new int[] {1, -1, 0}, m.inputsOf(2));
    assertArrayEquals(new int[] {4}, m.outputShapeOf(2));
    assertArrayEquals(new int[] {2}, m.outputShape());
    assertEquals(3, m.indexOf("head.fc"));
    assertEquals(-1, m.indexOf("nope"));
  }

  @Test
  void resNetHasTorchvisionNamesAndEveryBatchNormsChannelWiseParameters() {
    ModelSpec m = ResNets.twoBlocks(new int[] {1, 8, 8}, 4, 3, LayerSpec.Mode.TRAIN);
    assertFalse(m.isSequential());
    assertArrayEquals(new int[] {8, 4, 4}, m.outputShapeOf(m.indexOf("layer2.0.add")));
    assertArrayEquals(new int[] {8}, m.outputShapeOf(m.indexOf("avgpool")));
    List<String> oneD = m.layout().blocks().stream()
        .filter(b -> b.channelWise()).map(b -> b.name()).toList();
    assertEquals(List.of("bn1.weight", "bn1.bias", "layer1.0.bn1.weight", "layer1.0.bn1.bias",
        "layer1.0.bn2.weight", "layer1.0.bn2.bias", "layer2.0.bn1.weight", "layer2.0.bn1.bias",
        "layer2.0.bn2.weight", "layer2.0.bn2.bias", "layer2.0.downsample.1.weight",
        "layer2.0.downsample.1.bias", "fc.bias"), oneD);
    assertEquals(12, m.runningStatistics().size());
    assertEquals("layer2.0.downsample.1.running_var", m.runningStatistics().get(11).name());
    assertArrayEquals(new int[] {8, 4, 1, 1},
        m.entries().stream().filter(e -> e.name().equals("layer2.0.downsample.0.weight"))
            .findFirst().orElseThrow().shape());
  }

  /**
   * {@code sgdph train --model resnet}: stem, one basic block per stage at 28×28 (16 channels,
   * identity shortcut), 14×14 (32) and 7×7 (64), the last two with projection shortcuts; global
   * average pooling and dense 10; the parameter count of the Javadoc, counted by hand: stem 144
   * + 32, block 1 2·2,304 + 2·32, block 2 4,608 + 9,216 + 2·64 + 512 + 64, block 3 18,432 +
   * 36,864 + 2·128 + 2,048 + 128, head 650.
   */
  @Test
  void theBuiltInResNetIsAResNet8ForFashionMnist() {
    ModelSpec m = BuiltInModels.RESNET.spec();
    assertEquals(BuiltInModels.RESNET, BuiltInModels.parse("resnet"));
    assertArrayEquals(new int[] {1, 28, 28}, m.inputShape());
    assertArrayEquals(new int[] {16, 28, 28}, m.outputShapeOf(m.indexOf("layer1.0.add")));
    assertArrayEquals(new int[] {32, 14, 14}, m.outputShapeOf(m.indexOf("layer2.0.add")));
    assertArrayEquals(new int[] {64, 7, 7}, m.outputShapeOf(m.indexOf("layer3.0.add")));
    assertArrayEquals(new int[] {10}, m.outputShape());
    assertEquals(144 + 32 + (2 * 2304 + 64) + (4608 + 9216 + 128 + 512 + 64)
        + (18432 + 36864 + 256 + 2048 + 128) + 650, m.layout().dimension());
    assertEquals(77_754, m.layout().dimension());
    // identity shortcut in layer1, projections where the resolution halves
    assertEquals(-1, m.indexOf("layer1.0.downsample.0"));
    assertEquals(List.of("layer2.0.bn2", "layer2.0.downsample.1"),
        sortedInputs(m, "layer2.0.add"));
    assertEquals(List.of("layer1.0.relu2", "layer2.0.bn2"), List.of(
        m.nodes().get(m.indexOf("layer2.0.downsample.0")).inputs().get(0),
        m.nodes().get(m.indexOf("layer2.0.add")).inputs().get(0)));
    assertEquals(LossKind.SOFTMAX_CROSS_ENTROPY, m.loss());
    assertEquals(18, m.runningStatistics().size());
    assertEquals(m, BuiltInModels.RESNET.spec());
  }

  private static List<String> sortedInputs(ModelSpec m, String node) {
    return m.nodes().get(m.indexOf(node)).inputs().stream().sorted().toList();
  }

  /** {@code stages(shape, {w, 2w}, 1, ...)} is the two-block ResNet of the bundled cases. */
  @Test
  void stagesGeneraliseTwoBlocks() {
    assertEquals(ResNets.twoBlocks(new int[] {1, 8, 8}, 4, 3, LayerSpec.Mode.TRAIN),
        ResNets.stages(new int[] {1, 8, 8}, new int[] {4, 8}, 1, 3, LayerSpec.Mode.TRAIN));
    ModelSpec two = ResNets.stages(new int[] {3, 8, 8}, new int[] {2, 4}, 2, 5,
        LayerSpec.Mode.EVAL);
    // the second block of a stage keeps the shape: an identity shortcut
    assertEquals(-1, two.indexOf("layer2.1.downsample.0"));
    assertEquals(List.of("layer2.0.relu2", "layer2.1.bn2"),
        sortedInputs(two, "layer2.1.add"));
    assertArrayEquals(new int[] {4, 4, 4}, two.outputShapeOf(two.indexOf("layer2.1.add")));
    assertEquals("widths: must be positive but were [4, 0]", assertThrows(
        IllegalArgumentException.class, () -> ResNets.stages(new int[] {1, 8, 8},
            new int[] {4, 0}, 1, 3, LayerSpec.Mode.TRAIN)).getMessage());
    assertEquals("widths: a ResNet needs at least one stage", assertThrows(
        IllegalArgumentException.class, () -> ResNets.stages(new int[] {1, 8, 8},
            new int[0], 1, 3, LayerSpec.Mode.TRAIN)).getMessage());
    assertEquals("blocksPerStage: must be positive but was 0", assertThrows(
        IllegalArgumentException.class, () -> ResNets.stages(new int[] {1, 8, 8},
            new int[] {4}, 0, 3, LayerSpec.Mode.TRAIN)).getMessage());
    assertEquals("classes: must be positive but was 0", assertThrows(
        IllegalArgumentException.class, () -> ResNets.stages(new int[] {1, 8, 8},
            new int[] {4}, 1, 0, LayerSpec.Mode.TRAIN)).getMessage());
    assertTrue(assertThrows(IllegalArgumentException.class, () -> ResNets.stages(
        new int[] {64}, new int[] {4}, 1, 3, LayerSpec.Mode.TRAIN)).getMessage()
        .startsWith("inputShape: a ResNet takes [C, H, W]"));
    assertEquals("width: must be positive but was 0", assertThrows(
        IllegalArgumentException.class, () -> ResNets.twoBlocks(new int[] {1, 8, 8}, 0, 3,
            LayerSpec.Mode.TRAIN)).getMessage());
  }

  @Test
  void invalidGraphsAreRejectedNamingTheNode() {
    LayerSpec d = new LayerSpec.Dense(4, 4, true);
    assertEquals("nodes[1] (a): the name is already that of nodes[0]",
        error(Node.of("a", d, "input"), Node.of("a", d)));
    assertTrue(error(Node.of("a", d, "b"), Node.of("b", d, "a"))
        .startsWith("nodes[0] (a): input 'b' is not an earlier node"));
    assertTrue(error(Node.of("a", d, "a")).startsWith("nodes[0] (a): input 'a' is not an earlier"));
    assertTrue(error(Node.of("a", d, "zz"))
        .startsWith("nodes[0] (a): input 'zz' is not a node of the model"));
    assertTrue(error(Node.of("a", d, "input"), Node.of("b", d, "input"))
        .startsWith("nodes[0] (a): its output is never used"));
    assertEquals("nodes[1] (s): add needs at least two inputs but has 1",
        error(Node.of("a", d, "input"), Node.of("s", new LayerSpec.Add(), "a")));
    assertTrue(error(Node.of("a", new LayerSpec.Dense(4, 3, true), "input"),
            Node.of("s", new LayerSpec.Add(), "a", "input"))
        .startsWith("nodes[1] (s): add needs inputs of one shape but input 0 is [3]"));
    assertTrue(error(Node.of("a", d, "input"), Node.of("b", TANH, "a", "input"))
        .startsWith("nodes[1] (b): tanh takes one input but has 2"));
    assertThrows(IllegalArgumentException.class, () -> Node.of("input", d));
    assertThrows(IllegalArgumentException.class, () -> Node.of("a..b", d));
    assertThrows(IllegalArgumentException.class, () -> Node.of("", d));
    assertThrows(IllegalArgumentException.class, () -> ModelSpec.graph(
        new int[] {4}, List.of(), LossKind.MSE));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> new ModelSpec(new int[] {4},
            List.of(new LayerSpec.Add()), LossKind.MSE)).getMessage()
        .startsWith("layers[0]: add needs at least two inputs"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> ModelSpec.graph(
            new int[] {2, 3, 3}, List.of(Node.of("p", new LayerSpec.GlobalAvgPool(), "input"),
                Node.of("q", new LayerSpec.GlobalAvgPool())), LossKind.MSE)).getMessage()
        .startsWith("nodes[1] (q): global_avgpool2d expects input [C, H, W] but gets [2]"));
  }
}
