package io.github.sgdph.train;

/**
 * The figures of one epoch of a {@link Training} run.
 *
 * @param epoch the 0-based epoch
 * @param step the run's step count at the end of the epoch
 * @param trainLoss the mean of the epoch's mini-batch losses, each before its step (train mode,
 *     as the optimizer saw it); a resumed epoch counts the batches before the checkpoint too
 * @param test the evaluation on the held-out set, or null when the run has none
 * @param seconds the wall-clock time of the epoch's steps (without evaluation), in this process
 * @param evaluationSeconds the wall-clock time of the evaluation
 */
public record EpochResult(
    int epoch, long step, double trainLoss, Evaluation test, double seconds,
    double evaluationSeconds) {}
