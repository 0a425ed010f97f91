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

func BenchmarkTraffic(b *testing.B) {
	for _, s := range []TrafficScenario{
		{PerMinute: 1000, Split: 0.05, Minutes: 60},
		{PerMinute: 10000, Split: 0.5, Minutes: 60},
	} {
		name := fmt.Sprintf("%g/min,%s,%s", s.PerMinute, s.SplitLabel(), s.DurationLabel())
		j := newTrafficJudge(0.95)
		b.Run("draw/"+name, func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				j.gen.draw(trafficStream(1, s, i), s)
			}
		})
		p := j.gen.draw(trafficStream(1, s, 0), s)
		b.Run("judge/"+name, func(b *testing.B) {
			for b.Loop() {
				j.judge(p)
			}
		})
	}
}
