/**
 * Kronecker-factored curvature: KFAC (Martens and Grosse, "Optimizing neural networks with
 * Kronecker-factored approximate curvature", ICML 2015), its convolutional form KFC (Grosse and
 * Martens, "A Kronecker-factored approximate Fisher matrix for convolution layers", ICML 2016) and
 * EKFAC (George, Laurent, Bouthillier, Ballas, Vincent, "Fast approximate natural gradient descent
 * in a Kronecker-factored eigenbasis", NeurIPS 2018), as linear operators with damped inverses,
 * built from the Kronecker-factor SPI of {@link io.github.sgdph.curvature.Curvature} ({@link
 * io.github.sgdph.curvature.Curvature#factoredLayers()}).
 */
package io.github.sgdph.kfac;
