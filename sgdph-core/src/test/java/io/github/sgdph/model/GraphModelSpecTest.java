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
