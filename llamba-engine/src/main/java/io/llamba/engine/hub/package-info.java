/**
 * Models from the Hugging Face Hub, into the cache the Hub's Python clients use.
 *
 * <p>{@link io.llamba.engine.hub.ModelResolver} turns a model or tokenizer setting (a local path, or a
 * repository id such as {@code cartesia-ai/Llamba-1B@main}) into files, fetching only what the engine
 * needs as the {@link io.llamba.engine.hub.PullStrategy} allows; {@link io.llamba.engine.hub.HubClient}
 * speaks the Hub's resolve protocol for one file; {@link io.llamba.engine.hub.HubCache} is the cache
 * layout; {@link io.llamba.engine.hub.HubOptions} reads {@code HF_*} variables. See
 * docs/model-management.md.
 */
package io.llamba.engine.hub;
