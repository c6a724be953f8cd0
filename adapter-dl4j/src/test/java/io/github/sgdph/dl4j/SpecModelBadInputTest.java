package io.github.sgdph.dl4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.cases.CaseFile;
import io.github.sgdph.cases.json.BundledCases;
import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.model.NamedArray;
import io.github.sgdph.model.SpecModel;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.tensor.DType;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Bad input to spec models: clear exceptions naming the problem, parameters untouched. */
class SpecModelBadInputTest {
  private final CaseFile c = BundledCases.load("cnn-batchnorm-eval-mse-sgd.json");

  @Test
  void parameterCountAndShapeMismatchesOnImportNameTheEntry() {
    List<NamedArray> missing = new ArrayList<>(c.parameters());
    missing.remove(missing.size() - 1);
    IllegalArgumentException count = assertThrows(IllegalArgumentException.class,
        () -> new Dl4jBackend().build(c.model(), missing, DType.FLOAT32));
    assertTrue(count.getMessage().startsWith("parameters: the model has"), count.getMessage());
    List<NamedArray> wrong = new ArrayList<>(c.parameters());
    NamedArray first = wrong.get(0);
    int[] shape = first.shape();
    int[] transposed = {shape[1], shape[0], shape[2], shape[3]};
    wrong.set(0, new NamedArray(first.name(), transposed, first.values(), true));
    IllegalArgumentException shapeError = assertThrows(IllegalArgumentException.class,
        () -> new Dl4jBackend().build(c.model(), wrong, DType.FLOAT64));
    assertTrue(shapeError.getMessage().contains("(" + first.name() + ")"),
        shapeError.getMessage());
  }

  @Test
  void badBatchesAndUpdatesLeaveTheParametersUntouched() {
    try (SpecModel m = new Dl4jBackend().build(c.model(), c.parameters(), DType.FLOAT64);
        ParameterVector before = m.parameters()) {
      ArrayBatch b = c.batches().get(0);
      int[] xs = b.xShape();
      xs[1] += 1;
      ArrayBatch wrongShape = new ArrayBatch(new double[io.github.sgdph.tensor.Shapes.size(xs)],
          xs, b.y(), b.yShape());
      IllegalArgumentException e1 =
          assertThrows(IllegalArgumentException.class, () -> m.objective(wrongShape));
      assertTrue(e1.getMessage().startsWith("batch.x.shape"), e1.getMessage());
      double[] y = b.y();
      y[3] = Double.NaN;
      ArrayBatch nanLabels = new ArrayBatch(b.x(), b.xShape(), y, b.yShape());
      IllegalArgumentException e2 =
          assertThrows(IllegalArgumentException.class, () -> m.objective(nanLabels));
      assertTrue(e2.getMessage().contains("batch.y: value 3 is NaN"), e2.getMessage());
      try (ParameterVector d = m.parameters()) {
        double[] v = d.toDoubleArray();
        v[0] = Double.POSITIVE_INFINITY;
        try (ParameterVector bad = ParameterVector.fromArray(m.algebra(), m.layout(), v)) {
          assertThrows(IllegalArgumentException.class, () -> m.setParameters(bad));
          assertThrows(IllegalArgumentException.class, () -> m.applyUpdate(bad, 1));
        }
      }
      try (ParameterVector after = m.parameters()) {
        assertArrayEquals(before.toDoubleArray(), after.toDoubleArray(), 0);
      }
      assertArrayEquals(c.parameters().get(c.parameters().size() - 1).valuesView(),
          m.exportParameters().get(c.parameters().size() - 1).valuesView(), 0,
          "running_var unchanged");
    }
  }

  @Test
  void aModelOfTheOtherBackendIsNamed() {
    try (SpecModel m = new Dl4jBackend().build(c.model(), c.parameters(), DType.FLOAT64);
        SpecModel f32 = new Dl4jBackend().build(c.model(), c.parameters(), DType.FLOAT32);
        ParameterVector p32 = f32.parameters()) {
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> m.setParameters(p32));
      assertTrue(e.getMessage().contains("float32"), e.getMessage());
    }
  }
}
