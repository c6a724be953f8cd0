package io.github.sgdph;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.lang.EvaluationResult;
import com.tngtech.archunit.library.GeneralCodingRules;
import io.github.sgdph.archfixture.ImportsAFramework;
import io.github.sgdph.archfixture.PullsToHost;
import io.github.sgdph.archfixture.cyclea.UsesB;
import io.github.sgdph.archfixture.cycleb.UsesA;
import org.junit.jupiter.api.Test;

/**
 * The architecture rules of ARCHITECTURE.md for the core, checked on its compiled classes, and
 * shown to fail on fixtures that break them (so a rule that can never fail is caught too).
 */
class ArchitectureTest {

  static final String[] FRAMEWORKS = {
    "ai.djl..", "org.nd4j..", "org.deeplearning4j..", "org.tensorflow..", "org.bytedeco.."
  };
  static final String[] ADAPTERS = {
    "io.github.sgdph.reference..", "io.github.sgdph.djl..", "io.github.sgdph.dl4j..",
    "io.github.sgdph.tensorflow..", "io.github.sgdph.cli..", "io.github.sgdph.conformance.."
  };

  static final JavaClasses CORE =
      new ClassFileImporter()
          .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
          .importPackages("io.github.sgdph");

  static final JavaClasses FIXTURES =
      new ClassFileImporter()
          .importClasses(ImportsAFramework.class, PullsToHost.class, UsesA.class, UsesB.class);

  /** The core imports no framework and no adapter. */
  static final ArchRule CORE_IS_FRAMEWORK_FREE =
      noClasses()
          .that()
          .resideInAPackage("io.github.sgdph..")
          .should()
          .dependOnClassesThat()
          .resideInAnyPackage(concat(FRAMEWORKS, ADAPTERS))
          .because("sgdph-core must run with no framework on the classpath (ARCHITECTURE.md)");

  /**
   * Algorithms see only the SPI: no JSON/case code, no host copies of tensors (checkpointing of
   * optimizer state in HostBuffers/BufferSlot is the one allowed place).
   */
  static final ArchRule ALGORITHMS_STAY_ON_DEVICE =
      noClasses()
          .that()
          .resideInAnyPackage(
              "io.github.sgdph.optim..", "io.github.sgdph.linalg..", "io.github.sgdph.analysis..",
              "io.github.sgdph.archfixture..")
          .and()
          .doNotHaveSimpleName("HostBuffers")
          .and()
          .doNotHaveSimpleName("BufferSlot")
          .should()
          .callMethod(io.github.sgdph.param.ParameterVector.class, "toDoubleArray")
          .orShould()
          .callMethod(io.github.sgdph.tensor.Tensor.class, "toDoubleArray")
          .because("algorithms never copy tensors to the host in their loops (ARCHITECTURE.md)");

  static final ArchRule ALGORITHMS_DO_NOT_READ_FILES =
      noClasses()
          .that()
          .resideInAnyPackage(
              "io.github.sgdph.optim..", "io.github.sgdph.linalg..", "io.github.sgdph.analysis..",
              "io.github.sgdph.tensor..", "io.github.sgdph.param..", "io.github.sgdph.curvature..")
          .should()
          .dependOnClassesThat()
          .resideInAnyPackage("io.github.sgdph.cases..")
          .because("the JSON/case code stays out of the algorithm packages");

  /**
   * The core's only third-party dependency is SLF4J's API: no JSON library (case files are read
   * and written by the sgdph-cases module), no framework, nothing else.
   */
  static final ArchRule CORE_DEPENDS_ON_THE_JDK_AND_SLF4J_ONLY =
      classes()
          .that()
          .resideInAPackage("io.github.sgdph..")
          .should()
          .onlyDependOnClassesThat()
          .resideInAnyPackage("java..", "javax.annotation..", "org.slf4j..", "io.github.sgdph..")
          .because("sgdph-core has no third-party dependency but slf4j-api (ARCHITECTURE.md)");

  /**
   * No package of the core depends on itself through others (each package is its own slice, so
   * {@code data} and {@code model} importing each other is a cycle; it was one until
   * {@code RandomBatches}, which builds batches for a {@code ModelSpec}, moved to {@code model}).
   */
  static final ArchRule PACKAGES_ARE_FREE_OF_CYCLES =
      slices()
          .matching("io.github.sgdph.(**)")
          .should()
          .beFreeOfCycles()
          .because("the core's packages form a layered graph (ARCHITECTURE.md)");

  @Test
  void required_coreImportsNoFrameworkAndNoAdapter() {
    CORE_IS_FRAMEWORK_FREE.check(CORE);
  }

  @Test
  void required_algorithmsNeverCopyTensorsToTheHost() {
    ALGORITHMS_STAY_ON_DEVICE.check(CORE);
  }

  @Test
  void required_algorithmsDoNotDependOnCaseFiles() {
    ALGORITHMS_DO_NOT_READ_FILES.check(CORE);
  }

  @Test
  void required_coreDependsOnTheJdkAndSlf4jOnly() {
    CORE_DEPENDS_ON_THE_JDK_AND_SLF4J_ONLY.check(CORE);
  }

  @Test
  void required_corePackagesAreFreeOfCycles() {
    PACKAGES_ARE_FREE_OF_CYCLES.check(CORE);
  }

  @Test
  void required_libraryCodeDoesNotWriteToStandardStreams() {
    GeneralCodingRules.NO_CLASSES_SHOULD_ACCESS_STANDARD_STREAMS.check(CORE);
  }

  @Test
  void required_libraryCodeDoesNotUseJavaUtilLogging() {
    GeneralCodingRules.NO_CLASSES_SHOULD_USE_JAVA_UTIL_LOGGING.check(CORE);
  }

  @Test
  void rulesFailOnClassesThatBreakThem() {
    EvaluationResult framework = CORE_IS_FRAMEWORK_FREE.evaluate(FIXTURES);
    assertTrue(framework.hasViolation(), "a class importing ai.djl must violate the rule");
    assertTrue(framework.getFailureReport().toString().contains("ai.djl.ndarray.FakeNDArray"));
    assertTrue(CORE_DEPENDS_ON_THE_JDK_AND_SLF4J_ONLY.evaluate(FIXTURES).hasViolation(),
        "a class importing ai.djl must violate the JDK-and-SLF4J-only rule");

    EvaluationResult host = ALGORITHMS_STAY_ON_DEVICE.evaluate(FIXTURES);
    assertTrue(host.hasViolation(), "calling toDoubleArray in an algorithm must violate the rule");
    assertTrue(host.getFailureReport().toString().contains("PullsToHost"));

    EvaluationResult cycle = PACKAGES_ARE_FREE_OF_CYCLES.evaluate(FIXTURES);
    assertTrue(cycle.hasViolation(), "two packages importing each other must violate the rule");
    String report = cycle.getFailureReport().toString();
    assertTrue(report.contains("cyclea") && report.contains("cycleb"), report);
  }

  @Test
  void coreClassesAreImported() {
    assertFalse(CORE.isEmpty());
    assertTrue(CORE.contain(io.github.sgdph.optim.Sgd.class));
  }

  private static String[] concat(String[] a, String[] b) {
    String[] r = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, r, a.length, b.length);
    return r;
  }
}
