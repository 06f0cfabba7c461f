"""Loading libaisle.so.1 and declaring the C prototypes (ctypes).

The library is looked for, in order: the file named by the environment
variable AISLE_LIBRARY, a libaisle.so.1 next to this package, then the
system loader (ctypes.util.find_library("aisle"), then "libaisle.so.1").

Only functions declared in include/aisle.h are listed here.  A function that
the loaded library does not export (an older libaisle) is replaced by a placeholder
that raises aisle.Unsupported when called, so importing never fails because
of it.
"""
import ctypes
import ctypes.util
import os

c_void_p = ctypes.c_void_p
c_char_p = ctypes.c_char_p
c_int = ctypes.c_int
c_int64 = ctypes.c_int64
c_size_t = ctypes.c_size_t
c_double = ctypes.c_double
c_float = ctypes.c_float
c_uint32 = ctypes.c_uint32
P = ctypes.POINTER

# int (*aisle_progress_fn)(void *user, int step, int steps, double loss,
#                          double metric, double elapsed_seconds)
PROGRESS_FN = ctypes.CFUNCTYPE(c_int, c_void_p, c_int, c_int, c_double, c_double, c_double)
# int (*aisle_item_filter_fn)(void *user, const char *item_key, size_t item_index)
FILTER_FN = ctypes.CFUNCTYPE(c_int, c_void_p, c_char_p, c_size_t)


def _candidates():
    env = os.environ.get("AISLE_LIBRARY")
    if env:
        # An explicit choice is final: a wrong path must not silently fall
        # back to some other installed copy.
        return [env], True
    here = os.path.dirname(os.path.abspath(__file__))
    names = []
    local = os.path.join(here, "libaisle.so.1")
    if os.path.exists(local):
        names.append(local)
    found = ctypes.util.find_library("aisle")
    if found:
        names.append(found)
    names.append("libaisle.so.1")
    return names, False


def _load():
    names, explicit = _candidates()
    errors = []
    for name in names:
        try:
            return ctypes.CDLL(name), name
        except OSError as exc:
            errors.append("%s: %s" % (name, exc))
    how = ("AISLE_LIBRARY=%s" % names[0]) if explicit else "tried " + ", ".join(names)
    raise ImportError("aisle: cannot load the C library libaisle.so.1 (%s). Build it with `make` "
                      "and set AISLE_LIBRARY to lib/libaisle.so.1, or install it. Details: %s"
                      % (how, "; ".join(errors)))


lib, path = _load()

# name: (restype, [argtypes])
_PROTOTYPES = {
    # version, errors, memory
    "aisle_version": (c_char_p, []),
    "aisle_version_number": (c_int, []),
    "aisle_strerror": (c_char_p, [c_int]),
    "aisle_last_error": (c_char_p, []),
    "aisle_clear_error": (None, []),
    "aisle_free": (None, [c_void_p]),
    # configuration
    "aisle_config_new": (c_int, [P(c_void_p)]),
    "aisle_config_copy": (c_int, [c_void_p, P(c_void_p)]),
    "aisle_config_free": (None, [c_void_p]),
    "aisle_config_set_int": (c_int, [c_void_p, c_char_p, c_int64]),
    "aisle_config_set_float": (c_int, [c_void_p, c_char_p, c_double]),
    "aisle_config_set_string": (c_int, [c_void_p, c_char_p, c_char_p]),
    "aisle_config_set": (c_int, [c_void_p, c_char_p, c_char_p]),
    "aisle_config_parse": (c_int, [c_void_p, c_char_p]),
    "aisle_config_unset": (c_int, [c_void_p, c_char_p]),
    "aisle_config_get_int": (c_int, [c_void_p, c_char_p, P(c_int64)]),
    "aisle_config_get_float": (c_int, [c_void_p, c_char_p, P(c_double)]),
    "aisle_config_get_string": (c_int, [c_void_p, c_char_p, c_char_p, c_size_t]),
    "aisle_config_is_set": (c_int, [c_void_p, c_char_p, P(c_int)]),
    "aisle_config_to_string": (c_int, [c_void_p, c_char_p, c_size_t, P(c_size_t)]),
    "aisle_config_set_progress": (c_int, [c_void_p, PROGRESS_FN, c_void_p]),
    "aisle_option_count": (c_int, []),
    "aisle_option_info": (c_int, [c_int, P(c_char_p), P(c_int), P(c_char_p), P(c_char_p),
                                  P(c_char_p), P(c_char_p)]),
    # dataset
    "aisle_dataset_new": (c_int, [P(c_void_p)]),
    "aisle_dataset_free": (None, [c_void_p]),
    "aisle_dataset_add_event": (c_int, [c_void_p, c_char_p, c_char_p, c_char_p, c_double, c_int64]),
    "aisle_dataset_set_event_weight": (c_int, [c_void_p, c_char_p, c_double]),
    "aisle_dataset_user_count": (c_int, [c_void_p, P(c_size_t)]),
    "aisle_dataset_item_count": (c_int, [c_void_p, P(c_size_t)]),
    "aisle_dataset_event_count": (c_int, [c_void_p, P(c_size_t)]),
    "aisle_dataset_user_index": (c_int, [c_void_p, c_char_p, P(c_size_t)]),
    "aisle_dataset_item_index": (c_int, [c_void_p, c_char_p, P(c_size_t)]),
    "aisle_dataset_user_key": (c_int, [c_void_p, c_size_t, P(c_char_p)]),
    "aisle_dataset_item_key": (c_int, [c_void_p, c_size_t, P(c_char_p)]),
    "aisle_dataset_split": (c_int, [c_void_p, c_void_p, P(c_void_p), P(c_void_p)]),
    "aisle_dataset_split_spec": (c_int, [c_void_p, c_char_p, ctypes.c_uint64, P(c_void_p), P(c_void_p)]),
    "aisle_dataset_load": (c_int, [c_void_p, c_char_p, c_void_p]),
    "aisle_dataset_load_buffer": (c_int, [c_void_p, c_char_p, c_size_t, c_char_p, c_void_p]),
    "aisle_dataset_load_report": (c_int, [c_void_p, P(c_size_t), P(c_size_t), P(c_size_t), P(c_size_t)]),
    "aisle_dataset_load_message": (c_int, [c_void_p, c_size_t, P(c_char_p)]),
    # search
    "aisle_search_index_new": (c_int, [P(c_void_p)]),
    "aisle_search_index_free": (None, [c_void_p]),
    "aisle_search_index_build": (c_int, [c_void_p, c_void_p, c_void_p]),
    "aisle_search_index_add": (c_int, [c_void_p, c_void_p, c_char_p]),
    "aisle_search_index_remove": (c_int, [c_void_p, c_char_p]),
    "aisle_search_index_count": (c_int, [c_void_p, P(c_size_t)]),
    "aisle_search_index_set_popularity": (c_int, [c_void_p, c_void_p]),
    "aisle_search_index_set_encoder": (c_int, [c_void_p, c_void_p, c_void_p, c_void_p]),
    "aisle_search_index_set_text_model": (c_int, [c_void_p, c_void_p, c_void_p, c_void_p]),
    "aisle_search_index_encoder_info": (c_int, [c_void_p, P(c_size_t), P(c_int), P(ctypes.c_uint64)]),
    "aisle_search_index_save": (c_int, [c_void_p, c_char_p, c_void_p]),
    "aisle_search_log_load": (c_int, [P(c_void_p), c_char_p, c_void_p]),
    "aisle_search_log_load_buffer": (c_int, [P(c_void_p), c_char_p, c_size_t, c_char_p, c_void_p]),
    "aisle_search_log_free": (None, [c_void_p]),
    "aisle_search_index_learn": (c_int, [c_void_p, c_void_p, c_void_p, c_void_p, P(c_size_t)]),
    "aisle_search_index_ranker": (c_int, [c_void_p, c_size_t, P(c_char_p), P(ctypes.c_double)]),
    "aisle_search_index_load": (c_int, [P(c_void_p), c_char_p, c_void_p]),
    "aisle_search_index_load_buffer": (c_int, [P(c_void_p), c_void_p, c_size_t, c_void_p]),
    "aisle_search": (c_int, [c_void_p, c_char_p, c_size_t, c_size_t, P(c_char_p), c_size_t, c_void_p, c_char_p,
                             P(c_char_p), c_size_t, c_void_p, P(c_void_p)]),
    "aisle_suggest": (c_int, [c_void_p, c_char_p, c_size_t, c_size_t, c_void_p, P(c_void_p)]),
    "aisle_search_results_count": (c_int, [c_void_p, P(c_size_t)]),
    "aisle_search_results_total": (c_int, [c_void_p, P(c_size_t)]),
    "aisle_search_results_hit": (c_int, [c_void_p, c_size_t, P(c_char_p), P(c_double)]),
    "aisle_search_results_matched": (c_int, [c_void_p, c_size_t, P(c_char_p)]),
    "aisle_search_results_explain": (c_int, [c_void_p, c_size_t, P(c_char_p)]),
    "aisle_search_results_facet_count": (c_int, [c_void_p, P(c_size_t)]),
    "aisle_search_results_facet": (c_int, [c_void_p, c_size_t, P(c_char_p), P(c_size_t)]),
    "aisle_search_results_facet_value": (c_int, [c_void_p, c_size_t, c_size_t, P(c_char_p), P(c_size_t)]),
    "aisle_search_results_free": (None, [c_void_p]),
    # catalog
    "aisle_catalog_new": (c_int, [P(c_void_p)]),
    "aisle_catalog_free": (None, [c_void_p]),
    "aisle_catalog_add_item": (c_int, [c_void_p, c_char_p, c_char_p, c_char_p, c_char_p, c_char_p, c_double]),
    "aisle_catalog_set_attribute": (c_int, [c_void_p, c_char_p, c_char_p, c_char_p]),
    "aisle_catalog_count": (c_int, [c_void_p, P(c_size_t)]),
    "aisle_catalog_index": (c_int, [c_void_p, c_char_p, P(c_size_t)]),
    "aisle_catalog_key": (c_int, [c_void_p, c_size_t, P(c_char_p)]),
    "aisle_catalog_item_text": (c_int, [c_void_p, c_char_p, c_char_p, P(c_char_p)]),
    "aisle_catalog_item_price": (c_int, [c_void_p, c_char_p, P(c_double)]),
    "aisle_catalog_item_attribute_count": (c_int, [c_void_p, c_char_p, P(c_size_t)]),
    "aisle_catalog_item_attribute": (c_int, [c_void_p, c_char_p, c_size_t, P(c_char_p), P(c_char_p)]),
    "aisle_catalog_load": (c_int, [c_void_p, c_char_p, c_void_p]),
    "aisle_catalog_load_buffer": (c_int, [c_void_p, c_char_p, c_size_t, c_char_p, c_void_p]),
    "aisle_catalog_load_report": (c_int, [c_void_p, P(c_size_t), P(c_size_t), P(c_size_t)]),
    "aisle_catalog_load_message": (c_int, [c_void_p, c_size_t, P(c_char_p)]),
    # features
    "aisle_hash32": (c_int, [c_char_p, c_size_t, c_uint32, P(c_uint32)]),
    "aisle_tokenizer_new": (c_int, [P(c_void_p), c_void_p]),
    "aisle_tokenizer_free": (None, [c_void_p]),
    "aisle_tokenizer_add_stop_words": (c_int, [c_void_p, P(c_char_p), c_size_t]),
    "aisle_tokenizer_tokenize": (c_int, [c_void_p, c_char_p, c_size_t, P(c_void_p)]),
    "aisle_tokens_free": (None, [c_void_p]),
    "aisle_tokens_count": (c_int, [c_void_p, P(c_size_t)]),
    "aisle_tokens_get": (c_int, [c_void_p, c_size_t, P(c_char_p), P(c_size_t)]),
    "aisle_tokens_kind": (c_int, [c_void_p, c_size_t, P(c_int)]),
    "aisle_sparse_free": (None, [c_void_p]),
    "aisle_sparse_data": (c_int, [c_void_p, P(P(c_uint32)), P(P(c_float)), P(c_size_t)]),
    "aisle_sparse_dim": (c_int, [c_void_p, P(c_uint32)]),
    "aisle_hasher_new": (c_int, [P(c_void_p), c_void_p]),
    "aisle_hasher_free": (None, [c_void_p]),
    "aisle_hasher_transform": (c_int, [c_void_p, c_char_p, c_size_t, P(c_void_p)]),
    "aisle_hasher_features": (c_int, [c_void_p, c_char_p, c_size_t, P(c_void_p)]),
    "aisle_hasher_feature_index": (c_int, [c_void_p, c_char_p, c_size_t, c_int, P(c_uint32), P(c_float)]),
    "aisle_tfidf_new": (c_int, [P(c_void_p), c_void_p]),
    "aisle_tfidf_free": (None, [c_void_p]),
    "aisle_tfidf_fit": (c_int, [c_void_p, P(c_char_p), c_size_t]),
    "aisle_tfidf_transform": (c_int, [c_void_p, c_char_p, c_size_t, P(c_void_p)]),
    "aisle_tfidf_vocab_size": (c_int, [c_void_p, P(c_size_t)]),
    "aisle_tfidf_term": (c_int, [c_void_p, c_size_t, P(c_char_p), P(c_double)]),
    "aisle_tfidf_lookup": (c_int, [c_void_p, c_char_p, P(c_size_t)]),
    "aisle_category_encoder_new": (c_int, [P(c_void_p), c_void_p]),
    "aisle_category_encoder_free": (None, [c_void_p]),
    "aisle_category_encoder_fit": (c_int, [c_void_p, P(c_char_p), c_size_t]),
    "aisle_category_encoder_transform": (c_int, [c_void_p, c_char_p, P(c_size_t)]),
    "aisle_category_encoder_size": (c_int, [c_void_p, P(c_size_t)]),
    "aisle_category_encoder_value": (c_int, [c_void_p, c_size_t, P(c_char_p)]),
    "aisle_numeric_encoder_new": (c_int, [P(c_void_p), c_void_p]),
    "aisle_numeric_encoder_free": (None, [c_void_p]),
    "aisle_numeric_encoder_fit": (c_int, [c_void_p, P(c_double), c_size_t]),
    "aisle_numeric_encoder_transform": (c_int, [c_void_p, c_double, P(c_double)]),
    "aisle_numeric_encoder_bin": (c_int, [c_void_p, c_double, P(c_size_t)]),
    "aisle_numeric_encoder_edges": (c_int, [c_void_p, P(P(c_double)), P(c_size_t)]),
    # model
    "aisle_model_kind_count": (c_int, []),
    "aisle_model_kind_info": (c_int, [c_int, P(c_char_p), P(c_char_p)]),
    "aisle_model_train": (c_int, [c_void_p, c_void_p, P(c_void_p)]),
    "aisle_model_train_with_catalog": (c_int, [c_void_p, c_void_p, c_void_p, P(c_void_p)]),
    "aisle_model_train_with_features": (c_int, [c_void_p, c_void_p, c_void_p, c_void_p, P(c_void_p)]),
    "aisle_rerank": (c_int, [c_void_p, c_char_p, P(c_char_p), c_size_t, P(c_float), P(c_size_t)]),
    "aisle_pair_explain": (c_int, [c_void_p, c_char_p, c_char_p, P(c_void_p)]),
    "aisle_model_free": (None, [c_void_p]),
    "aisle_model_kind": (c_int, [c_void_p, P(c_char_p)]),
    "aisle_model_describe": (c_int, [c_void_p, c_char_p, c_size_t, P(c_size_t)]),
    "aisle_model_user_count": (c_int, [c_void_p, P(c_size_t)]),
    "aisle_model_item_count": (c_int, [c_void_p, P(c_size_t)]),
    "aisle_model_user_key": (c_int, [c_void_p, c_size_t, P(c_char_p)]),
    "aisle_model_item_key": (c_int, [c_void_p, c_size_t, P(c_char_p)]),
    "aisle_model_user_index": (c_int, [c_void_p, c_char_p, P(c_size_t)]),
    "aisle_model_item_index": (c_int, [c_void_p, c_char_p, P(c_size_t)]),
    "aisle_model_set_metric": (c_int, [c_void_p, c_char_p, c_double]),
    "aisle_model_get_metric": (c_int, [c_void_p, c_char_p, P(c_double)]),
    "aisle_model_save": (c_int, [c_void_p, c_char_p, c_void_p]),
    "aisle_model_save_buffer": (c_int, [c_void_p, c_void_p, P(c_void_p), P(c_size_t)]),
    "aisle_model_load": (c_int, [P(c_void_p), c_char_p, c_void_p]),
    "aisle_model_load_buffer": (c_int, [P(c_void_p), c_char_p, c_size_t, c_void_p]),
    # evaluation
    "aisle_evaluate": (c_int, [c_void_p, c_void_p, c_void_p, P(c_void_p)]),
    "aisle_eval_result_free": (None, [c_void_p]),
    "aisle_eval_result_get": (c_int, [c_void_p, c_char_p, P(c_double)]),
    "aisle_eval_result_count": (c_int, [c_void_p, P(c_size_t)]),
    "aisle_eval_result_at": (c_int, [c_void_p, c_size_t, P(c_char_p), P(c_double), P(c_int)]),
    "aisle_eval_result_to_json": (c_int, [c_void_p, c_char_p, c_size_t, P(c_size_t)]),
    # demo store
    "aisle_demo_generate": (c_int, [c_void_p, P(c_void_p)]),
    "aisle_demo_write": (c_int, [c_void_p, c_char_p]),
    "aisle_demo_catalog": (c_int, [c_void_p, P(c_void_p)]),
    # serving
    "aisle_rec_options_new": (c_int, [P(c_void_p)]),
    "aisle_rec_options_free": (None, [c_void_p]),
    "aisle_rec_options_set": (c_int, [c_void_p, c_char_p, c_char_p]),
    "aisle_rec_options_allow": (c_int, [c_void_p, P(c_char_p), c_size_t]),
    "aisle_rec_options_deny": (c_int, [c_void_p, P(c_char_p), c_size_t]),
    "aisle_rec_options_set_filter": (c_int, [c_void_p, FILTER_FN, c_void_p]),
    "aisle_recommend": (c_int, [c_void_p, c_char_p, c_size_t, c_void_p, P(c_char_p), P(c_float), P(c_size_t)]),
    "aisle_recommend_for_items": (c_int, [c_void_p, P(c_char_p), P(c_float), c_size_t, c_size_t, c_void_p,
                                          P(c_char_p), P(c_float), P(c_size_t)]),
    "aisle_update_user": (c_int, [c_void_p, c_char_p, P(c_char_p), P(c_float), c_size_t]),
    "aisle_model_add_items": (c_int, [c_void_p, c_void_p, P(c_size_t)]),
    "aisle_model_add_users": (c_int, [c_void_p, c_void_p, P(c_size_t)]),
    "aisle_similar_items": (c_int, [c_void_p, c_char_p, c_size_t, c_void_p, P(c_char_p), P(c_float),
                                    P(c_size_t)]),
    "aisle_score": (c_int, [c_void_p, c_char_p, c_char_p, P(c_float)]),
    "aisle_explain": (c_int, [c_void_p, c_char_p, c_char_p, c_size_t, P(c_char_p), P(c_float), P(c_size_t)]),
    "aisle_explain_features": (c_int, [c_void_p, c_char_p, c_char_p, c_size_t, P(c_char_p), P(c_float),
                                       P(c_size_t)]),
    "aisle_model_user_history": (c_int, [c_void_p, c_char_p, c_size_t, P(c_char_p), P(c_float), P(c_size_t)]),
    "aisle_recommend_batch": (c_int, [c_void_p, P(c_char_p), c_size_t, c_size_t, c_void_p, P(c_char_p),
                                      P(c_float), P(c_size_t)]),
    # bert: pretrained checkpoints
    "aisle_bert_import": (c_int, [P(c_void_p), c_char_p, c_void_p]),
    "aisle_bert_save": (c_int, [c_void_p, c_char_p, c_void_p]),
    "aisle_bert_load": (c_int, [P(c_void_p), c_char_p, c_void_p]),
    "aisle_bert_free": (None, [c_void_p]),
    "aisle_bert_info": (c_int, [c_void_p, P(c_size_t), P(c_size_t), P(c_int), P(c_size_t)]),
    "aisle_bert_memory": (c_int, [c_void_p, P(c_size_t)]),
    "aisle_bert_tokenize": (c_int, [c_void_p, c_char_p, c_char_p, c_void_p, P(c_uint32), P(c_uint32), c_size_t,
                                    P(c_size_t)]),
    "aisle_bert_embed": (c_int, [c_void_p, P(c_char_p), c_size_t, c_int, c_void_p, P(c_float)]),
    "aisle_bert_classify": (c_int, [c_void_p, P(c_char_p), P(c_char_p), c_size_t, c_void_p, P(c_float)]),
    "aisle_bert_hidden": (c_int, [c_void_p, c_char_p, c_char_p, c_void_p, P(c_float), c_size_t, P(c_size_t)]),
    "aisle_bert_finetune_head": (c_int, [c_void_p, P(c_char_p), P(c_char_p), P(c_float), c_size_t, c_size_t,
                                         c_void_p, P(c_double)]),
    "aisle_bert_set_labels": (c_int, [c_void_p, P(c_char_p), c_size_t]),
    # forecasting
    "aisle_forecast_train": (c_int, [c_void_p, c_void_p, c_void_p, P(c_void_p)]),
    "aisle_forecast_free": (None, [c_void_p]),
    "aisle_forecast_item": (c_int, [c_void_p, c_char_p, c_size_t, P(c_int64), P(c_double), P(c_double),
                                    P(c_double)]),
    "aisle_forecast_category": (c_int, [c_void_p, c_char_p, c_size_t, P(c_int64), P(c_double), P(c_double),
                                        P(c_double)]),
    "aisle_forecast_mean": (c_int, [c_void_p, c_char_p, c_size_t, P(c_double)]),
    "aisle_forecast_item_count": (c_int, [c_void_p, P(c_size_t)]),
    "aisle_forecast_item_key": (c_int, [c_void_p, c_size_t, P(c_char_p)]),
    "aisle_forecast_category_count": (c_int, [c_void_p, P(c_size_t)]),
    "aisle_forecast_category_key": (c_int, [c_void_p, c_size_t, P(c_char_p)]),
    "aisle_forecast_method": (c_int, [c_void_p, c_char_p, P(c_char_p)]),
    "aisle_forecast_history": (c_int, [c_void_p, c_char_p, P(c_double), c_size_t, P(c_size_t), P(c_int64)]),
    "aisle_forecast_reorder": (c_int, [c_void_p, c_char_p, c_double, c_double, c_double, c_double, P(c_double),
                                       P(c_double)]),
    "aisle_forecast_explain": (c_int, [c_void_p, c_char_p, c_size_t, P(c_char_p), P(c_double), c_size_t,
                                       P(c_size_t)]),
    "aisle_forecast_describe": (c_int, [c_void_p, c_char_p, c_size_t, P(c_size_t)]),
    "aisle_forecast_save": (c_int, [c_void_p, c_char_p, c_void_p]),
    "aisle_forecast_save_buffer": (c_int, [c_void_p, c_void_p, P(c_void_p), P(c_size_t)]),
    "aisle_forecast_load": (c_int, [P(c_void_p), c_char_p, c_void_p]),
    "aisle_forecast_load_buffer": (c_int, [P(c_void_p), c_char_p, c_size_t, c_void_p]),
    "aisle_forecast_backtest": (c_int, [c_void_p, c_void_p, c_void_p, c_size_t, P(c_void_p)]),
    "aisle_forecast_report_free": (None, [c_void_p]),
    "aisle_forecast_report_get": (c_int, [c_void_p, c_char_p, P(c_double)]),
    "aisle_forecast_report_count": (c_int, [c_void_p, P(c_size_t)]),
    "aisle_forecast_report_at": (c_int, [c_void_p, c_size_t, P(c_char_p), P(c_double)]),
    # first-hour additions (0.2.0): index arrays, factor matrices, fallback flag
    "aisle_dataset_add_indexed": (c_int, [c_void_p, c_size_t, c_size_t, c_void_p, c_void_p, c_void_p, c_void_p,
                                          c_size_t, c_char_p]),
    "aisle_model_factors": (c_int, [c_void_p, c_int, P(c_void_p), P(c_size_t), P(c_size_t)]),
    "aisle_score_indexed": (c_int, [c_void_p, c_void_p, c_void_p, c_size_t, c_void_p]),
    "aisle_recommend_indexed": (c_int, [c_void_p, c_void_p, c_size_t, c_size_t, c_void_p, c_void_p, c_void_p,
                                        c_void_p]),
    "aisle_recommend_v2": (c_int, [c_void_p, c_char_p, c_size_t, c_void_p, P(c_char_p), P(c_float), P(c_size_t),
                                   P(c_int)]),
    "aisle_recommend_batch_v2": (c_int, [c_void_p, P(c_char_p), c_size_t, c_size_t, c_void_p, P(c_char_p),
                                         P(c_float), P(c_size_t), P(c_int)]),
    # serving (0.2.0): int8 scan index, scan statistics
    "aisle_model_prepare": (c_int, [c_void_p]),
    "aisle_recommend_scan_stats": (c_int, [P(c_size_t), P(c_size_t), P(c_int)]),
    "aisle_server_new": (c_int, [P(c_void_p), c_void_p]),
    "aisle_server_free": (None, [c_void_p]),
    "aisle_server_acquire": (c_int, [c_void_p, P(c_void_p)]),
    "aisle_server_release": (c_int, [c_void_p, c_void_p]),
    "aisle_server_update_user": (c_int, [c_void_p, c_char_p, P(c_char_p), P(c_float), c_size_t]),
    "aisle_server_swap": (c_int, [c_void_p, c_void_p, c_int64, P(c_size_t)]),
    "aisle_server_add_user": (c_int, [c_void_p, c_char_p, P(c_char_p), P(c_float), c_size_t]),
    "aisle_server_add_item": (c_int, [c_void_p, c_char_p, P(c_float), c_size_t]),
    "aisle_server_add_items": (c_int, [c_void_p, c_void_p, P(c_size_t)]),
    "aisle_server_add_users": (c_int, [c_void_p, c_void_p, P(c_size_t)]),
    # mmap (0.2.0): memory-mapped models (load option mmap)
    "aisle_model_mapped_bytes": (c_int, [c_void_p, P(c_size_t)]),
}


class _Missing:
    """Stands in for a function the loaded library does not export."""

    def __init__(self, name):
        self.name = name

    def __call__(self, *args):
        from .errors import Unsupported, AISLE_EUNSUPPORTED
        raise Unsupported(AISLE_EUNSUPPORTED, "%s is not exported by %s (an older libaisle?)"
                          % (self.name, path))

    def __bool__(self):
        return False


class _Functions:
    pass


def _int_range(ctype):
    """(low, high) of an integer ctypes type, or None for other types."""
    if not (isinstance(ctype, type) and issubclass(ctype, ctypes._SimpleCData)) or ctype._type_ not in "bBhHiIlLqQnN":
        return None
    bits = 8 * ctypes.sizeof(ctype)
    signed = ctype(-1).value < 0
    return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)


def _range_checked(name, f, checks):
    """f with its integer arguments checked: ctypes silently wraps values
    that do not fit (2**64 became 0, -1 became SIZE_MAX), Python's own C
    conversions raise OverflowError."""
    def call(*args):
        for i, lo, hi in checks:
            v = args[i]
            if not isinstance(v, int):
                index = getattr(v, "__index__", None)
                if index is None:
                    continue
                v = index()
            if not lo <= v <= hi:
                raise OverflowError("aisle: argument %d of %s is %d, outside the C type's range [%d, %d]"
                                    % (i + 1, name, v, lo, hi))
        return f(*args)
    call.__name__ = name
    call.__wrapped__ = f
    return call


fn = _Functions()
for _name, (_res, _args) in _PROTOTYPES.items():
    try:
        _f = getattr(lib, _name)
    except AttributeError:
        setattr(fn, _name[len("aisle_"):], _Missing(_name))
        continue
    _f.restype = _res
    _f.argtypes = _args
    _checks = [(i, r[0], r[1]) for i, r in ((i, _int_range(t)) for i, t in enumerate(_args)) if r]
    setattr(fn, _name[len("aisle_"):], _range_checked(_name, _f, _checks) if _checks else _f)


def has(name):
    """Whether the loaded library exports aisle_<name>."""
    return not isinstance(getattr(fn, name, None), (_Missing, type(None)))
