/**
 * Case and trajectory files as JSON (CASES.md, docs/CASE-FORMAT.md): {@link
 * io.github.sgdph.cases.json.CaseJson} reads and writes {@code sgdph-case/1}, {@code
 * sgdph-case/2} and {@code sgdph-trajectory/1} over Jackson, strictly, every error a {@link
 * io.github.sgdph.cases.json.CaseFormatException} naming the field's JSON path; {@link
 * io.github.sgdph.cases.json.BundledCases} loads the example cases bundled with sgdph. The
 * records themselves ({@link io.github.sgdph.cases.CaseFile}, {@link
 * io.github.sgdph.cases.Trajectory}) and replay live in the core, which has no JSON code.
 */
package io.github.sgdph.cases.json;
