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

  /**
   * LSTMs (issue 20): what the spec validates reaches the TensorFlow backend as the spec's named
   * errors — sequences of the wrong rank or length, a hidden size of zero, weights of the wrong
   * shape — before any graph is built; the backend adds no check of its own.
   */
  @Test
  void required_badLstmInputIsRejectedNamingTheProblem() {
    CaseFile lstm = BundledCases.load("lstm-fashion-rows-sgn.json");
    IllegalArgumentException zero = assertThrows(IllegalArgumentException.class,
        () -> new io.github.sgdph.model.LayerSpec.Lstm(7, 0, 2, false));
    assertTrue(zero.getMessage().contains("hidden"), zero.getMessage());
    List<NamedArray> wrong = new ArrayList<>(lstm.parameters());
    NamedArray hh = wrong.get(1); // 0.weight_hh_l0 [32, 8]
    wrong.set(1, new NamedArray(hh.name(), new int[] {32, 7}, new double[32 * 7]));
    IllegalArgumentException shape = assertThrows(IllegalArgumentException.class,
        () -> new TfBackend(TfDevice.CPU).build(lstm.model(), wrong, DType.FLOAT64));
    assertTrue(shape.getMessage().contains("0.weight_hh_l0"), shape.getMessage());
    try (SpecModel m =
        new TfBackend(TfDevice.CPU).build(lstm.model(), lstm.parameters(), DType.FLOAT64)) {
      ArrayBatch b = lstm.batches().get(0);
      int[] xs = b.xShape(); // [8, 6, 7]
      ArrayBatch shorter = new ArrayBatch(java.util.Arrays.copyOf(b.x(), xs[0] * 5 * xs[2]),
          new int[] {xs[0], 5, xs[2]}, b.y(), b.yShape());
      IllegalArgumentException length =
          assertThrows(IllegalArgumentException.class, () -> m.objective(shorter));
      assertTrue(length.getMessage().contains("x.shape"), length.getMessage());
      ArrayBatch flat = new ArrayBatch(b.x(), new int[] {xs[0], xs[1] * xs[2]}, b.y(),
          b.yShape());
      IllegalArgumentException rank =
          assertThrows(IllegalArgumentException.class, () -> m.objective(flat));
      assertTrue(rank.getMessage().contains("x.shape"), rank.getMessage());
    }
  }
}
