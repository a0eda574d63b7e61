package io.llamba.service.api.models;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.llamba.service.api.ServedModel;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RestController;

import java.util.List;

/** {@code GET /v1/models} and {@code GET /v1/models/{id}}: the one model served. */
@RestController
public class ModelsController {
    private final ServedModel served;

    public ModelsController(ServedModel served) {
        this.served = served;
    }

    record Model(String id, String object, long created, @JsonProperty("owned_by") String ownedBy) {
    }

    record ModelList(String object, List<Model> data) {
    }

    @GetMapping("/v1/models")
    public ModelList list() {
        return new ModelList("list", List.of(model()));
    }

    /** Model names may hold a '/' (a Hugging Face repository id), so the rest of the path is the id. */
    @GetMapping("/v1/models/{*id}")
    public Model get(@PathVariable String id) {
        id = id.startsWith("/") ? id.substring(1) : id;
        if (!id.equals(served.name())) {
            throw served.notFound(id);
        }
        return model();
    }

    private Model model() {
        return new Model(served.name(), "model", served.created(), "llamba");
    }
}
