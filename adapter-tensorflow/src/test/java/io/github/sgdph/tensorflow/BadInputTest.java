package io.github.sgdph.tensorflow;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.cases.CaseFile;
import io.github.sgdph.cases.json.BundledCases;
import io.github.sgdph.curvature.Curvature;
import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.model.NamedArray;
import io.github.sgdph.model.SpecModel;
import io.github.sgdph.param.ParameterBlock;
import io.github.sgdph.param.ParameterLayout;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.tensor.DType;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Bad input to the spec backend: a clear {@link IllegalArgumentException} naming the problem,
 * and the parameters untouched.
 */
class BadInputTest {
  private final CaseFile c = BundledCases.load("mlp-tanh-sgd.json");

  private SpecModel model() {
    return new TfBackend(TfDevice.CPU).build(c.model(), c.parameters(), DType.FLOAT32);
  }

  @Test
  void required_parameterCountMismatchOnImportIsRejected() {
    List<NamedArray> fewer = new ArrayList<>(c.parameters());
    fewer.remove(fewer.size() - 1);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new TfBackend(TfDevice.CPU).build(c.model(), fewer, DType.FLOAT64));
    assertTrue(e.getMessage().contains("parameters") && e.getMessage().contains("2.bias"),
        e.getMessage());
    List<NamedArray> wrongShape = new ArrayList<>(c.parameters());
    NamedArray w = wrongShape.get(0);
    wrongShape.set(0, new NamedArray(w.name(), new int[] {w.shape()[1], w.shape()[0]},
        w.values()));
    IllegalArgumentException s = assertThrows(IllegalArgumentException.class,
        () -> new TfBackend(TfDevice.CPU).build(c.model(), wrongShape, DType.FLOAT64));
    assertTrue(s.getMessage().contains("0.weight"), s.getMessage());
  }

  @Test
  void required_wrongShapesAndNanInTheBatchAreRejected() {
    try (SpecModel m = model()) {
      ArrayBatch b = c.batches().get(0);
      int[] xs = b.xShape();
      ArrayBatch narrow = new ArrayBatch(new double[xs[0] * (xs[1] - 1)],
          new int[] {xs[0], xs[1] - 1}, b.y(), b.yShape());
      IllegalArgumentException e1 =
          assertThrows(IllegalArgumentException.class, () -> m.objective(narrow));
      assertTrue(e1.getMessage().contains("x.shape"), e1.getMessage());
      double[] labels = b.y();
      labels[0] = 7;
      ArrayBatch badLabel = new ArrayBatch(b.x(), xs, labels, b.yShape());
      IllegalArgumentException e2 =
          assertThrows(IllegalArgumentException.class, () -> m.objective(badLabel));
      assertTrue(e2.getMessage().contains("label"), e2.getMessage());
      double[] nx = b.x();
      nx[5] = Double.NaN;
      ArrayBatch nan = new ArrayBatch(nx, xs, b.y(), b.yShape());
      IllegalArgumentException e3 =
          assertThrows(IllegalArgumentException.class, () -> m.objective(nan));
      assertTrue(e3.getMessage().contains("NaN"), e3.getMessage());
    }
  }

  @Test
  void required_badVectorsAreRejectedAndParametersStayUntouched() {
    try (SpecModel m = model(); ParameterVector before = m.parameters();
        Curvature cur = m.objective(c.batches().get(0)).curvature()) {
      ParameterVector foreign = ParameterVector.zeros(m.algebra(),
          ParameterLayout.of(ParameterBlock.of("other.weight", 3, 2)));
      IllegalArgumentException f =
          assertThrows(IllegalArgumentException.class, () -> cur.hvp(foreign));
      assertTrue(f.getMessage().startsWith("v"), f.getMessage());
      double[] bad = before.toDoubleArray();
      bad[3] = Double.NaN;
      try (ParameterVector nan = ParameterVector.fromArray(m.algebra(), m.layout(), bad)) {
        IllegalArgumentException e =
            assertThrows(IllegalArgumentException.class, () -> m.setParameters(nan));
        assertTrue(e.getMessage().contains("0.weight"), e.getMessage());
        assertThrows(IllegalArgumentException.class,
            () -> m.objective(c.batches().get(0)).lossAt(nan, 0.1));
      }
      assertThrows(IllegalArgumentException.class, () -> m.applyUpdate(before, Double.NaN));
      try (ParameterVector after = m.parameters()) {
        assertArrayEquals(before.toDoubleArray(), after.toDoubleArray());
      }
      cur.close();
      assertThrows(IllegalStateException.class, cur::loss);
    }
  }

  @Test
  void required_closedModelIsRejected() {
    SpecModel m = model();
    m.close();
    m.close();
    assertThrows(IllegalStateException.class, m::parameters);
    assertThrows(IllegalStateException.class, () -> m.objective(c.batches().get(0)));
  }
}
