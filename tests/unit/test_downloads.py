"""Which files of a Hub repo the model manager fetches: one copy of the weights and what the loader reads, not
the whole repo (listings as the Hub shows them for the catalog's repos)."""
from __future__ import annotations

from pipelines.catalog import Catalog
from pipelines.downloads import files_to_download

WHISPER_SMALL = [".gitattributes", "README.md", "added_tokens.json", "config.json", "flax_model.msgpack",
                 "generation_config.json", "merges.txt", "model.safetensors", "normalizer.json",
                 "preprocessor_config.json", "pytorch_model.bin", "special_tokens_map.json", "tf_model.h5",
                 "tokenizer.json", "tokenizer_config.json", "vocab.json"]
CSM_1B = [".gitattributes", "README.md", "chat_template.jinja", "ckpt.pt", "config.json",
          "generation_config.json", "model.safetensors", "preprocessor_config.json", "prompts/conversational_a.wav",
          "special_tokens_map.json", "tokenizer.json", "tokenizer_config.json"]
MUSICGEN_SMALL = [".gitattributes", "README.md", "compression_state_dict.bin", "config.json",
                  "generation_config.json", "model.safetensors", "preprocessor_config.json", "spiece.model",
                  "special_tokens_map.json", "state_dict.bin", "tokenizer.json", "tokenizer_config.json"]
HIFIGAN = [".gitattributes", "README.md", "config.json", "pytorch_model.bin"]
SHARDED = ["config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
           "model.safetensors.index.json", "onnx/model.onnx", "onnx/config.json",
           "model.fp16-00001-of-00001.safetensors"]


def test_safetensors_only_when_the_repo_has_them():
    chosen = files_to_download(WHISPER_SMALL)
    assert "model.safetensors" in chosen
    assert not {"pytorch_model.bin", "tf_model.h5", "flax_model.msgpack"} & set(chosen)
    assert {"config.json", "tokenizer.json", "merges.txt", "vocab.json", "preprocessor_config.json",
            "generation_config.json", "normalizer.json", "added_tokens.json"} <= set(chosen)
    assert "README.md" not in chosen and ".gitattributes" not in chosen


def test_other_frameworks_checkpoints_beside_the_transformers_one_are_left():
    assert "ckpt.pt" not in files_to_download(CSM_1B)
    assert "chat_template.jinja" in files_to_download(CSM_1B)
    assert "prompts/conversational_a.wav" not in files_to_download(CSM_1B)
    musicgen = files_to_download(MUSICGEN_SMALL)
    assert "state_dict.bin" not in musicgen and "compression_state_dict.bin" not in musicgen
    assert {"model.safetensors", "spiece.model"} <= set(musicgen)


def test_bin_only_when_there_are_no_safetensors():
    assert files_to_download(HIFIGAN) == ["config.json", "pytorch_model.bin"]


def test_shards_with_their_index_and_no_other_runtime_or_half_copy():
    assert files_to_download(SHARDED) == ["config.json", "model-00001-of-00002.safetensors",
                                          "model-00002-of-00002.safetensors", "model.safetensors.index.json"]


def test_an_engines_own_patterns_win():
    assert files_to_download(CSM_1B, ("config.json", "*.pt")) == ["ckpt.pt", "config.json"]


def test_a_repo_with_no_weights_gives_only_settings():
    assert files_to_download(["README.md", "config.json"]) == ["config.json"]


def test_catalog_revisions_say_whether_they_are_pinned():
    """A branch name can move under a take; the catalog says which engines are pinned to a commit."""
    for engine in Catalog.load():
        if engine.embedded:
            assert engine.pinned  # the package version is the revision
        else:
            assert engine.pinned == all(len(r) == 40 for r in [engine.revision or ""]
                                        + [c.revision for c in engine.components])
