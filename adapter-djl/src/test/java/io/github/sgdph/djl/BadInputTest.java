package io.github.sgdph.djl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;
import ai.djl.training.loss.Loss;
import io.github.sgdph.cases.CaseFile;
import io.github.sgdph.cases.json.BundledCases;
import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.model.NamedArray;
import io.github.sgdph.model.SpecModel;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.tensor.DType;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * Bad input gives an {@link IllegalArgumentException} naming the problem, and leaves the
 * parameters untouched: spec models (import mismatches, bad batches) and users' blocks (wrong
 * shapes, NaN or infinite data, bad updates, bad configuration).
 */
class BadInputTest {
  private NDManager manager;

  @BeforeEach
  void open() {
    manager = NDManager.newBaseManager(Device.cpu(), "PyTorch");
  }

  @AfterEach
  void close() {
    manager.close();
  }

  private static String rejected(Executable e) {
    return assertThrows(IllegalArgumentException.class, e).getMessage();
  }

  private static void assertMentions(String message, String... parts) {
    for (String p : parts) {
      assertTrue(message.contains(p), "'" + message + "' should mention '" + p + "'");
    }
  }

  @Test
  void importRejectsAParameterCountOrShapeMismatchNamingTheEntry() {
    CaseFile c = BundledCases.load("mlp-tanh-sgd.json");
    DjlBackend b = new DjlBackend();
    List<NamedArray> missing = new ArrayList<>(c.parameters());
    missing.remove(missing.size() - 1);
    assertMentions(rejected(() -> b.build(c.model(), missing, DType.FLOAT64)), "parameters",
        String.valueOf(c.parameters().size()));
    List<NamedArray> wrongShape = new ArrayList<>(c.parameters());
    NamedArray first = wrongShape.get(0);
    int[] s = first.shape();
    wrongShape.set(0, new NamedArray(first.name(), new int[] {s[1], s[0]}, first.values()));
    assertMentions(rejected(() -> b.build(c.model(), wrongShape, DType.FLOAT32)), first.name(),
        "shape");
    List<NamedArray> nan = new ArrayList<>(c.parameters());
    double[] v = first.values();
    v[3] = Double.NaN;
    nan.set(0, new NamedArray(first.name(), first.shape(), v));
    assertMentions(rejected(() -> b.build(c.model(), nan, DType.FLOAT64)), first.name(), "NaN");
  }

  @Test
  void specBatchesOfTheWrongShapeOrWithNanAreRejectedAndParametersStayUntouched() {
    CaseFile c = BundledCases.load("mlp-tanh-sgd.json");
    try (SpecModel m = new DjlBackend().build(c.model(), c.parameters(), DType.FLOAT64);
        ParameterVector before = m.parameters()) {
      ArrayBatch b = c.batches().get(0);
      int[] xs = b.xShape();
      int[] wrong = {xs[0], xs[1] + 1};
      assertMentions(
          rejected(() -> m.objective(
              new ArrayBatch(new double[wrong[0] * wrong[1]], wrong, b.y(), b.yShape()))),
          "x.shape");
      double[] x = b.x();
      x[5] = Double.NaN;
      assertMentions(rejected(() -> m.objective(new ArrayBatch(x, xs, b.y(), b.yShape()))),
          "NaN");
      double[] y = b.y();
      y[0] = 7;
      assertMentions(rejected(() -> m.objective(new ArrayBatch(b.x(), xs, y, b.yShape()))),
          "label");
      try (ParameterVector after = m.parameters()) {
        assertArrayEquals(before.toDoubleArray(), after.toDoubleArray(), 0.0);
      }
    }
  }

  @Test
  void userBatchesAreCheckedAgainstTheBlock() {
    UserBlocks.GatedBlock block = UserBlocks.gated(manager, DataType.FLOAT32);
    NDList[] d = UserBlocks.data(manager, DataType.FLOAT32, 6, 1);
    try (BlockCurvatureModel m =
            BlockCurvatureModel.builder(block).loss(Loss.softmaxCrossEntropyLoss()).build();
        ParameterVector before = m.parameters()) {
      NDArray wide = manager.zeros(new Shape(6, 5), DataType.FLOAT32);
      assertMentions(rejected(() -> m.objective(new NDList(wide), d[1])), "data[0]", "(6, 5)",
          "(1, 4)");
      NDArray nan = d[0].get(0).duplicate();
      nan.set(new ai.djl.ndarray.index.NDIndex("2, 1"), Float.NaN);
      assertMentions(rejected(() -> m.objective(new NDList(nan), d[1])), "data[0]", "NaN");
      NDArray inf = d[1].get(0).duplicate();
      inf.set(new ai.djl.ndarray.index.NDIndex("0"), Float.POSITIVE_INFINITY);
      assertMentions(rejected(() -> m.objective(d[0], new NDList(inf))), "labels[0]",
          "infinite");
      NDArray shortLabels = d[1].get(0).get("0:4");
      assertMentions(rejected(() -> m.objective(d[0], new NDList(shortLabels))), "labels[0]",
          "4 samples", "6");
      assertMentions(rejected(() -> m.objective(new NDList(), d[1])), "data");
      DjlObjective o = m.objective(d[0], d[1]);
      try (ParameterVector bad = m.parameters()) {
        double[] v = bad.toDoubleArray();
        v[v.length - 1] = Double.NaN;
        try (ParameterVector nanStep = ParameterVector.fromArray(m.algebra(), m.layout(), v)) {
          String last = m.layout().block(m.layout().blockCount() - 1).name();
          assertMentions(rejected(() -> o.applyUpdate(nanStep, 0.1)), last);
          assertMentions(rejected(() -> o.lossAt(nanStep, 0.1)), last);
          assertMentions(rejected(() -> m.setParameters(nanStep)), last);
        }
        assertMentions(rejected(() -> o.applyUpdate(bad, Double.NaN)), "alpha");
        assertMentions(rejected(() -> o.applyUpdate(bad, 1e300)), "overflow");
      }
      assertMentions(rejected(() -> o.subBatch(6)), "indices");
      assertMentions(rejected(() -> o.subBatch(1, 1)), "duplicate");
      try (ParameterVector after = m.parameters()) {
        assertArrayEquals(before.toDoubleArray(), after.toDoubleArray(), 0.0);
      }
    }
  }

  @Test
  void misconfiguredModelsAreRejected() {
    Linear uninitialized = Linear.builder().setUnits(2).build();
    assertMentions(
        rejected(() -> BlockCurvatureModel.builder(uninitialized)
            .loss(Loss.l2Loss()).build()), "block", "initialize");
    Linear ints = Linear.builder().setUnits(2).build();
    ints.initialize(manager, DataType.FLOAT16, new Shape(1, 3));
    assertMentions(
        rejected(() -> BlockCurvatureModel.builder(ints).loss(Loss.l2Loss()).build()),
        "float16");
    Linear ok = Linear.builder().setUnits(2).build();
    ok.initialize(manager, DataType.FLOAT32, new Shape(1, 3));
    assertMentions(rejected(() -> BlockCurvatureModel.builder(ok).build()), "loss");
    assertMentions(rejected(() -> DjlOptions.builder().device("tpu7")), "device", "tpu7");
    assertEquals(Device.gpu(1), DjlOptions.builder().device("cuda:1").build().device());
    assertEquals(Device.cpu(), DjlOptions.defaults().device());
  }
}
