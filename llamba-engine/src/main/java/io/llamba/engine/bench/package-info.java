/**
 * Serving benchmarks that go through the architecture SPI alone, so any two architectures are
 * measured the same way ({@code head-to-head}): results as JSON, markdown tables and a PNG plot.
 */
package io.llamba.engine.bench;
