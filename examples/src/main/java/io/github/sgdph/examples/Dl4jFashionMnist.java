package io.github.sgdph.examples;

import io.github.sgdph.dl4j.Dl4jNetworkModel;
import io.github.sgdph.io.FashionMnist;
import io.github.sgdph.optim.Optimizer;
import io.github.sgdph.optim.OptimizerSpec;
import io.github.sgdph.optim.Optimizers;
import io.github.sgdph.optim.StepReport;
import java.util.Map;
import org.deeplearning4j.datasets.iterator.ExistingDataSetIterator;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.deeplearning4j.optimize.api.InvocationType;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.deeplearning4j.optimize.listeners.EvaluativeListener;
import org.deeplearning4j.optimize.listeners.ScoreIterationListener;
import org.nd4j.evaluation.classification.Evaluation;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/**
 * A Deeplearning4j user's own {@code MultiLayerNetwork} trained on Fashion-MNIST with SGD-PH:
 * configured with DL4J's builder, fed by a {@link DataSetIterator}, watched by DL4J's
 * {@link ScoreIterationListener} and {@link EvaluativeListener}, evaluated with DL4J's
 * {@link Evaluation}. sgdph's optimizer replaces {@code net.fit(iterator)} and updates the
 * network's own parameters in place, so everything DL4J does afterwards sees the trained network.
 *
 * <pre>
 * OMP_WAIT_POLICY=PASSIVE java -cp "$(cat examples/target/classpath.txt):examples/target/classes" \
 *     io.github.sgdph.examples.Dl4jFashionMnist [trainingImages [epochs [testImages]]]
 * </pre>
 */
public final class Dl4jFashionMnist {
  private Dl4jFashionMnist() {}

  /**
   * Trains a batch-norm MLP with SGD-PH and prints DL4J's evaluation.
   *
   * @param args optional: training images (default 60000), epochs (1), test images (10000)
   */
  public static void main(String[] args) {
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
   */
  public static double train(int trainImages, int epochs, int testImages) {
    DataSetIterator trainData = iterator(FashionMnist.Split.TRAIN, trainImages);
    DataSetIterator testData = iterator(FashionMnist.Split.TEST, testImages);
    MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder()
        .seed(0).dataType(DataType.FLOAT).weightInit(WeightInit.RELU).list()
        .layer(new DenseLayer.Builder().nIn(784).nOut(256).activation(Activation.IDENTITY).build())
        .layer(new BatchNormalization.Builder().nOut(256).build())
        .layer(new ActivationLayer.Builder().activation(Activation.RELU).build())
        .layer(new OutputLayer.Builder(LossFunction.MCXENT).nIn(256).nOut(10)
            .activation(Activation.SOFTMAX).build())
        .build());
    net.init();
    net.setListeners(new ScoreIterationListener(10),
        new EvaluativeListener(testData, 1, InvocationType.EPOCH_END));

    Dl4jNetworkModel model = Dl4jNetworkModel.of(net);          // the network's own parameters
    Optimizer sgdph = Optimizers.create(new OptimizerSpec("sgdph", Map.of("lr", 0.1)));
    for (int epoch = 0; epoch < epochs; epoch++) {              // what net.fit(trainData) does
      for (TrainingListener l : net.getListeners()) {
        l.onEpochStart(net);
      }
      trainData.reset();
      while (trainData.hasNext()) {
        DataSet batch = trainData.next();
        StepReport step = sgdph.step(model.objective(batch));   // updates net in place
        model.updateBatchNormStatistics(batch);                  // global mean/var, as fit does
        net.setScore(step.loss());
        int iteration = net.getIterationCount();
        net.setIterationCount(iteration + 1);
        for (TrainingListener l : net.getListeners()) {
          l.iterationDone(net, iteration, epoch);
        }
      }
      for (TrainingListener l : net.getListeners()) {
        l.onEpochEnd(net);
      }
      net.incrementEpochCount();
    }
    Evaluation evaluation = net.evaluate(testData);
    return evaluation.accuracy();
  }

  /** The first {@code n} images of a split in batches of 128, with one-hot labels. */
  private static DataSetIterator iterator(FashionMnist.Split split, int n) {
    FashionMnistSubset data = FashionMnistSubset.load(split, n);
    DataSet all = new DataSet(Nd4j.create(data.images(), new long[] {n, 784}, DataType.FLOAT),
        Nd4j.create(data.oneHotLabels(), new long[] {n, 10}, DataType.FLOAT));
    return new ExistingDataSetIterator(all.batchBy(128));
  }
}
