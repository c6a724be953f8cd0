package io.github.sgdph.dl4j;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.github.sgdph.curvature.Curvature;
import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.model.RandomBatches;
import io.github.sgdph.model.DefaultInitializer;
import io.github.sgdph.model.LayerSpec;
import io.github.sgdph.model.LossKind;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.ModelSpec.Node;
import io.github.sgdph.model.NamedArray;
import io.github.sgdph.model.SpecBackend;
import io.github.sgdph.model.SpecModel;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.tensor.DType;
import java.util.List;
import java.util.SplittableRandom;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;

/**
 * A graph spec with what the bundled ResNet cases lack, built as a {@code ComputationGraph}
 * and compared with the reference backend in float64 (1e-9, the kit's tolerance for exact
 * products): an {@code identity} node (no vertex: its consumer reads its input), an {@code add}
 * of one output and that identity of it (DL4J's {@code Add} of one vertex twice), a
 * {@code flatten} node (a {@code PreprocessorVertex}) and a global average pooling of the same
 * output added together, and a last node that is no dense layer (an appended {@code LossLayer}
 * vertex) under MSE.
 */
class SpecGraphTest {
  private static final double TOL = 1e-9;

  private static ModelSpec spec() {
    return ModelSpec.graph(new int[] {2, 4, 4}, List.of(
        Node.of("c", new LayerSpec.Conv2d(2, 3, 3, 3, 1, 1, 1, 1, true), ModelSpec.INPUT),
        Node.of("r", new LayerSpec.Activation(LayerSpec.ActivationKind.RELU)),
        Node.of("s", new LayerSpec.Identity()),
        Node.of("a", new LayerSpec.Add(), "r", "s"),
        Node.of("p", new LayerSpec.GlobalAvgPool(), "a"),
        Node.of("f", new LayerSpec.Flatten(), "a"),
        Node.of("d", new LayerSpec.Dense(48, 3, true)),
        Node.of("e", new LayerSpec.Add(), "p", "d"),
        Node.of("t", new LayerSpec.Activation(LayerSpec.ActivationKind.TANH))),
        LossKind.MSE);
  }

  private static void close(double[] expected, double[] actual, String what) {
    ReferenceAgreement.close(expected, actual, TOL, what);
  }

  @Test
  void buildsAsAComputationGraphAndAgreesWithTheReference() {
    ModelSpec spec = spec();
    SplittableRandom rnd = new SplittableRandom(9);
    List<NamedArray> params = DefaultInitializer.initialize(spec, rnd);
    ArrayBatch batch = RandomBatches.forSpec(spec, 5, rnd);
    try (Dl4jSpecModel m = new Dl4jBackend().build(spec, params, DType.FLOAT64);
        SpecModel ref = SpecBackend.find("reference").build(spec, params, DType.FLOAT64)) {
      ComputationGraph g = (ComputationGraph) m.network();
      assertEquals(List.of(SpecNetworks.LOSS), g.getConfiguration().getNetworkOutputs());
      assertEquals(List.of("r", "r"), g.getConfiguration().getVertexInputs().get("a"));
      ParameterVector v =
          ParameterVector.randomNormal(m.algebra(), m.layout(), new SplittableRandom(2));
      ParameterVector rv =
          ParameterVector.fromArray(ref.algebra(), ref.layout(), v.toDoubleArray());
      try (Curvature c = m.objective(batch).curvature();
          Curvature rc = ref.objective(batch).curvature()) {
        ReferenceAgreement.assertProductsAgree(rc, c, rv, v, TOL);
        ReferenceAgreement.assertPerTermGradientsAgree(rc, c, TOL);
      }
      close(ref.predict(batch), m.predict(batch), "predict");
    }
  }
}
