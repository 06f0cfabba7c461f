package aisle

import "testing"

// go test -run '^$' -bench . -benchtime 500x
func BenchmarkRecommend(b *testing.B) {
	cfg, _ := NewConfig(Options{"demo_users": 2000, "demo_items": 1000, "demo_days": 30, "seed": 1})
	defer cfg.Close()
	ds, err := DemoDataset(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer ds.Close()
	m, err := TrainWith(ds, Options{"model": "als", "factors": 32, "epochs": 3, "threads": 2, "seed": 1})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	users := ds.Users()[:500]
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := m.Recommend(users[i%len(users)], 10, nil); err != nil {
			b.Fatal(err)
		}
	}
}
