package io.github.sgdph.dl4j;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * A manual timing harness (not a test): softplus of a {@code [128, 256]} array with ND4J's
 * inexact {@code Transforms.log1p} against {@link ExactMath#softplus}, in one JVM, interleaved
 * round by round, medians over rounds. Run with the test classpath and {@code
 * OMP_WAIT_POLICY=PASSIVE}: {@code java -cp ... io.github.sgdph.dl4j.ExactMathTiming [rounds]}.
 */
public final class ExactMathTiming {
  private ExactMathTiming() {}

  public static void main(String[] args) {
    int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 2000;
    for (DataType type : List.of(DataType.FLOAT, DataType.DOUBLE)) {
      INDArray x = Nd4j.randn(type, 128, 256).muli(10);
      List<Double> nd4j = new ArrayList<>();
      List<Double> exact = new ArrayList<>();
      for (int r = -rounds / 5; r < rounds; r++) {
        long t0 = System.nanoTime();
        INDArray e = Transforms.exp(Transforms.abs(x, true).negi(), false);
        INDArray a = Transforms.relu(x, true).addi(Transforms.log1p(e, false));
        long t1 = System.nanoTime();
        INDArray b = ExactMath.softplus(x);
        long t2 = System.nanoTime();
        if (r >= 0) {
          nd4j.add((t1 - t0) / 1e3);
          exact.add((t2 - t1) / 1e3);
        }
        a.close();
        b.close();
      }
      System.out.printf("%s softplus [128, 256]: ND4J log1p %.1f µs, exact %.1f µs, ratio %.2f%n",
          type, median(nd4j), median(exact), median(exact) / median(nd4j));
    }
  }

  private static double median(List<Double> v) {
    double[] s = v.stream().mapToDouble(Double::doubleValue).toArray();
    Arrays.sort(s);
    return s.length % 2 == 1 ? s[s.length / 2] : 0.5 * (s[s.length / 2 - 1] + s[s.length / 2]);
  }
}
