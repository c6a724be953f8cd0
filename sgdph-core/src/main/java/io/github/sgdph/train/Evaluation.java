package io.github.sgdph.train;

import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.data.Dataset;
import io.github.sgdph.model.LossKind;
import io.github.sgdph.model.SpecModel;
import java.util.Objects;

/**
 * A model's loss and accuracy on a dataset in evaluation mode ({@link SpecModel#predict}: batch
 * norm with running statistics), computed on the host in double precision from the outputs, so
 * every backend's figures are comparable.
 *
 * @param samples the number of samples evaluated
 * @param loss the mean loss {@code (1/n) Σ ℓ_i} ({@link LossKind#sampleLoss})
 * @param accuracy the fraction of right predictions ({@link LossKind#correct}), {@code NaN} for
 *     a loss that does not classify (MSE)
 * @param reconstructionError the mean squared reconstruction error per sample {@code (1/n) Σ_i
 *     Σ_j (ŷ_ij − y_ij)²} ({@link LossKind#reconstructionError}: an autoencoder's error per
 *     image), {@code NaN} for a loss that does not reconstruct (softmax cross-entropy)
 */
public record Evaluation(int samples, double loss, double accuracy, double reconstructionError) {

  /**
   * Evaluates {@code model} on all of {@code data}, {@code batchSize} samples per forward pass.
   *
   * @param model the model, in any backend
   * @param data the samples (the model's input and label shapes)
   * @param batchSize samples per forward pass, positive
   * @return the evaluation
   * @throws IllegalArgumentException naming {@code batchSize} if not positive, or from the model
   *     if the data does not fit it
   */
  public static Evaluation of(SpecModel model, Dataset data, int batchSize) {
    Objects.requireNonNull(model, "model");
    Objects.requireNonNull(data, "data");
    if (batchSize < 1) {
      throw new IllegalArgumentException("batchSize: must be positive but was " + batchSize);
    }
    LossKind loss = model.spec().loss();
    int k = model.spec().outputShape()[0];
    double sum = 0;
    long right = 0;
    long judged = 0;
    double squared = 0;
    for (int from = 0; from < data.size(); from += batchSize) {
      ArrayBatch b = data.range(from, Math.min(data.size(), from + batchSize));
      double[] z = model.predict(b);
      double[] y = b.yView();
      for (int i = 0; i < b.size(); i++) {
        sum += loss.sampleLoss(z, y, k, i);
        if (loss.classifies()) {
          right += loss.correct(z, y, k, i);
          judged += loss.predictionsPerSample(k);
        }
        if (loss.reconstructs()) {
          squared += loss.reconstructionError(z, y, k, i);
        }
      }
    }
    return new Evaluation(
        data.size(), sum / data.size(), loss.classifies() ? (double) right / judged : Double.NaN,
        loss.reconstructs() ? squared / data.size() : Double.NaN);
  }
}
