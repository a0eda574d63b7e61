/**
 * The Llama-3.x Transformer as an architecture plugin ({@code model_type} "llama"): Hugging Face
 * {@code LlamaForCausalLM} checkpoints with grouped-query attention, RoPE (with the llama3 frequency
 * scaling) and a tied or untied head, served by the same engine as Llamba. On the CPU the KV cache is
 * float32 and paged: blocks of 64 positions per layer, taken from the state pool as a sequence grows.
 * On a GPU the model is {@link io.llamba.engine.cuda.LlamaCudaModel}, its cache in device slots.
 * Correctness is held against transformers itself (llamba-engine/tools/llama-reference).
 */
package io.llamba.engine.llama;
