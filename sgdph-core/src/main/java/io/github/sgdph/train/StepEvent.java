package io.github.sgdph.train;

import io.github.sgdph.optim.StepReport;

/**
 * One optimizer step of a {@link Training} run.
 *
 * @param epoch the 0-based epoch
 * @param batch the 0-based mini-batch within the epoch
 * @param batches the number of mini-batches in the epoch
 * @param step the 1-based step count of the whole run
 * @param samples the samples in the mini-batch
 * @param report what the optimizer reported (its {@code loss} is the mini-batch loss before the
 *     step)
 * @param seconds the wall-clock time of the step, including the batch's preparation
 */
public record StepEvent(
    int epoch, int batch, int batches, long step, int samples, StepReport report,
    double seconds) {}
