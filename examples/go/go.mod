module github.com/aisle-project/aisle/examples/go

go 1.18

require github.com/aisle-project/aisle/bindings/go v0.0.0

// The binding lives in this repository; nothing is fetched.
replace github.com/aisle-project/aisle/bindings/go => ../../bindings/go
