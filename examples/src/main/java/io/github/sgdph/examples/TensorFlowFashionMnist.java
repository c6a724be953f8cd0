package io.github.sgdph.examples;

import io.github.sgdph.io.FashionMnist;
import io.github.sgdph.model.NamedArray;
import io.github.sgdph.optim.Optimizer;
import io.github.sgdph.optim.OptimizerSpec;
import io.github.sgdph.optim.Optimizers;
import io.github.sgdph.tensor.DType;
import io.github.sgdph.tensorflow.TfBatch;
import io.github.sgdph.tensorflow.TfForward;
import io.github.sgdph.tensorflow.TfGraphModel;
import io.github.sgdph.tensorflow.TfLosses;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.ndarray.buffer.FloatDataBuffer;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt64;

/**
 * A TensorFlow Java user's own graph trained on Fashion-MNIST with SGD-PH. The network is a
 * function of a graph's {@link Ops}; sgdph's {@link TfGraphModel} builds it into its graph for
 * training (and runs it, its gradient and curvature products in its own session); a
 * {@link Graph} and {@link Session} of the user's run it with the trained weights for the test
 * accuracy.
 *
 * <pre>
 * TF_CPP_MIN_LOG_LEVEL=2 java -cp "$(cat examples/target/classpath.txt):examples/target/classes" \
 *     io.github.sgdph.examples.TensorFlowFashionMnist [trainingImages [epochs [testImages]]]
 * </pre>
 */
public final class TensorFlowFashionMnist {
  private TensorFlowFashionMnist() {}

  /**
   * Trains a ReLU MLP with SGD-PH and prints the test accuracy.
   *
   * @param args optional: training images (default 60000), epochs (1), test images (10000)
   */
  public static void main(String[] args) {
    int train = args.length > 0 ? Integer.parseInt(args[0]) : 60_000;
    int epochs = args.length > 1 ? Integer.parseInt(args[1]) : 1;
    int test = args.length > 2 ? Integer.parseInt(args[2]) : 10_000;
    System.out.printf("test accuracy %.4f%n", train(train, epochs, test));
  }

  /** The network, 784-256-10 with ReLU, in TensorFlow's layout ({@code x W + b}, W [in, out]). */
  static Operand<TFloat32> logits(
      Ops tf, Operand<TFloat32> x, Function<String, Operand<TFloat32>> w) {
    Operand<TFloat32> h =
        tf.nn.relu(tf.nn.biasAdd(tf.linalg.matMul(x, w.apply("w1")), w.apply("b1")));
    return tf.nn.biasAdd(tf.linalg.matMul(h, w.apply("w2")), w.apply("b2"));
  }

  /**
   * Trains on the first {@code trainImages} training images and evaluates on the first
   * {@code testImages} test images.
   *
   * @param trainImages how many training images
   * @param epochs how many passes over them
   * @param testImages how many test images
   * @return the test accuracy after the last epoch
   */
  public static double train(int trainImages, int epochs, int testImages) {
    FashionMnistSubset train = FashionMnistSubset.load(FashionMnist.Split.TRAIN, trainImages);
    Random random = new Random(0);
    try (TfGraphModel model = TfGraphModel.builder(DType.FLOAT32)
        .input("x", 784).input("y", 10)                      // y: one-hot labels
        .parameter("w1", new int[] {784, 256}, he(random, 784, 256))
        .parameter("b1", new int[] {256}, new double[256])
        .parameter("w2", new int[] {256, 10}, he(random, 256, 10))
        .parameter("b2", new int[] {10}, new double[10])
        .forward(ctx -> {
          Operand<TFloat32> z = logits(ctx.tf(), ctx.input("x"), ctx::parameter);
          return TfForward.Outputs.of(z, TfLosses.softmaxCrossEntropy(ctx.tf(), z, ctx.input("y")));
        })
        .build()) {
      Optimizer sgdph = Optimizers.create(new OptimizerSpec("sgdph", Map.of("lr", 0.1)));
      List<Integer> order = IntStream.range(0, trainImages).boxed().collect(Collectors.toList());
      for (int epoch = 0; epoch < epochs; epoch++) {
        Collections.shuffle(order, random);
        for (int from = 0; from < trainImages; from += 128) {
          FashionMnistSubset b = train.rows(order.subList(from, Math.min(from + 128, trainImages)));
          TfBatch batch = TfBatch.builder()
              .put("x", b.images(), b.size(), 784).put("y", b.oneHotLabels(), b.size(), 10).build();
          sgdph.step(model.objective(batch));               // updates the model's weights
        }
      }
      return accuracy(model, FashionMnistSubset.load(FashionMnist.Split.TEST, testImages));
    }
  }

  /** The test accuracy, in a graph and session of our own with the trained weights. */
  static double accuracy(TfGraphModel model, FashionMnistSubset test) {
    try (Graph graph = new Graph(); Session session = new Session(graph)) {
      Ops tf = Ops.create(graph);
      Placeholder<TFloat32> x =
          tf.placeholder(TFloat32.class, Placeholder.shape(Shape.of(-1, 784)));
      Map<String, Operand<TFloat32>> trained = new HashMap<>();
      for (NamedArray w : model.exportParameters()) {             // name, shape, values
        long[] shape = IntStream.of(w.shape()).asLongStream().toArray();
        trained.put(w.name(), tf.constant(Shape.of(shape), floats(w.valuesView())));
      }
      Operand<TInt64> predicted = tf.math.argMax(logits(tf, x, trained::get), tf.constant(1));
      try (TFloat32 images = TFloat32.tensorOf(Shape.of(test.size(), 784), floats(test.images()));
          Result result = session.runner().feed(x, images).fetch(predicted).run()) {
        TInt64 classes = (TInt64) result.get(0);
        long correct = IntStream.range(0, test.size())
            .filter(i -> classes.getLong(i) == test.labels()[i]).count();
        return correct / (double) test.size();
      }
    }
  }

  /** He initialisation of an {@code [in, out]} weight. */
  private static double[] he(Random random, int in, int out) {
    double[] w = new double[in * out];
    for (int i = 0; i < w.length; i++) {
      w[i] = random.nextGaussian() * Math.sqrt(2.0 / in);
    }
    return w;
  }

  private static FloatDataBuffer floats(double[] values) {
    return DataBuffers.of(FashionMnistSubset.floats(values));
  }
}
