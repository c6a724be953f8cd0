/** Data-parallel curvature on Apache Spark. */
package io.github.sgdph.spark;
