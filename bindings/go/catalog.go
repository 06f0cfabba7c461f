package aisle

/*
#include <aisle.h>
#include <stdlib.h>
*/
import "C"

import (
	"math"
	"runtime"
	"sync"
	"unsafe"
)

// Catalog is a product catalog: items with title, description, category
// path, brand, price and free attributes, joined with datasets and models
// by item key.  Safe for use from several goroutines.
type Catalog struct {
	mu  sync.RWMutex
	ptr *C.aisle_catalog
}

// Product is one catalog entry for AddItem.  Price is NaN when unknown
// (use math.NaN()).
type Product struct {
	Key, Title, Description, Category, Brand string
	Price                                    float64
}

// Attribute is a free name=value attribute of a product.
type Attribute struct{ Name, Value string }

// NewCatalog makes an empty catalog.
func NewCatalog() (*Catalog, error) {
	c := &Catalog{}
	if err := call(func() C.int { return C.aisle_catalog_new(&c.ptr) }); err != nil {
		return nil, err
	}
	runtime.SetFinalizer(c, (*Catalog).Close)
	return c, nil
}

// Close frees the catalog; later calls do nothing.
func (c *Catalog) Close() {
	release(&c.mu, &c.ptr, func(p *C.aisle_catalog) { C.aisle_catalog_free(p) })
	runtime.SetFinalizer(c, nil)
}

func (c *Catalog) write(f func(p *C.aisle_catalog) C.int) error {
	return exclusive(&c.mu, &c.ptr, "catalog", checked(f))
}

func (c *Catalog) read(f func(p *C.aisle_catalog) C.int) error {
	return shared(&c.mu, &c.ptr, "catalog", checked(f))
}

// AddItem adds a product or updates the one with its key (fields replaced,
// attributes kept).
func (c *Catalog) AddItem(p Product) error {
	strs := []string{p.Key, p.Title, p.Description, p.Category, p.Brand}
	cs := make([]*C.char, len(strs))
	for i, s := range strs {
		v, err := cstring("catalog field", s)
		if err != nil {
			for _, q := range cs[:i] {
				free(q)
			}
			return err
		}
		cs[i] = v
	}
	defer func() {
		for _, q := range cs {
			free(q)
		}
	}()
	return c.write(func(h *C.aisle_catalog) C.int {
		return C.aisle_catalog_add_item(h, cs[0], cs[1], cs[2], cs[3], cs[4], C.double(p.Price))
	})
}

// SetAttribute sets attribute name of product key (ErrNotFound if no such product).
func (c *Catalog) SetAttribute(key, name, value string) error {
	k, err := cstring("item key", key)
	if err != nil {
		return err
	}
	defer free(k)
	n, err := cstring("attribute name", name)
	if err != nil {
		return err
	}
	defer free(n)
	v, err := cstring("attribute value", value)
	if err != nil {
		return err
	}
	defer free(v)
	return c.write(func(h *C.aisle_catalog) C.int { return C.aisle_catalog_set_attribute(h, k, n, v) })
}

// Len is the number of products (0 for a closed catalog).
func (c *Catalog) Len() int {
	var n C.size_t
	if c.read(func(h *C.aisle_catalog) C.int { return C.aisle_catalog_count(h, &n) }) != nil {
		return 0
	}
	return int(n)
}

// Index is the dense index of a product key (ErrNotFound if unknown).
func (c *Catalog) Index(key string) (int, error) {
	k, err := cstring("item key", key)
	if err != nil {
		return 0, err
	}
	defer free(k)
	var out C.size_t
	err = c.read(func(h *C.aisle_catalog) C.int { return C.aisle_catalog_index(h, k, &out) })
	return int(out), err
}

// Key is the product key at a dense index (ErrRange if out of range).
func (c *Catalog) Key(index int) (string, error) {
	if index < 0 {
		return "", &Error{Code: CodeRange, Message: "aisle: negative catalog index"}
	}
	var s string
	err := c.read(func(h *C.aisle_catalog) C.int {
		var out *C.char
		rc := C.aisle_catalog_key(h, C.size_t(index), &out)
		if rc == 0 {
			s = C.GoString(out)
		}
		return rc
	})
	return s, err
}

// Text is a product's "title", "description", "category", "brand" or
// attribute (ErrNotFound for an unknown product or attribute).
func (c *Catalog) Text(key, field string) (string, error) {
	k, err := cstring("item key", key)
	if err != nil {
		return "", err
	}
	defer free(k)
	f, err := cstring("field", field)
	if err != nil {
		return "", err
	}
	defer free(f)
	var s string
	err = c.read(func(h *C.aisle_catalog) C.int {
		var out *C.char
		rc := C.aisle_catalog_item_text(h, k, f, &out)
		if rc == 0 {
			s = C.GoString(out)
		}
		return rc
	})
	return s, err
}

// Price is a product's price; NaN when unknown.
func (c *Catalog) Price(key string) (float64, error) {
	k, err := cstring("item key", key)
	if err != nil {
		return math.NaN(), err
	}
	defer free(k)
	var out C.double
	err = c.read(func(h *C.aisle_catalog) C.int { return C.aisle_catalog_item_price(h, k, &out) })
	return float64(out), err
}

// Attributes are a product's attributes in the order first set.
func (c *Catalog) Attributes(key string) ([]Attribute, error) {
	k, err := cstring("item key", key)
	if err != nil {
		return nil, err
	}
	defer free(k)
	var attrs []Attribute
	err = c.read(func(h *C.aisle_catalog) C.int {
		var n C.size_t
		if rc := C.aisle_catalog_item_attribute_count(h, k, &n); rc != 0 {
			return rc
		}
		for i := C.size_t(0); i < n; i++ {
			var name, value *C.char
			if rc := C.aisle_catalog_item_attribute(h, k, i, &name, &value); rc != 0 {
				return rc
			}
			attrs = append(attrs, Attribute{C.GoString(name), C.GoString(value)})
		}
		return 0
	})
	return attrs, err
}

func (c *Catalog) withWrite(f func(p *C.aisle_catalog) error) error {
	return exclusive(&c.mu, &c.ptr, "catalog", f)
}

// Load adds products from a delimited text file (plain or gzip).  Options
// in cfg (may be nil): catalog_columns, delimiter, encoding, lenient, ...
// Strict by default: on failure the catalog is unchanged.
func (c *Catalog) Load(path string, cfg *Config) error {
	p, err := cstring("path", path)
	if err != nil {
		return err
	}
	defer free(p)
	return c.withWrite(func(h *C.aisle_catalog) error {
		return withConfig(cfg, func(cf *C.aisle_config) C.int { return C.aisle_catalog_load(h, p, cf) })
	})
}

// LoadBytes is Load from memory (data is passed without copying).
func (c *Catalog) LoadBytes(data []byte, name string, cfg *Config) error {
	n, err := cstring("name", name)
	if err != nil {
		return err
	}
	defer free(n)
	var ptr unsafe.Pointer
	if len(data) > 0 {
		ptr = unsafe.Pointer(&data[0])
	}
	return c.withWrite(func(h *C.aisle_catalog) error {
		return withConfig(cfg, func(cf *C.aisle_config) C.int {
			return C.aisle_catalog_load_buffer(h, ptr, C.size_t(len(data)), n, cf)
		})
	})
}

// LoadReport describes the last successful load (RowsFiltered is 0).
func (c *Catalog) LoadReport() (LoadReport, error) {
	var rep LoadReport
	err := c.read(func(h *C.aisle_catalog) C.int {
		var r, l, s C.size_t
		if rc := C.aisle_catalog_load_report(h, &r, &l, &s); rc != 0 {
			return rc
		}
		rep = LoadReport{RowsRead: int(r), RowsLoaded: int(l), RowsSkipped: int(s)}
		for i := C.size_t(0); ; i++ {
			var msg *C.char
			if C.aisle_catalog_load_message(h, i, &msg) != 0 {
				break
			}
			rep.Messages = append(rep.Messages, C.GoString(msg))
		}
		return 0
	})
	return rep, err
}

// TrainWithCatalog is Train with a product catalog for kinds that use item
// side information (cat may be nil; other kinds ignore it).
func TrainWithCatalog(ds *Dataset, cat *Catalog, cfg *Config) (*Model, error) {
	if cat == nil {
		return Train(ds, cfg)
	}
	var m *Model
	err := shared(&cat.mu, &cat.ptr, "catalog", func(p *C.aisle_catalog) error {
		var err error
		m, err = train(ds, p, nil, cfg)
		return err
	})
	return m, err
}

// TrainWithFeatures is TrainWithCatalog with a shopper attribute table as
// well: users is a Catalog keyed by user id (e.g. loaded from
// user_id,country,age_band), whose attributes become user features of
// kind "hybrid"; users of the table without events join the model and are
// scored from their attributes.  cat and users may be nil; other kinds
// refuse users (ErrUnsupported).
func TrainWithFeatures(ds *Dataset, cat, users *Catalog, cfg *Config) (*Model, error) {
	if users == nil {
		return TrainWithCatalog(ds, cat, cfg)
	}
	var m *Model
	err := shared(&users.mu, &users.ptr, "user table", func(up *C.aisle_catalog) error {
		if cat == nil {
			var err error
			m, err = train(ds, nil, up, cfg)
			return err
		}
		return shared(&cat.mu, &cat.ptr, "catalog", func(cp *C.aisle_catalog) error {
			var err error
			m, err = train(ds, cp, up, cfg)
			return err
		})
	})
	return m, err
}

// AddItems adds the products of cat the model does not know, scored from
// their catalog features (kind hybrid) or text (kind pair), exactly as if
// they had been in the training catalog; products it knows keep their
// trained vectors.  It returns how many were added.  Other kinds, and a
// hybrid trained without a catalog, give ErrUnsupported.  The model is held
// exclusively meanwhile (use Server.AddItems while serving).
func (m *Model) AddItems(cat *Catalog) (int, error) {
	return addFromCatalog(cat, func(c *C.aisle_catalog, n *C.size_t) error {
		return m.write(func(p *C.aisle_model) C.int { return C.aisle_model_add_items(p, c, n) })
	})
}

// AddUsers is AddItems for shoppers: the rows of an attribute table (a
// Catalog keyed by user id) the model does not know, scored from their
// attributes (a hybrid trained with TrainWithFeatures; a pair model).
func (m *Model) AddUsers(users *Catalog) (int, error) {
	return addFromCatalog(users, func(c *C.aisle_catalog, n *C.size_t) error {
		return m.write(func(p *C.aisle_model) C.int { return C.aisle_model_add_users(p, c, n) })
	})
}

// AddItems is Model.AddItems on the server's current model while others
// read: readers see all of it or nothing, and Swap replays it onto the next
// model.  It returns how many products were added.
func (s *Server) AddItems(cat *Catalog) (int, error) {
	return addFromCatalog(cat, func(c *C.aisle_catalog, n *C.size_t) error {
		return s.write(func(p *C.aisle_server) C.int { return C.aisle_server_add_items(p, c, n) })
	})
}

// AddUsers is AddItems for shoppers (an attribute table).
func (s *Server) AddUsers(users *Catalog) (int, error) {
	return addFromCatalog(users, func(c *C.aisle_catalog, n *C.size_t) error {
		return s.write(func(p *C.aisle_server) C.int { return C.aisle_server_add_users(p, c, n) })
	})
}

// addFromCatalog runs add (a model's or a server's add) with cat held
// shared; add stores how many rows it added in n.
func addFromCatalog(cat *Catalog, add func(c *C.aisle_catalog, n *C.size_t) error) (int, error) {
	if cat == nil {
		return 0, &Error{Code: CodeInvalid, Message: "aisle: nil catalog"}
	}
	var n C.size_t
	err := shared(&cat.mu, &cat.ptr, "catalog", func(cp *C.aisle_catalog) error { return add(cp, &n) })
	return int(n), err
}
