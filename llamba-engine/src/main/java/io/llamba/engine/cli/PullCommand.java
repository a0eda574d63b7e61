package io.llamba.engine.cli;

import io.llamba.engine.hub.HubOptions;
import io.llamba.engine.hub.ModelResolver;
import io.llamba.engine.hub.ProgressListener;
import io.llamba.engine.hub.PullStrategy;
import io.llamba.engine.hub.RepoRef;
import io.llamba.engine.hub.RepoSnapshot;
import io.llamba.engine.hub.ResolvedModel;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.util.List;

/** {@code pull REPO}: downloads a model (and the tokenizer it uses) into the Hugging Face cache, prints the snapshot directory. */
final class PullCommand implements Command {
    @Override
    public String name() {
        return "pull";
    }

    @Override
    public String summary() {
        return "download a model from the Hugging Face Hub into the cache; prints its directory";
    }

    @Override
    public String help() {
        return """
                Usage: pull REPO [--revision R] [--files model|tokenizer] [--tokenizer REPO|none]

                Downloads the files the engine needs from a Hugging Face repository into the Hugging Face
                cache and prints the snapshot directory on stdout (--model accepts it, or the repository
                id itself). Asks the Hub for the revision's current commit; files already in the cache,
                whether this program or a Python client put them there, are not downloaded again.
                Interrupted downloads resume where they stopped.

                  REPO               organisation/name, optionally @revision (e.g. cartesia-ai/Llamba-1B)
                  --revision R       branch, tag or commit (default main; the same as REPO@R)
                  --files F          model (default): config.json and the safetensors weights (one file,
                                     or the index and its shards); tokenizer: tokenizer.json and
                                     tokenizer_config.json
                  --tokenizer T      with --files model, also fetch this tokenizer repository; default: the
                                     teacher of cartesia-ai/Llamba-{1B,3B,8B} (meta-llama/Llama-3.x-...-Instruct,
                                     gated: accept its license on the Hub and set HF_TOKEN), or the model
                                     repository's own tokenizer.json; none: fetch no tokenizer

                Environment: HF_HUB_CACHE or HF_HOME (cache location, default ~/.cache/huggingface/hub),
                HF_TOKEN (or the token file of `hf auth login`), HF_ENDPOINT (a mirror),
                HF_HUB_OFFLINE=1 (only check that the files are cached).""";
    }

    @Override
    public int run(Options o, PrintStream out, PrintStream err) throws Exception {
        List<String> args = o.positional();
        if (args.size() != 1) {
            throw new UsageException(args.isEmpty() ? "missing the repository id (e.g. cartesia-ai/Llamba-1B)"
                    : "expected one repository id, got " + args.size() + ": " + String.join(" ", args));
        }
        String revision = o.string("revision", null);
        String files = o.string("files", "model");
        String tokenizer = o.string("tokenizer", null);
        o.checkAllUsed();
        RepoRef ref;
        try {
            ref = RepoRef.parse(args.getFirst());
            if (revision != null) {
                if (args.getFirst().contains("@")) {
                    throw new UsageException("give the revision either as REPO@R or with --revision, not both");
                }
                ref = ref.withRevision(revision);
            }
        } catch (UsageException e) {
            throw e;
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        if (!files.equals("model") && !files.equals("tokenizer")) {
            throw new UsageException("--files: expected model or tokenizer, got '" + files + "'");
        }
        if (files.equals("tokenizer") && tokenizer != null) {
            throw new UsageException("--tokenizer goes with --files model");
        }
        HubOptions hub = CliSupport.hubOptions(o, err, PullStrategy.ALWAYS);
        try (ModelResolver resolver = new ModelResolver(hub)) {
            if (files.equals("tokenizer")) {
                RepoSnapshot s = resolver.pullTokenizer(ref);
                report(s, err);
                out.println(s.directory());
                return 0;
            }
            RepoSnapshot model = resolver.pullModel(ref);
            report(model, err);
            pullTokenizer(resolver, model, tokenizer, err);
            out.println(model.directory());
        }
        return 0;
    }

    /** The tokenizer generate would use for this model, so that it also runs offline later. */
    private static void pullTokenizer(ModelResolver resolver, RepoSnapshot model, String spec, PrintStream err) throws IOException {
        if ("none".equals(spec)) {
            return;
        }
        if (spec != null) {
            RepoRef t;
            try {
                t = RepoRef.parse(spec);
            } catch (IllegalArgumentException e) {
                throw new UsageException("--tokenizer: " + e.getMessage());
            }
            report(resolver.pullTokenizer(t), err);
            return;
        }
        ResolvedModel r = resolver.withDefaultTokenizer(model);
        err.println("tokenizer: " + (r.tokenizerPath() == null ? "the bundled Llama 3 tokenizer" : r.tokenizerOrigin() + " (" + r.tokenizerPath() + ")"));
    }

    private static void report(RepoSnapshot s, PrintStream err) throws IOException {
        long bytes = 0;
        for (String f : s.files()) {
            bytes += Files.size(s.directory().resolve(f));
        }
        err.printf("%s: commit %s, %d files (%s): %s%n", s.ref(), s.commit(), s.files().size(), ProgressListener.formatBytes(bytes),
                String.join(", ", s.files()));
    }
}
