package io.github.sgdph.spark;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.library.GeneralCodingRules;
import org.junit.jupiter.api.Test;

/**
 * ARCHITECTURE.md: Spark sees the core through an ordinary objective; the module imports the
 * core, Spark (and Scala's tuples), SLF4J and the JDK — never an adapter (backends are found by
 * name through {@link io.github.sgdph.model.SpecBackend}).
 */
class SparkArchitectureTest {
  static final JavaClasses MAIN =
      new ClassFileImporter()
          .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
          .importPackages("io.github.sgdph.spark");

  @Test
  void required_theSparkModuleDependsOnTheCoreSparkAndSlf4jOnly() {
    classes().that().resideInAPackage("io.github.sgdph.spark..")
        .should().onlyDependOnClassesThat()
        .resideInAnyPackage("java..", "io.github.sgdph..", "org.apache.spark..", "scala..",
            "org.slf4j..")
        .check(MAIN);
    noClasses().that().resideInAPackage("io.github.sgdph.spark..")
        .should().dependOnClassesThat()
        .resideInAnyPackage("io.github.sgdph.reference..", "io.github.sgdph.djl..",
            "io.github.sgdph.dl4j..", "io.github.sgdph.tensorflow..")
        .check(MAIN);
  }

  @Test
  void required_libraryCodeDoesNotWriteToStandardStreams() {
    // SparkTrain is an entry point (a command-line program) and prints its results
    noClasses().that().resideInAPackage("io.github.sgdph.spark..")
        .and().doNotHaveSimpleName("SparkTrain")
        .should(GeneralCodingRules.ACCESS_STANDARD_STREAMS)
        .check(MAIN);
  }
}
