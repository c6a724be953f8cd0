package io.github.sgdph.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.curvature.Objective;
import io.github.sgdph.fixtures.Dense;
import io.github.sgdph.fixtures.LinearLeastSquaresObjective;
import io.github.sgdph.fixtures.QuadraticObjective;
import io.github.sgdph.optim.BlockDiagonalHessianFree.Partition;
import io.github.sgdph.param.ParameterBlock;
import io.github.sgdph.param.ParameterLayout;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** {@link BlockDiagonalHessianFree} against dense solves of the (block-diagonal) systems. */
class BlockDiagonalHessianFreeTest {

  /** Two layers of weight and bias: blocks of 6 + 2 + 4 + 2 = 14 parameters. */
  static final ParameterLayout TWO_LAYERS =
      ParameterLayout.of(ParameterBlock.of("0.weight", 2, 3), ParameterBlock.of("0.bias", 2),
          ParameterBlock.of("2.weight", 2, 2), ParameterBlock.of("2.bias", 2));

  static QuadraticObjective quadratic(long seed, double kappa) {
    SplittableRandom rnd = new SplittableRandom(seed);
    int n = (int) TWO_LAYERS.dimension();
    return new QuadraticObjective(TWO_LAYERS, Dense.randomSpd(n, 0.1, rnd),
        Dense.randomVector(n, rnd), kappa, Dense.randomVector(n, rnd));
  }

  static List<List<String>> names(List<ParameterLayout> blocks) {
    return blocks.stream()
        .map(b -> b.blocks().stream().map(ParameterBlock::name).toList()).toList();
  }

  @Test
  void partitionsGroupLayersTensorsOrEverything() {
    ParameterLayout l = ParameterLayout.of(ParameterBlock.of("0.weight", 2, 3),
        ParameterBlock.of("0.bias", 2), ParameterBlock.of("1.weight", 2),
        ParameterBlock.of("1.bias", 2), ParameterBlock.of("encoder.3.weight", 1, 2),
        ParameterBlock.of("scale", 1));
    assertEquals(List.of(List.of("0.weight", "0.bias"), List.of("1.weight", "1.bias"),
        List.of("encoder.3.weight"), List.of("scale")), names(Partition.LAYER.blocksOf(l)));
    assertEquals(6, Partition.TENSOR.blocksOf(l).size());
    // stacked layers of an LSTM (PyTorch's names ending in _l<k>) are blocks of their own
    ParameterLayout rnn = ParameterLayout.of(ParameterBlock.of("rnn.weight_ih_l0", 8, 3),
        ParameterBlock.of("rnn.weight_hh_l0", 8, 2), ParameterBlock.of("rnn.bias_l0", 8),
        ParameterBlock.of("rnn.weight_ih_l1", 8, 2), ParameterBlock.of("rnn.weight_hh_l1", 8, 2),
        ParameterBlock.of("rnn.bias_l1", 8), ParameterBlock.of("fc.weight", 3, 2),
        ParameterBlock.of("fc.bias", 3));
    assertEquals(List.of(List.of("rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_l0"),
        List.of("rnn.weight_ih_l1", "rnn.weight_hh_l1", "rnn.bias_l1"),
        List.of("fc.weight", "fc.bias")), names(Partition.LAYER.blocksOf(rnn)));
    assertEquals(List.of(List.of("0.weight", "0.bias", "1.weight", "1.bias", "encoder.3.weight",
        "scale")), names(Partition.SINGLE.blocksOf(l)));
    assertEquals(Partition.LAYER, BlockDiagonalHessianFree.builder().build().partition());
    assertEquals("bdhf", BlockDiagonalHessianFree.builder().build().name());
    assertEquals("hf", BlockDiagonalHessianFree.fullHessianFree().build().name());
  }

  @Test
  void oneStepOfFullAndOneBlockHfReachesTheLeastSquaresMinimiser() {
    for (BlockDiagonalHessianFree.Builder b :
        List.of(BlockDiagonalHessianFree.fullHessianFree(),
            BlockDiagonalHessianFree.builder().partition(Partition.SINGLE),
            BlockDiagonalHessianFree.builder())) { // one dense layer: one block
      LinearLeastSquaresObjective obj =
          LinearLeastSquaresObjective.random(40, 3, 2, new SplittableRandom(1));
      StepReport r = b.lambda(1e-12).curvatureBatchFraction(1).build().step(obj);
      double err = Dense.relativeError(obj.theta(), obj.minimiser(40));
      assertTrue(err < 1e-9, "relative error " + err + " " + r);
      assertEquals(1.0, r.stepSize());
      assertTrue(r.cgIterations() < 100, r.toString());
    }
  }

  @Test
  void eachBlockSolvesItsOwnDampedSystem() {
    QuadraticObjective obj = quadratic(2, 0);
    double[] theta = obj.theta();
    double[] g = obj.gradient(theta);
    double lambda = 0.3;
    for (Partition p : List.of(Partition.TENSOR, Partition.LAYER)) {
      obj.setTheta(theta);
      BlockDiagonalHessianFree opt = BlockDiagonalHessianFree.builder().partition(p)
          .lambda(lambda).cgProgressTol(0).cgTol(1e-14).lineSearch(false).cgBacktracking(false)
          .build();
      opt.step(obj);
      double[] after = obj.theta();
      int[][] ranges = SgdPhTest.ranges(TWO_LAYERS);
      for (ParameterLayout block : p.blocksOf(TWO_LAYERS)) {
        int[] idx = IntStream.range(0, block.blockCount())
            .flatMap(i -> IntStream.range(ranges[block.rootIndex(i)][0],
                ranges[block.rootIndex(i)][0] + ranges[block.rootIndex(i)][1]))
            .toArray();
        double[][] a = new double[idx.length][idx.length];
        double[] rhs = new double[idx.length];
        for (int i = 0; i < idx.length; i++) {
          for (int j = 0; j < idx.length; j++) {
            a[i][j] = obj.h()[idx[i]][idx[j]] + (i == j ? lambda : 0);
          }
          rhs[i] = -g[idx[i]];
        }
        double[] delta = Dense.solve(a, rhs);
        double[] actual = new double[idx.length];
        for (int i = 0; i < idx.length; i++) {
          actual[i] = after[idx[i]] - theta[idx[i]];
        }
        double err = Dense.relativeError(actual, delta);
        assertTrue(err < 1e-10, p + " " + names(List.of(block)) + ": relative error " + err);
      }
    }
  }

  @Test
  void levenbergMarquardtAdaptsTheDampingOnTheReductionRatio() {
    // An exact quadratic model and damping: the true reduction exceeds the damped model's.
    LinearLeastSquaresObjective exact =
        LinearLeastSquaresObjective.random(30, 3, 2, new SplittableRandom(4));
    BlockDiagonalHessianFree hf =
        BlockDiagonalHessianFree.builder().lambda(1).curvatureBatchFraction(1).build();
    StepReport r = hf.step(exact);
    assertEquals(1.0, r.damping());
    assertEquals(2.0 / 3.0, hf.damping());
    // A curvature model ten times too flat: the step overshoots, ρ < 1/4.
    BlockDiagonalHessianFree wrong = BlockDiagonalHessianFree.builder().lambda(1e-3).build();
    wrong.step(quadratic(5, 0).ggnScale(0.1));
    assertEquals(1.5e-3, wrong.damping());
    BlockDiagonalHessianFree fixed =
        BlockDiagonalHessianFree.builder().lambda(1e-3).adaptLambda(false).build();
    fixed.step(quadratic(5, 0).ggnScale(0.1));
    assertEquals(1e-3, fixed.damping());
  }

  @Test
  void theNextSolveIsWarmStartedFromTheDecayedFinalIterate() {
    QuadraticObjective obj = quadratic(6, 0);
    double lambda = 0.2;
    BlockDiagonalHessianFree hf = BlockDiagonalHessianFree.fullHessianFree().lambda(lambda)
        .adaptLambda(false).lineSearch(false).cgBacktracking(false).cgMaxIter(1).build();
    double[] theta0 = obj.theta();
    hf.step(obj);
    double[] theta1 = obj.theta();
    double[] delta1 = new double[theta0.length];
    for (int i = 0; i < delta1.length; i++) {
      delta1[i] = theta1[i] - theta0[i];
    }
    double[][] saved = hf.saveState().buffer("cg_warm_start");
    assertArrayEquals(delta1, flatten(saved), 1e-15);
    hf.step(obj);
    // One CG iteration from x0 = 0.95 δ1 on (H + λI) x = −g(θ1).
    int n = theta0.length;
    double[][] a = new double[n][];
    for (int i = 0; i < n; i++) {
      a[i] = obj.h()[i].clone();
      a[i][i] += lambda;
    }
    double[] x0 = new double[n];
    for (int i = 0; i < n; i++) {
      x0[i] = 0.95 * delta1[i];
    }
    double[] g = obj.gradient(theta1);
    double[] ax0 = Dense.matVec(a, x0);
    double[] r0 = new double[n];
    for (int i = 0; i < n; i++) {
      r0[i] = -g[i] - ax0[i];
    }
    double alpha = Dense.dot(r0, r0) / Dense.dot(r0, Dense.matVec(a, r0));
    double[] theta2 = obj.theta();
    for (int i = 0; i < n; i++) {
      double expected = theta1[i] + x0[i] + alpha * r0[i];
      assertEquals(expected, theta2[i], 1e-13, "entry " + i);
    }
  }

  static double[] flatten(double[][] blocks) {
    return java.util.Arrays.stream(blocks).flatMapToDouble(java.util.Arrays::stream).toArray();
  }

  @Test
  void theCurvatureMiniBatchIsASubsetOfTheGradientBatch() {
    LinearLeastSquaresObjective obj =
        LinearLeastSquaresObjective.random(40, 3, 2, new SplittableRandom(7));
    double[] theta = obj.theta();
    double[] g = obj.gradient(theta);
    double[][] gk = obj.ggnMatrix(10);
    double lambda = 1e-3;
    for (int i = 0; i < gk.length; i++) {
      gk[i][i] += lambda;
    }
    double[] minusG = new double[g.length];
    for (int i = 0; i < g.length; i++) {
      minusG[i] = -g[i];
    }
    double[] expected = Dense.solve(gk, minusG);
    BlockDiagonalHessianFree.Builder settings = BlockDiagonalHessianFree.fullHessianFree()
        .lambda(lambda).cgProgressTol(0).cgTol(1e-14).lineSearch(false).cgBacktracking(false);
    settings.curvatureBatchSize(10).build().step(obj);
    double[] viaSize = obj.theta();
    double[] delta = new double[theta.length];
    for (int i = 0; i < delta.length; i++) {
      delta[i] = viaSize[i] - theta[i];
    }
    assertTrue(Dense.relativeError(delta, expected) < 1e-10);
    // The explicit two-batch step gives the same result, bit for bit.
    obj.setTheta(theta);
    Objective curvatureBatch = obj.subBatch(IntStream.range(0, 10).toArray());
    settings.curvatureBatchSize(0).build().step(obj, curvatureBatch);
    assertArrayEquals(viaSize, obj.theta());
    // And a curvature batch of all samples is different.
    obj.setTheta(theta);
    settings.curvatureBatchFraction(1).build().step(obj);
    assertNotEquals(viaSize[0], obj.theta()[0]);
  }

  @Test
  void theLineSearchShrinksByPointEightUntilArmijoHolds() {
    QuadraticObjective obj = quadratic(8, 0).ggnScale(0.1);
    double[] theta = obj.theta();
    double l0 = obj.loss(theta);
    double[] g = obj.gradient(theta);
    StepReport r = BlockDiagonalHessianFree.fullHessianFree().lambda(1e-6).cgBacktracking(false)
        .build().step(obj);
    double alpha = r.stepSize();
    int j = (int) Math.round(Math.log(alpha) / Math.log(0.8));
    assertEquals(Math.pow(0.8, j), alpha, 1e-15);
    assertTrue(j >= 1, "α = " + alpha);
    double[] after = obj.theta();
    double[] delta = new double[theta.length];
    for (int i = 0; i < delta.length; i++) {
      delta[i] = (after[i] - theta[i]) / alpha;
    }
    double gd = Dense.dot(g, delta);
    assertTrue(obj.loss(after) <= l0 + 0.01 * alpha * gd);
    assertTrue(obj.loss(SgnTest.Transcription.plus(theta, alpha / 0.8, delta))
        > l0 + 0.01 * (alpha / 0.8) * gd);
  }

  @Test
  void withoutAnAcceptableStepSizeTheParametersStay() {
    QuadraticObjective obj = quadratic(9, 0).ggnScale(1e-9);
    double[] theta = obj.theta();
    StepReport r = BlockDiagonalHessianFree.fullHessianFree().lambda(1e-12)
        .cgBacktracking(false).build().step(obj);
    assertEquals(0.0, r.stepSize());
    assertArrayEquals(theta, obj.theta());
  }

  @Test
  void cgBacktrackingPicksAnEarlierIterateWhenTheLossPrefersIt() {
    QuadraticObjective a = quadratic(10, 0).ggnScale(0.2);
    QuadraticObjective b = quadratic(10, 0).ggnScale(0.2);
    BlockDiagonalHessianFree.Builder s = BlockDiagonalHessianFree.fullHessianFree().lambda(1e-4)
        .lineSearch(false).adaptLambda(false).cgProgressTol(0).cgMaxIter(14);
    BlockDiagonalHessianFree with = s.cgBacktracking(true).build();
    with.step(a);
    s.cgBacktracking(false).build().step(b);
    double la = a.loss(a.theta());
    double lb = b.loss(b.theta());
    assertTrue(la < lb, "backtracked " + la + " vs final " + lb);
    // The warm start keeps the final iterate, not the backtracked one.
    assertArrayEquals(flatten(with.saveState().buffer("cg_warm_start")),
        diff(b.theta(), quadratic(10, 0).theta()), 1e-12);
  }

  static double[] diff(double[] a, double[] b) {
    double[] d = new double[a.length];
    for (int i = 0; i < d.length; i++) {
      d[i] = a[i] - b[i];
    }
    return d;
  }

  @Test
  void nonFiniteValuesChangeNeitherParametersNorState() {
    QuadraticObjective obj = quadratic(11, 0.1);
    BlockDiagonalHessianFree opt = BlockDiagonalHessianFree.builder().build();
    opt.step(obj);
    OptimizerState before = opt.saveState();
    double[] theta = obj.theta();
    obj.store().poisonGgnvp = true;
    assertThrows(NonFiniteException.class, () -> opt.step(obj));
    obj.store().poisonGgnvp = false;
    obj.store().poisonGradient = true;
    assertThrows(NonFiniteException.class, () -> opt.step(obj));
    obj.store().poisonGradient = false;
    obj.store().poisonLoss = true;
    assertThrows(NonFiniteException.class, () -> opt.step(obj));
    assertArrayEquals(theta, obj.theta());
    assertEquals(before, opt.saveState());
  }

  @Test
  void builderAndFactoryRejectBadValuesNamingTheParameter() {
    SgdPhTest.assertMessage("lr:", () -> BlockDiagonalHessianFree.builder().lr(0));
    SgdPhTest.assertMessage("lambda:", () -> BlockDiagonalHessianFree.builder().lambda(-1));
    SgdPhTest.assertMessage("cg_max_iter:", () -> BlockDiagonalHessianFree.builder().cgMaxIter(0));
    SgdPhTest.assertMessage("cg_min_iter:",
        () -> BlockDiagonalHessianFree.builder().cgMinIter(5).cgMaxIter(4).build());
    SgdPhTest.assertMessage("cg_decay:", () -> BlockDiagonalHessianFree.builder().cgDecay(1.5));
    SgdPhTest.assertMessage("cg_progress_tol:",
        () -> BlockDiagonalHessianFree.builder().cgProgressTol(-1));
    SgdPhTest.assertMessage("ls_decay:", () -> BlockDiagonalHessianFree.builder().lsDecay(1));
    SgdPhTest.assertMessage("ls_c:", () -> BlockDiagonalHessianFree.builder().lsC(-0.1));
    SgdPhTest.assertMessage("ls_max_iter:", () -> BlockDiagonalHessianFree.builder().lsMaxIter(0));
    SgdPhTest.assertMessage("curvature_batch_size:",
        () -> BlockDiagonalHessianFree.builder().curvatureBatchSize(-1));
    SgdPhTest.assertMessage("curvature_batch_fraction:",
        () -> BlockDiagonalHessianFree.builder().curvatureBatchFraction(0));
    SgdPhTest.assertMessage("curvature_batch_fraction:",
        () -> BlockDiagonalHessianFree.builder().curvatureBatchFraction(1.5));
    SgdPhTest.assertMessage("curvature_batch_fraction:",
        () -> BlockDiagonalHessianFree.builder().curvatureBatchFraction(Double.NaN));
    SgdPhTest.assertMessage("preconditioner:",
        () -> BlockDiagonalHessianFree.Preconditioner.parse("jacobi"));
    SgdPhTest.assertMessage("reduction_ratio:",
        () -> BlockDiagonalHessianFree.ReductionRatio.parse("undamped"));
    SgdPhTest.assertMessage("optimizer.curvature_batch_fraction:",
        () -> Optimizers.create(new OptimizerSpec("hf", Map.of("curvature_batch_fraction", 0))));
    SgdPhTest.assertMessage("optimizer.preconditioner:",
        () -> Optimizers.create(new OptimizerSpec("bdhf", Map.of("preconditioner", "diag"))));
    SgdPhTest.assertMessage("optimizer.reduction_ratio:",
        () -> Optimizers.create(new OptimizerSpec("hf", Map.of("reduction_ratio", 1))));
    SgdPhTest.assertMessage("partition:", () -> Partition.parse("blocks"));
    SgdPhTest.assertMessage("optimizer.partition:",
        () -> Optimizers.create(new OptimizerSpec("bdhf", Map.of("partition", "blocks"))));
    SgdPhTest.assertMessage("optimizer.partition:",
        () -> Optimizers.create(new OptimizerSpec("hf", Map.of("partition", "layer"))));
    SgdPhTest.assertMessage("optimizer.cg_max_iter:",
        () -> Optimizers.create(new OptimizerSpec("bdhf", Map.of("cg_max_iter", 2.5))));
  }

  @Test
  void theDefaultCurvatureBatchIsTheFirstTenthOfTheGradientBatch() {
    BlockDiagonalHessianFree d = BlockDiagonalHessianFree.builder().build();
    assertEquals(4, d.curvatureBatchSize(40));
    assertEquals(1, d.curvatureBatchSize(8)); // round(0.8)
    assertEquals(3, d.curvatureBatchSize(25)); // round(2.5), half up
    assertEquals(1, d.curvatureBatchSize(1));
    assertEquals(100, d.curvatureBatchSize(1000)); // Kiros' 1000 / 100
    assertEquals(30, BlockDiagonalHessianFree.builder().curvatureBatchFraction(1).build()
        .curvatureBatchSize(30));
    assertEquals(10, BlockDiagonalHessianFree.builder().curvatureBatchFraction(1)
        .curvatureBatchSize(10).build().curvatureBatchSize(40)); // the explicit size wins
    assertEquals(7, BlockDiagonalHessianFree.builder().curvatureBatchSize(10).build()
        .curvatureBatchSize(7));
    assertEquals(20, ((BlockDiagonalHessianFree) Optimizers.create(
        new OptimizerSpec("hf", Map.of("curvature_batch_fraction", 0.5)))).curvatureBatchSize(40));
    assertEquals(4, ((BlockDiagonalHessianFree) Optimizers.create(OptimizerSpec.of("bdhf")))
        .curvatureBatchSize(40));
    // The default step is the explicit two-batch step on the first 4 samples, bit for bit.
    LinearLeastSquaresObjective obj =
        LinearLeastSquaresObjective.random(40, 3, 2, new SplittableRandom(21));
    double[] theta = obj.theta();
    BlockDiagonalHessianFree.fullHessianFree().build().step(obj);
    double[] viaDefault = obj.theta();
    obj.setTheta(theta);
    BlockDiagonalHessianFree.fullHessianFree().build().step(obj, obj.subBatch(0, 1, 2, 3));
    assertArrayEquals(viaDefault, obj.theta());
    obj.setTheta(theta);
    BlockDiagonalHessianFree.fullHessianFree().build().step(obj, obj.subBatch(0, 1, 2, 4));
    assertNotEquals(viaDefault[0], obj.theta()[0]);
  }

  /**
   * Martens' diagonal by hand: the per-term gradient of {@code l_s = (1/k) Σ_o (W x_s + b − y_s)_o²}
   * is {@code (2/k) e_so x_s} for row {@code o} of W and {@code (2/k) e_so} for {@code b_o}; then
   * {@code D = ((1/N) Σ_s g_s ∘ g_s + λ)^0.75}.
   */
  static double[] handMartensDiagonal(double[][] x, double[][] y, double[] theta, double lambda) {
    int n = x.length;
    int d = x[0].length;
    int k = y[0].length;
    double[] sumSq = new double[theta.length];
    for (int s = 0; s < n; s++) {
      double[] g = new double[theta.length];
      for (int o = 0; o < k; o++) {
        double f = theta[k * d + o];
        for (int i = 0; i < d; i++) {
          f += theta[o * d + i] * x[s][i];
        }
        double e = 2.0 / k * (f - y[s][o]);
        for (int i = 0; i < d; i++) {
          g[o * d + i] = e * x[s][i];
        }
        g[k * d + o] = e;
      }
      for (int j = 0; j < g.length; j++) {
        sumSq[j] += g[j] * g[j];
      }
    }
    double[] out = new double[theta.length];
    for (int j = 0; j < out.length; j++) {
      out[j] = Math.pow(sumSq[j] / n + lambda, 0.75);
    }
    return out;
  }

  @Test
  void martensPreconditionerIsTheHandComputedDiagonal() {
    SplittableRandom rnd = new SplittableRandom(31);
    double[][] x = new double[5][3];
    double[][] y = new double[5][2];
    for (int s = 0; s < 5; s++) {
      for (int i = 0; i < 3; i++) {
        x[s][i] = rnd.nextDouble(-2, 2);
      }
      for (int o = 0; o < 2; o++) {
        y[s][o] = rnd.nextDouble(-1, 1);
      }
    }
    double[] theta = new double[8];
    for (int i = 0; i < theta.length; i++) {
      theta[i] = rnd.nextDouble(-1, 1);
    }
    LinearLeastSquaresObjective obj = new LinearLeastSquaresObjective(x, y, theta);
    double lambda = 0.3;
    double[] expected = handMartensDiagonal(x, y, theta, lambda);
    try (var d = BlockDiagonalHessianFree.martensDiagonal(obj, lambda)) {
      assertArrayEquals(expected, obj.toFull(d), 1e-14);
    }
    // The entries differ from one another, so the preconditioner is not a multiple of I.
    assertTrue(Math.abs(expected[0] - expected[6]) > 0.05, java.util.Arrays.toString(expected));

    // One preconditioned CG iteration from 0 on (G + λI) δ = −g with P = D⁻¹:
    // δ = α P r₀, r₀ = −g, α = r₀ᵀPr₀ / (Pr₀)ᵀ(G + λI)(Pr₀).
    double[][] a = obj.ggnMatrix(5);
    for (int i = 0; i < a.length; i++) {
      a[i][i] += lambda;
    }
    double[] g = obj.gradient(theta);
    double[] pr = new double[g.length];
    double rpr = 0;
    for (int i = 0; i < g.length; i++) {
      pr[i] = -g[i] / expected[i];
      rpr += g[i] * g[i] / expected[i];
    }
    double alpha = rpr / Dense.dot(pr, Dense.matVec(a, pr));
    for (Partition p : List.of(Partition.SINGLE, Partition.LAYER)) { // one layer: one block
      obj.setTheta(theta);
      BlockDiagonalHessianFree.builder().partition(p).lambda(lambda)
          .preconditioner(BlockDiagonalHessianFree.Preconditioner.MARTENS)
          .curvatureBatchFraction(1).cgMaxIter(1).cgBacktracking(false).lineSearch(false)
          .build().step(obj);
      double[] after = obj.theta();
      for (int i = 0; i < theta.length; i++) {
        assertEquals(theta[i] + alpha * pr[i], after[i], 1e-13, p + " entry " + i);
      }
    }
    // Without the preconditioner the same iteration goes elsewhere.
    obj.setTheta(theta);
    BlockDiagonalHessianFree.fullHessianFree().lambda(lambda).curvatureBatchFraction(1)
        .cgMaxIter(1).cgBacktracking(false).lineSearch(false).build().step(obj);
    assertTrue(Math.abs(obj.theta()[0] - (theta[0] + alpha * pr[0])) > 1e-6);
    // The factory spells it "martens".
    obj.setTheta(theta);
    Optimizers.create(new OptimizerSpec("hf", Map.of("lambda", lambda, "preconditioner",
        "martens", "curvature_batch_fraction", 1, "cg_max_iter", 1, "cg_backtracking", false,
        "line_search", false))).step(obj);
    assertEquals(theta[3] + alpha * pr[3], obj.theta()[3], 1e-13);
  }

  @Test
  void theReductionRatioIsDampedByDefaultOrMartensUndampedOnTheCurvatureBatch() {
    LinearLeastSquaresObjective obj =
        LinearLeastSquaresObjective.random(20, 3, 2, new SplittableRandom(41));
    double[] theta = obj.theta();
    double lambda = 0.5;
    int m = 5;
    // δ = −(G_c + λI)⁻¹ g exactly: G_c on the first 5 samples, g on all 20.
    double[][] gc = obj.ggnMatrix(m);
    double[][] damped = new double[gc.length][];
    for (int i = 0; i < gc.length; i++) {
      damped[i] = gc[i].clone();
      damped[i][i] += lambda;
    }
    double[] g = obj.gradient(theta);
    double[] minusG = new double[g.length];
    for (int i = 0; i < g.length; i++) {
      minusG[i] = -g[i];
    }
    double[] delta = Dense.solve(damped, minusG);
    double[] moved = new double[theta.length];
    for (int i = 0; i < moved.length; i++) {
      moved[i] = theta[i] + delta[i];
    }
    double gd = Dense.dot(g, delta);
    double dGd = Dense.dot(delta, Dense.matVec(gc, delta));
    double dd = Dense.dot(delta, delta);
    LinearLeastSquaresObjective first =
        (LinearLeastSquaresObjective) obj.subBatch(IntStream.range(0, m).toArray());
    double rhoDamped = (obj.loss(moved) - obj.loss(theta)) / (gd + 0.5 * (dGd + lambda * dd));
    double rhoMartens = (first.loss(moved) - first.loss(theta)) / (gd + 0.5 * dGd);
    assertTrue(Math.abs(rhoDamped - rhoMartens) > 0.05, rhoDamped + " vs " + rhoMartens);

    BlockDiagonalHessianFree.Builder settings = BlockDiagonalHessianFree.fullHessianFree()
        .lambda(lambda).curvatureBatchSize(m).cgProgressTol(0).cgTol(1e-14)
        .cgBacktracking(false).lineSearch(false);
    BlockDiagonalHessianFree byDefault = settings.build();
    byDefault.step(obj);
    assertArrayEquals(moved, obj.theta(), 1e-11);
    assertEquals(rhoDamped, byDefault.lastReductionRatio(), 1e-9 * Math.abs(rhoDamped));
    obj.setTheta(theta);
    BlockDiagonalHessianFree martens =
        settings.reductionRatio(BlockDiagonalHessianFree.ReductionRatio.MARTENS).build();
    martens.step(obj);
    assertEquals(rhoMartens, martens.lastReductionRatio(), 1e-9 * Math.abs(rhoMartens));

    // On an exactly quadratic loss with its exact curvature (whole batch), Martens' undamped ρ
    // is 1 whatever λ, the damped one is q_undamped / q_damped > 1.
    obj.setTheta(theta);
    BlockDiagonalHessianFree whole = BlockDiagonalHessianFree.fullHessianFree().lambda(lambda)
        .curvatureBatchFraction(1).cgProgressTol(0).cgTol(1e-14).cgBacktracking(false)
        .lineSearch(false).reductionRatio(BlockDiagonalHessianFree.ReductionRatio.MARTENS)
        .build();
    whole.step(obj);
    assertEquals(1.0, whole.lastReductionRatio(), 1e-10);
    obj.setTheta(theta);
    BlockDiagonalHessianFree wholeDamped = BlockDiagonalHessianFree.fullHessianFree()
        .lambda(lambda).curvatureBatchFraction(1).cgProgressTol(0).cgTol(1e-14)
        .cgBacktracking(false).lineSearch(false).build();
    wholeDamped.step(obj);
    assertTrue(wholeDamped.lastReductionRatio() > 1.05, "" + wholeDamped.lastReductionRatio());
    // The factory spells it "martens".
    obj.setTheta(theta);
    BlockDiagonalHessianFree viaSpec = (BlockDiagonalHessianFree) Optimizers.create(
        new OptimizerSpec("hf", Map.of("lambda", lambda, "curvature_batch_size", m,
            "cg_progress_tol", 0, "cg_tol", 1e-14, "cg_backtracking", false, "line_search", false,
            "reduction_ratio", "martens")));
    viaSpec.step(obj);
    assertEquals(rhoMartens, viaSpec.lastReductionRatio(), 1e-9 * Math.abs(rhoMartens));
  }
}
