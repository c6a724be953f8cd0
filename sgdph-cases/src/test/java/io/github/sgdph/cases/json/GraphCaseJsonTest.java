package io.github.sgdph.cases.json;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.cases.CaseFile;
import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.model.LayerSpec;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.NamedArray;
import io.github.sgdph.model.ResNets;
import io.github.sgdph.optim.OptimizerSpec;
import io.github.sgdph.tensor.DType;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** {@code sgdph-case/2}: graph models in case files (issue 16). */
class GraphCaseJsonTest {

  private static CaseFile resNetCase() {
    Random rng = new Random(3);
    ModelSpec m = ResNets.twoBlocks(new int[] {2, 6, 6}, 2, 3, LayerSpec.Mode.EVAL);
    List<NamedArray> p = CaseFixtures.parameters(m, rng);
    ArrayBatch b = new ArrayBatch(CaseFixtures.gaussian(4 * 72, rng), new int[] {4, 2, 6, 6},
        new double[] {0, 2, 1, 1}, new int[] {4});
    int dim = (int) m.layout().dimension();
    return new CaseFile(DType.FLOAT64, m, p, List.of(b),
        new OptimizerSpec("sgdph", Map.of("lr", 0.1)), 2, CaseFixtures.gaussian(dim, rng), null);
  }

  @Test
  void graphCaseIsWrittenAsVersion2AndRoundTrips() {
    CaseFile c = resNetCase();
    String json = CaseJson.toJson(c);
    assertTrue(json.contains("\"format\": \"sgdph-case/2\""), json.substring(0, 80));
    assertTrue(json.contains("\"nodes\": ["));
    assertTrue(json.contains("{\"name\": \"layer1.0.add\", \"type\": \"add\", \"inputs\":"
        + " [\"layer1.0.bn2\", \"relu\"]}"), json);
    CaseFile back = CaseJson.readCase(json);
    assertEquals(c, back);
    assertEquals(c.model(), back.model());
    assertEquals(json, CaseJson.toJson(back));
    assertEquals(c.model(), CaseJson.readModel(CaseJson.toJson(c.model())));
  }

  @Test
  void sequentialCasesAreStillWrittenAsVersion1() {
    String json = CaseJson.toJson(CaseFixtures.everyLayerCase());
    assertTrue(json.contains("\"format\": \"sgdph-case/1\""));
    assertTrue(json.contains("\"layers\": ["));
    // and version 2 reads a layer list too
    assertEquals(CaseFixtures.everyLayerCase(),
        CaseJson.readCase(json.replace("sgdph-case/1", "sgdph-case/2")));
  }

  @Test
  void newLayerTypesNeedVersion2EvenInAChain() {
    io.github.sgdph.model.ModelSpec chain = new io.github.sgdph.model.ModelSpec(
        new int[] {2, 3, 3}, List.of(new LayerSpec.Identity(), new LayerSpec.GlobalAvgPool(),
            new LayerSpec.Dense(2, 2, true)), io.github.sgdph.model.LossKind.MSE);
    assertTrue(chain.isSequential());
    Random rng = new Random(5);
    CaseFile c = new CaseFile(DType.FLOAT64, chain, CaseFixtures.parameters(chain, rng),
        List.of(new ArrayBatch(CaseFixtures.gaussian(18, rng), new int[] {1, 2, 3, 3},
            new double[] {0.5, -1}, new int[] {1, 2})),
        new OptimizerSpec("sgd", Map.of("lr", 0.1)), 1, null, null);
    String json = CaseJson.toJson(c);
    assertTrue(json.contains("\"format\": \"sgdph-case/2\""));
    assertTrue(json.contains("\"layers\": ["));
    assertEquals(c, CaseJson.readCase(json));
    String e = assertThrows(CaseFormatException.class,
        () -> CaseJson.readCase(json.replace("sgdph-case/2", "sgdph-case/1"))).getMessage();
    assertTrue(e.startsWith("model.layers[0].type: \"identity\" needs \"format\": "
        + "\"sgdph-case/2\""), e);
  }

  private static final String MODEL =
      """
      {"input_shape": [3],
       "nodes": [
         {"name": "fc", "type": "dense", "in": 3, "out": 3},
         {"name": "act", "type": "tanh"},
         {"name": "res", "type": "add", "inputs": ["act", "input"]},
         {"name": "head", "type": "dense", "in": 3, "out": 2, "bias": false}
       ],
       "loss": "mse"}
      """;

  @Test
  void inputsDefaultToThePreviousNode() {
    ModelSpec m = CaseJson.readModel(MODEL);
    assertEquals(List.of("input"), m.nodes().get(0).inputs());
    assertEquals(List.of("fc"), m.nodes().get(1).inputs());
    assertEquals(List.of("res"), m.nodes().get(3).inputs());
    assertEquals(List.of("fc.weight", "fc.bias", "head.weight"),
        m.entries().stream().map(ModelSpec.Entry::name).toList());
  }

  private static String modelError(String json) {
    return assertThrows(CaseFormatException.class, () -> CaseJson.readModel(json)).getMessage();
  }

  @Test
  void badGraphsNameTheField() {
    assertEquals("nodes[2] (res): input 'ac' is not a node of the model (nor 'input')",
        modelError(MODEL.replace("[\"act\", \"input\"]", "[\"act\", \"ac\"]")));
    assertTrue(modelError(MODEL.replace("{\"name\": \"act\", ", "{"))
        .startsWith("nodes[1].name: missing required field"));
    assertTrue(modelError(MODEL.replace("\"inputs\": [\"act\", \"input\"]", "\"inputs\": []"))
        .startsWith("nodes[2].inputs: must name at least one input"));
    assertTrue(modelError(MODEL.replace("\"type\": \"tanh\"", "\"type\": \"tanh\", \"in\": 3"))
        .startsWith("nodes[1].in: unknown field of a tanh node"));
    assertTrue(modelError(MODEL.replace("\"loss\"", "\"layers\": [], \"loss\""))
        .startsWith("layers: a model has either"));
    String v1 = CaseJson.toJson(resNetCase()).replace("sgdph-case/2", "sgdph-case/1");
    String e = assertThrows(CaseFormatException.class, () -> CaseJson.readCase(v1)).getMessage();
    assertTrue(e.startsWith("model.nodes: a graph model needs \"format\": \"sgdph-case/2\""), e);
  }
}
