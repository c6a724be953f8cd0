/**
 * The Deeplearning4j / ND4J backend of sgdph: exact gradients and Hessian-, Jacobian- and
 * generalized-Gauss-Newton-vector products for {@code MultiLayerNetwork}s and
 * {@code ComputationGraph}s, computed by a forward pass, a backward pass and Pearlmutter's
 * R-operator ("Fast exact multiplication by the Hessian", 1994) written per layer type with ND4J
 * ops (SameDiff cannot differentiate its own gradients).
 *
 * <p>A network is read into a directed acyclic graph of ops in topological order, a
 * {@code MultiLayerNetwork} being the chain special case; every pass runs over that graph, and
 * where an activation is read by several ops (a residual block's input, read by the block and
 * by its shortcut) the gradients and their R-derivatives of all its consumers add up. Residual
 * networks (He, Zhang, Ren, Sun, CVPR 2016) are graphs of {@code ElementWiseVertex(Add)} merges.
 *
 * <p>Recurrent networks: DL4J's {@code LSTM} layer (no peepholes; sigmoid gates, tanh
 * activation; {@code NCW} or {@code NWC} data), alone or in {@code LastTimeStep}, and
 * {@code RnnOutputLayer} (a loss per time step, summed over time steps and averaged over
 * sequences, DL4J's own score), with back-propagation through time and Pearlmutter's exact
 * R-operator through the recurrence (his §4 on recurrent networks) written with ND4J ops over
 * DL4J's own weights ({@code W [in, 4H]}, {@code RW [H, 4H]}, {@code b [1, 4H]}, column blocks
 * g, f, o, i), never DL4J's fused helpers (cuDNN or oneDNN), which have no second derivative.
 * {@code GravesLSTM} (peepholes) and other gate activations are refused by name. The spec's
 * {@code lstm} builds as such layers over {@code NWC} data, its entries (gates i, f, g, o,
 * PyTorch's {@code [4H, in]}) mapped to DL4J's layout.
 *
 * <p>Entry points: {@link io.github.sgdph.dl4j.Dl4jNetworkModel} for a user's own
 * {@code MultiLayerNetwork}, {@link io.github.sgdph.dl4j.Dl4jGraphModel} for a user's own
 * {@code ComputationGraph}, {@link io.github.sgdph.dl4j.Dl4jBackend} ({@code dl4j}) for models of
 * the neutral spec (sequential ones as {@code MultiLayerNetwork}s, graph ones as
 * {@code ComputationGraph}s), and {@link io.github.sgdph.dl4j.Nd4jAlgebra} for the tensor algebra
 * over {@code INDArray}s.
 */
package io.github.sgdph.dl4j;
