/**
 * Training a model on a dataset: the loop ({@link io.github.sgdph.train.Training}), evaluation
 * in evaluation mode ({@link io.github.sgdph.train.Evaluation}), listeners and checkpoint state.
 * Control flow and arithmetic only: file formats live in {@code sgdph-io}, progress bars and
 * plots in the command-line tool.
 */
package io.github.sgdph.train;
