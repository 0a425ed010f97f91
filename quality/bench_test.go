package quality

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/verdict-aca/verdict/judge"
)

func BenchmarkJudges(b *testing.B) {
	f, _ := FamilyByName("lognormal-0.3")
	for _, n := range []int{30, 360, 2000} {
		r := rand.New(rand.NewPCG(1, 2))
		base, can := f.Pair(r, n, Effect{Kind: None}, [2]float64{})
		b.Run(fmt.Sprintf("verdict/n=%d", n), func(b *testing.B) {
			for b.Loop() {
				judge.Judge(DefaultSpec(f), base, can, judge.Options{})
			}
		})
		b.Run(fmt.Sprintf("kayenta/n=%d", n), func(b *testing.B) {
			for b.Loop() {
				ClassifyKayenta(base, can, KayentaParams())
			}
		})
	}
}
