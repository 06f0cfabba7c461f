module github.com/aisle-project/aisle/bindings/go

go 1.18
