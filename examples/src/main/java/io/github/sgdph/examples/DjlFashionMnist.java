package io.github.sgdph.examples;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.metric.Metrics;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.BatchNorm;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.Trainer;
import ai.djl.training.TrainingConfig;
import ai.djl.training.dataset.ArrayDataset;
import ai.djl.training.evaluator.Accuracy;
import ai.djl.training.listener.TrainingListener;
import ai.djl.training.loss.Loss;
import ai.djl.translate.TranslateException;
import io.github.sgdph.djl.SecondOrderTraining;
import io.github.sgdph.io.FashionMnist;
import java.io.IOException;
import java.util.Map;

/**
 * A DJL user's own {@code Block} trained on Fashion-MNIST with SGD-PH: a DJL {@link Model},
 * {@link Trainer} and {@link TrainingConfig} with DJL's loss, evaluator and listeners, and
 * sgdph's {@link SecondOrderTraining} doing the steps ({@code EasyTrain.fit} with second-order
 * steps). Test accuracy is DJL's own validation result.
 *
 * <pre>
 * java -cp "$(cat examples/target/classpath.txt):examples/target/classes" \
 *     io.github.sgdph.examples.DjlFashionMnist [trainingImages [epochs [testImages]]]
 * </pre>
 */
public final class DjlFashionMnist {
  private DjlFashionMnist() {}

  /**
   * Trains a batch-norm MLP with SGD-PH and prints DJL's training result.
   *
   * @param args optional: training images (default 60000), epochs (1), test images (10000)
   * @throws IOException if a dataset cannot be read
   * @throws TranslateException if a batch cannot be made
   */
  public static void main(String[] args) throws IOException, TranslateException {
    int train = args.length > 0 ? Integer.parseInt(args[0]) : 60_000;
    int epochs = args.length > 1 ? Integer.parseInt(args[1]) : 1;
    int test = args.length > 2 ? Integer.parseInt(args[2]) : 10_000;
    System.out.printf("test accuracy %.4f%n", train(train, epochs, test));
  }

  /**
   * Trains on the first {@code trainImages} training images and evaluates on the first
   * {@code testImages} test images.
   *
   * @param trainImages how many training images
   * @param epochs how many passes over them
   * @param testImages how many test images
   * @return the test accuracy after the last epoch
   * @throws IOException if a dataset cannot be read
   * @throws TranslateException if a batch cannot be made
   */
  public static double train(int trainImages, int epochs, int testImages)
      throws IOException, TranslateException {
    Engine.getEngine("PyTorch").setRandomSeed(0);
    try (Model model = Model.newInstance("fashion-mlp", Device.cpu(), "PyTorch")) {
      model.setBlock(new SequentialBlock()
          .add(Linear.builder().setUnits(256).build())
          .add(BatchNorm.builder().build())
          .add(Activation.reluBlock())
          .add(Linear.builder().setUnits(10).build()));
      TrainingConfig config = new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
          .addEvaluator(new Accuracy())
          .optDevices(new Device[] {Device.cpu()})
          .addTrainingListeners(TrainingListener.Defaults.logging());
      try (Trainer trainer = model.newTrainer(config)) {
        trainer.initialize(new Shape(1, 784));
        trainer.setMetrics(new Metrics());             // the logging listener prints them
        NDManager manager = model.getNDManager();
        ArrayDataset trainSet = dataset(manager, FashionMnist.Split.TRAIN, trainImages);
        ArrayDataset testSet = dataset(manager, FashionMnist.Split.TEST, testImages);
        try (SecondOrderTraining sgdph = SecondOrderTraining.builder(trainer)
            .optimizer("sgdph", Map.of("lr", 0.1))
            .build()) {
          sgdph.fit(epochs, trainSet, testSet);      // EasyTrain.fit with SGD-PH steps
        }
        return trainer.getTrainingResult().getValidateEvaluation("Accuracy");
      }
    }
  }

  /** The first {@code n} images of a split as a shuffled DJL dataset. */
  private static ArrayDataset dataset(NDManager manager, FashionMnist.Split split, int n) {
    FashionMnistSubset data = FashionMnistSubset.load(split, n);
    return new ArrayDataset.Builder()
        .setData(manager.create(FashionMnistSubset.floats(data.images()), new Shape(n, 784)))
        .optLabels(manager.create(data.labels()).toType(DataType.FLOAT32, false))
        .setSampling(128, true)
        .build();
  }
}
