/**
 * Case and trajectory files (CASES.md): the project's unit of cross-framework reproducibility,
 * as records, their comparison, derived float32 tolerances and replay against any {@link
 * io.github.sgdph.model.SpecBackend}. Their JSON form is read and written by the
 * {@code sgdph-cases} module ({@code io.github.sgdph.cases.json.CaseJson}); the core has no
 * JSON code.
 */
package io.github.sgdph.cases;
