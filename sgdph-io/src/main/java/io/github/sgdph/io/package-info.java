/**
 * Files: dataset readers ({@link io.github.sgdph.io.IdxFiles}, {@link
 * io.github.sgdph.io.FashionMnist}, {@link io.github.sgdph.io.CsvDatasets}) and training
 * checkpoints ({@link io.github.sgdph.io.CheckpointFile}). Every bad file is a {@link
 * io.github.sgdph.io.DataFileException} naming the file and the problem.
 */
package io.github.sgdph.io;
