package io.github.sgdph.reference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.param.ParameterLayout;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.reference.Fixtures.Case;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Products on a sub-layout {@code S} are the diagonal block {@code (A [v; 0])_S} of the full
 * product, for every single block, first-and-last pairs and the full selection. The restricted
 * passes skip work, so agreement is to rounding (relative 1e-13).
 */
class RestrictedProductTest {

  static Stream<Case> cases() {
    List<String> names =
        List.of(
            "mlp-tanh-bn-train-ce", "mlp-bn-eval-tanh-mse", "cnn-conv-relu-maxpool-dense-ce",
            "cnn-bn-train-sigmoid-ce", "mlp-sigmoid-softplus-bce");
    return Stream.concat(
        Fixtures.cases().stream().filter(c -> names.contains(c.name())),
        Stream.concat(Fixtures.graphCases().stream(), Fixtures.recurrentCases().stream()));
  }

  static List<int[]> selections(int blocks) {
    List<int[]> s = new ArrayList<>();
    for (int i = 0; i < blocks; i++) {
      s.add(new int[] {i});
    }
    s.add(new int[] {0, blocks - 1});
    s.add(new int[] {blocks - 1, 1});
    int[] all = new int[blocks];
    for (int i = 0; i < blocks; i++) {
      all[i] = i;
    }
    s.add(all);
    return s;
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void restrictedProductsAreTheDiagonalBlocksOfTheFullProducts(Case c) {
    ReferenceModel m = Fixtures.model(c, 61);
    ArrayBatch b = Fixtures.batch(c, 62);
    ParameterLayout root = m.layout();
    try (ReferenceCurvature cur = m.objective(b).curvature()) {
      int seed = 0;
      for (int[] sel : selections(root.blockCount())) {
        ParameterLayout sub = root.select(sel);
        ParameterVector v = Fixtures.random(sub, 63 + seed++);
        ParameterVector padded = v.expandTo(root);
        ParameterVector hv = cur.hvp(v);
        ParameterVector gv = cur.ggnvp(v);
        assertTrue(hv.layout().sameBlocksAs(sub) && gv.layout().sameBlocksAs(sub));
        double[] hFull = cur.hvp(padded).restrict(sub).toDoubleArray();
        double[] gFull = cur.ggnvp(padded).restrict(sub).toDoubleArray();
        String what = c + " blocks " + java.util.Arrays.toString(sel);
        assertTrue(Fixtures.relErr(hv.toDoubleArray(), hFull) <= 1e-13, what + " hvp");
        assertTrue(Fixtures.relErr(gv.toDoubleArray(), gFull) <= 1e-13, what + " ggnvp");
        assertTrue(
            Fixtures.relErr(cur.jvp(v).toDoubleArray(), cur.jvp(padded).toDoubleArray()) <= 1e-13,
            what + " jvp");
      }
    }
  }

  @Test
  void aSelectionOfAnEqualLayoutIsAcceptedAndAForeignOneIsNot() {
    Case c = Fixtures.cases().get(Fixtures.cases().size() - 1);
    ReferenceModel m = Fixtures.model(c, 71);
    try (ReferenceCurvature cur = m.objective(Fixtures.batch(c, 72)).curvature()) {
      ParameterLayout sameBlocks = c.spec().layout().select(1, 2);
      ParameterVector v = Fixtures.random(sameBlocks, 73);
      ParameterVector mine = Fixtures.vector(m.layout().select(1, 2), v.toDoubleArray());
      assertEquals(0.0, Fixtures.relErr(cur.hvp(v).toDoubleArray(),
          cur.hvp(mine).toDoubleArray()));
      ParameterLayout foreign = Fixtures.cases().get(0).spec().layout();
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> cur.hvp(Fixtures.random(foreign, 1)));
      assertTrue(e.getMessage().startsWith("v:"), e.getMessage());
    }
  }
}
