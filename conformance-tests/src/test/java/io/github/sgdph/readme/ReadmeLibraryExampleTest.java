package io.github.sgdph.readme;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.analysis.Eigenpairs;
import io.github.sgdph.analysis.Lanczos;
import io.github.sgdph.cases.CaseFile;
import io.github.sgdph.cases.json.BundledCases;
import io.github.sgdph.curvature.Curvature;
import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.linalg.HessianOperator;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.NamedArray;
import io.github.sgdph.model.SpecBackend;
import io.github.sgdph.model.SpecModel;
import io.github.sgdph.optim.Optimizer;
import io.github.sgdph.optim.OptimizerSpec;
import io.github.sgdph.optim.Optimizers;
import io.github.sgdph.optim.StepReport;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.tensor.DType;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * README.md's "Using the library" snippet lives here, compiled and run on a bundled case; the
 * README quotes it verbatim (checked below), so the quote cannot drift from code that compiles.
 */
class ReadmeLibraryExampleTest {
  private static final Path README = Path.of("../README.md");
  private static final Path SOURCE =
      Path.of("src/test/java/io/github/sgdph/readme/ReadmeLibraryExampleTest.java");

  /** The quoted lines run from "// README: begin" to "// README: end" (exclusive). */
  static double example(ModelSpec spec, List<NamedArray> initialParameters,
      List<ArrayBatch> batches, SplittableRandom rng) {
    // README: begin
    try (SpecModel model = SpecBackend.find("reference").build(spec, initialParameters, DType.FLOAT64)) {
      Optimizer opt = Optimizers.create(new OptimizerSpec("sgdph", Map.of("lr", 0.1, "tau", 1e-3)));
      for (ArrayBatch batch : batches) {
        StepReport r = opt.step(model.objective(batch));   // closure-style: the optimizer may re-evaluate
      }
      try (Curvature c = model.objective(batches.get(0)).curvature();     // one forward pass ...
           ParameterVector v = ParameterVector.randomNormal(model.algebra(), model.layout(), rng);
           ParameterVector hv = c.hvp(v);                                  // ... serves many exact products
           ParameterVector gv = c.ggnvp(v.restrict(model.layout().select(0)));  // a diagonal block
           Eigenpairs top = Lanczos.builder().build()
               .largest(new HessianOperator(c), model.algebra(), 5, rng)) {
        return top.value(0);
      }
    }
    // README: end
  }

  @Test
  void theExampleRunsOnABundledCase() {
    CaseFile c = BundledCases.load("mlp-tanh-sgd.json");
    double top = example(c.model(), c.parameters(), c.batches(), new SplittableRandom(2));
    assertTrue(top > 0 && Double.isFinite(top), "largest eigenvalue of H: " + top);
  }

  @Test
  void theReadmeQuotesTheExampleVerbatim() throws IOException {
    List<String> src = Files.readAllLines(SOURCE, StandardCharsets.UTF_8);
    int begin = src.indexOf("    // README: begin");
    int end = src.indexOf("    // README: end");
    List<String> quoted = new ArrayList<>();
    for (String line : src.subList(begin + 1, end)) {
      quoted.add(line.startsWith("    ") ? line.substring(4) : line);
    }
    String readme = Files.readString(README, StandardCharsets.UTF_8);
    String block = "```java\n" + String.join("\n", quoted) + "\n```";
    assertTrue(readme.contains(block),
        "README.md's library example differs from " + SOURCE + "; quote it as:\n" + block);
  }
}
