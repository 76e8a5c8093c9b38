#!/usr/bin/python3
"""Reads a `isoflop data export --format megatron` prefix with Megatron-Core's own IndexedDataset.

Usage: megatron_indexed_dataset_check.py MEGATRON_LM_CHECKOUT PREFIX
Needs numpy and torch (Debian: python3-numpy, python3-torch). Loads
megatron/core/datasets/indexed_dataset.py on its own, with stand-ins for the object-storage helpers it
imports (unused for local files), and prints what IndexedDataset sees. Not run by ctest (no
Megatron-LM checkout in the repository); docs/data.md records a run.
"""
import importlib.util
import sys
import types

checkout, prefix = sys.argv[1], sys.argv[2]
for name in ["megatron", "megatron.core", "megatron.core.datasets"]:
    sys.modules[name] = types.ModuleType(name)
storage = types.ModuleType("megatron.core.datasets.object_storage_utils")
for f in ["ObjectStorageConfig", "S3Config", "cache_index_file", "dataset_exists", "get_index_cache_path",
          "get_object_storage_access", "parse_s3_path"]:
    setattr(storage, f, object)
storage.is_object_storage_path = lambda *a, **k: False
sys.modules[storage.__name__] = storage
msc = types.ModuleType("megatron.core.msc_utils")


class _Off:
    @staticmethod
    def is_enabled():
        return False


msc.MultiStorageClientFeature = _Off
sys.modules[msc.__name__] = msc
utils = types.ModuleType("megatron.core.utils")
utils.log_single_rank = lambda *a, **k: None
sys.modules[utils.__name__] = utils
spec = importlib.util.spec_from_file_location("megatron.core.datasets.indexed_dataset",
                                              checkout + "/megatron/core/datasets/indexed_dataset.py")
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
ds = module.IndexedDataset(prefix)  # asserts sequence_lengths == document_indices[-1] == sequence_count
print("sequences", len(ds), "documents", len(ds.document_indices) - 1, "dtype", ds.index.dtype.__name__)
print("tokens", sum(len(ds[i]) for i in range(len(ds))),
      "last ids", sorted(set(int(ds[i][-1]) for i in range(len(ds)))))
