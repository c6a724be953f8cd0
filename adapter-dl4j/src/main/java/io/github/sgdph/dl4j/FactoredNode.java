package io.github.sgdph.dl4j;

import io.github.sgdph.curvature.FactoredLayer;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A forward-pass node of a stage whose curvature block Kronecker-factors — the affine map of a
 * {@code DenseLayer} or {@code OutputLayer} ({@link AffineOp}) and a convolution ({@link
 * ConvOp}) — as the Kronecker-factor SPI ({@link
 * io.github.sgdph.curvature.Curvature#factoredLayers()}) reads it: KFAC's layer input {@code a}
 * (Martens and Grosse 2015, §3) or KFC's expanded input, the unfolded patches (Grosse and Martens
 * 2016, §3.1), and the gradient {@code δ} with respect to the stage's pre-activation output, per
 * sample and position.
 */
interface FactoredNode {

  /**
   * The kind of layer.
   *
   * @return dense or convolution
   */
  FactoredLayer.Kind kind();

  /**
   * The size of {@code a}: input features or {@code C·kh·kw}.
   *
   * @return at least 1
   */
  long inputDim();

  /**
   * The size of the output {@code s}: features or channels.
   *
   * @return at least 1
   */
  long outputDim();

  /**
   * The number of positions {@code t}.
   *
   * @return 1 for a dense layer, {@code oh·ow} for a convolution
   */
  long positions();

  /**
   * The inputs {@code a_it} of the forward pass, {@code [n, inputDim, positions]}: entry {@code
   * [i][j][t]} is component {@code j} of {@code a_it}, a convolution's patch component ordered
   * {@code (c·kh + ky)·kw + kx} like the flattened weight {@code [o, c, kh, kw]} and its position
   * {@code t = oy·ow + ox}.
   *
   * @return a view of what the node keeps or an array of the current scope: the caller copies it
   *     and never modifies it
   */
  INDArray factorInputs();

  /**
   * The gradient {@code g} with respect to the stage's output, laid out as {@code [n, outputDim,
   * positions]} (a convolution's NCHW output with its spatial axes flattened).
   *
   * @param g a gradient of the node's output's shape
   * @return a view of {@code g} or an array of the current scope: the caller copies it
   */
  INDArray factorOutputGradient(INDArray g);
}
