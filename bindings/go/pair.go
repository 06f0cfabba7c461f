package aisle

/*
#include <aisle.h>
#include <stdlib.h>
*/
import "C"

import "unsafe"

// Rerank re-scores candidate items (e.g. another model's top n) for a user
// with m (a pair model, typically): scores[i] is the score of items[i]
// (NaN for an item m does not know) and order lists the candidate indices
// by descending score, unknown items last.
func (m *Model) Rerank(user string, items []string) (scores []float32, order []int, err error) {
	u, err := cstring("user key", user)
	if err != nil {
		return nil, nil, err
	}
	defer free(u)
	keys, err := newCStrings(items)
	if err != nil {
		return nil, nil, err
	}
	defer keys.free()
	n := len(items)
	if n == 0 {
		return nil, nil, m.read(func(p *C.aisle_model) C.int { return C.aisle_rerank(p, u, nil, 0, nil, nil) })
	}
	cs := (*C.float)(C.calloc(C.size_t(n), C.size_t(unsafe.Sizeof(C.float(0)))))
	co := (*C.size_t)(C.calloc(C.size_t(n), C.size_t(unsafe.Sizeof(C.size_t(0)))))
	defer C.free(unsafe.Pointer(cs))
	defer C.free(unsafe.Pointer(co))
	if err = m.read(func(p *C.aisle_model) C.int { return C.aisle_rerank(p, u, keys.ptr(), keys.n(), cs, co) }); err != nil {
		return nil, nil, err
	}
	scores, order = make([]float32, n), make([]int, n)
	for i, s := range unsafe.Slice(cs, n) {
		scores[i] = float32(s)
	}
	for i, o := range unsafe.Slice(co, n) {
		order[i] = int(o)
	}
	return scores, order, nil
}

// ExplainWords explains a pair model's score of item for user in words:
// every token the model reads ("shopper: WORD", then "product: WORD") with
// the prediction minus the prediction with that token masked.
func (m *Model) ExplainWords(user, item string) ([]TokenContribution, error) {
	u, err := cstring("user key", user)
	if err != nil {
		return nil, err
	}
	defer free(u)
	it, err := cstring("item key", item)
	if err != nil {
		return nil, err
	}
	defer free(it)
	var out []TokenContribution
	err = m.read(func(h *C.aisle_model) C.int {
		var e *C.aisle_text_explanation
		if rc := C.aisle_pair_explain(h, u, it, &e); rc != 0 {
			return rc
		}
		defer C.aisle_text_explanation_free(e)
		var cnt C.size_t
		C.aisle_text_explanation_count(e, &cnt)
		for i := C.size_t(0); i < cnt; i++ {
			var tok *C.char
			var c C.float
			if rc := C.aisle_text_explanation_at(e, i, &tok, &c); rc != 0 {
				return rc
			}
			out = append(out, TokenContribution{C.GoString(tok), float32(c)})
		}
		return 0
	})
	return out, err
}
